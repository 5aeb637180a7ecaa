"""What alpinist knows about one feed, as data: :class:`Profile` and the :class:`PackageRule`\\ s it matches by.

A profile is the whole of a feed's knowledge that the rest of the program needs: how to build its
``Source`` (``feed.py``), which packages of an image it speaks about and how (the namespace of an
``OSInfo``, the advisory package name, the version compared and its scheme, how several rows of one id
are decided), whether its severity is the vendor's own, whether it is an OS feed, where a person reads
about one of its ids, its rank among the feeds that describe the same id. Each feed writes its profile
in ``feeds/<name>/__init__.py``; ``registry.py`` lists them. The code that *evaluates* rules stays in
``scan/matching.py``; this module only says what the rules are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from alpinist.advisories.feed import Source
    from alpinist.models import OSInfo, Package
    from alpinist.versions import Scheme

# How the rows of one advisory id for one package are decided (``scan/matching.py``):
#   latest-fix  each row on its own; the highest fixed version among the affecting rows wins (Debian, OSV)
#   first-fix   several rows of one id: a real fix beats "never affected", the lowest fix decides (secdb)
#   cpe         the CNA's ranges (a companion namespace) when the record has them, else NVD's CPE ranges
#               compared within the installed release branch
Decide = Literal["latest-fix", "first-fix", "cpe"]


@dataclass(frozen=True)
class SourceOptions:
    """What a user may say about the feeds to fetch (``db update`` options); None: the feed's default."""

    alpine_branches: Sequence[str] | None = None
    nvd_api_key: str | None = None
    osv_ecosystems: Sequence[str] | None = None
    nvd_page_size: int | None = None


def fixed_namespace(namespace: str) -> Callable[[OSInfo | None], str | None]:
    """A namespace rule for packages whose advisories do not depend on the OS (``pypi``, ``cpe``)."""

    def rule(os: OSInfo | None) -> str | None:
        return namespace

    return rule


def package_name(package: Package) -> Sequence[str]:
    """The package's own name."""
    return (package.name,)


def origin_or_name(package: Package) -> Sequence[str]:
    """The origin (apk ``o:``) or source package (dpkg ``Source:``), else the name."""
    return (package.origin or package.name,)


def installed_version(package: Package) -> str:
    return package.version


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: matching keys its work by rule
class PackageRule:
    """How a feed matches the installed packages of one type."""

    package_type: str  # Package.type: apk, deb, python, binary
    # the advisory namespace of an image with this OS (``alpine:3.20``), None: no branch known for it
    namespace: Callable[[OSInfo | None], str | None]
    scheme: Scheme  # how versions are compared
    names: Callable[[Package], Sequence[str]] = origin_or_name  # advisory package name(s) of a package
    version: Callable[[Package], str] = installed_version  # the version compared
    # advisory names compared by another scheme than ``scheme`` (CPE ``python:python``: PEP 440)
    name_schemes: Mapping[str, Scheme] = field(default_factory=dict)
    # when the package's version is not valid in the chosen scheme, compare it by this one instead
    fallback_scheme: Scheme | None = None
    decide: Decide = "latest-fix"
    # namespaces read with this one for the same names and decided together (NVD's ``cna`` with ``cpe``)
    companions: tuple[str, ...] = ()
    skip_owned: bool = False  # a package owned by an OS package is left to the OS feed (PyPI)
    note_vendored: bool = False  # a vendored copy is matched and says so in its notes
    # the warning when the database lacks the namespace: "the advisory database has no <missing> 'ns'"
    missing: str = "advisories"
    missing_message: str | None = None  # a whole warning of its own instead


@dataclass(frozen=True)
class Profile:
    """Everything about one feed (see the module docstring)."""

    name: str  # Affected.source, the sources table's row, ``db update --source``
    title: str  # the feed as a person names it (CycloneDX ``source.name``)
    make_source: Callable[[SourceOptions], Source]
    rules: tuple[PackageRule, ...] = ()
    preference: int = 100  # rank among feeds describing the same id (lower first: ``Store.vulnerability``)
    vendor_severity: bool = False  # its Affected.severity is the distro's own rating
    os_feed: bool = False  # a fixed version "0" (without ranges) means never affected
    # (id prefix, URL with ``{id}``): where a person reads about an id of this feed (``advisory_url``)
    advisory_urls: tuple[tuple[str, str], ...] = ()
    # the feed's page of one of its findings for CycloneDX ``source.url`` (``{id}``), or the feed itself
    source_url: str | None = None
