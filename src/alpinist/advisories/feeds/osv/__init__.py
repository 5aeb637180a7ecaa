"""OSV (PyPI): the profile of the ``osv`` feed (``records.py`` downloads and parses the ecosystem zips).

- packages: ``python`` distributions, by their PEP 503 name, PEP 440 versions; namespace ``pypi``
  whatever the OS;
- a distribution owned by an OS package is left to the OS feed; a vendored copy is matched and says so;
- GHSA ids are read on GitHub, PYSEC and OSV ids on osv.dev.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from alpinist.advisories.profile import PackageRule, Profile, SourceOptions, fixed_namespace

if TYPE_CHECKING:
    from alpinist.advisories.feed import Source
    from alpinist.models import Package

NAME = "osv"
OSV_PAGE = "https://osv.dev/vulnerability/{id}"


def pep503_name(package: Package) -> Sequence[str]:
    return (canonicalize_name(package.name),)


def make_source(options: SourceOptions) -> Source:
    from alpinist.advisories.feeds.osv.records import DEFAULT_OSV_ECOSYSTEMS, OsvSource

    ecosystems = options.osv_ecosystems
    return OsvSource(ecosystems=DEFAULT_OSV_ECOSYSTEMS if ecosystems is None else ecosystems)


PROFILE = Profile(
    name=NAME,
    title="OSV",
    make_source=make_source,
    rules=(
        PackageRule(
            "python",
            fixed_namespace("pypi"),
            "pep440",
            names=pep503_name,
            skip_owned=True,
            note_vendored=True,
            missing="PyPI advisories",
        ),
    ),
    preference=0,
    advisory_urls=(
        ("GHSA-", "https://github.com/advisories/{id}"),
        ("PYSEC-", OSV_PAGE),
        ("OSV-", OSV_PAGE),
    ),
    source_url=OSV_PAGE,
)
