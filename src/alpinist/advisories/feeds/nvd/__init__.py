"""NVD (CPE configurations) and the CNA's own ranges: the profile of the ``nvd`` feed.

``api.py`` pages the NVD API 2.0 (incrementally, by last-modified date) into rows of namespace ``cpe``
(NVD's CPE ranges) and ``cna`` (the CNA's ``affected`` block, ``cna.py``), keyed by the product's CPE
``vendor:product``.

- packages: ``binary`` (CPython built into ``/usr/local``: no package database knows it), by the
  ``vendor:product`` of their CPEs; ``python:python`` compares PEP 440 versions, other products the
  ``generic`` order (also when a version is not valid PEP 440);
- the ``cna`` rows of a product are read with its ``cpe`` rows and decided together (``cpe``: the CNA's
  ranges first, else NVD's ranges within the installed release branch, ``scan/matching.py``);
- CVE ids are read on NVD. Not an OS feed; severity comes from its CVSS scores, not a vendor rating.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from alpinist.advisories.feeds.nvd.cna import NAMESPACE as CNA_NAMESPACE
from alpinist.advisories.profile import PackageRule, Profile, SourceOptions, fixed_namespace

if TYPE_CHECKING:
    from alpinist.advisories.feed import Source
    from alpinist.models import Package

NAME = "nvd"
CPE_NAMESPACE = "cpe"
NVD_PAGE = "https://nvd.nist.gov/vuln/detail/{id}"


def cpe_products(package: Package) -> list[str]:
    """``vendor:product`` of a package's CPEs (``cpe:2.3:a:python:python:3.11.2:...`` -> ``python:python``)."""
    products: dict[str, None] = {}
    for cpe in package.cpes:
        if cpe.startswith("cpe:2.3:"):
            parts = cpe.split(":")
            if len(parts) > 4 and parts[3] and parts[4]:
                products[f"{parts[3]}:{parts[4]}".lower()] = None
        elif cpe.startswith("cpe:/"):
            parts = cpe[5:].split(":")
            if len(parts) > 2 and parts[1] and parts[2]:
                products[f"{parts[1]}:{parts[2]}".lower()] = None
    if not products and package.type == "binary" and package.name.lower() == "python":
        products["python:python"] = None
    return list(products)


def _products(package: Package) -> Sequence[str]:
    return cpe_products(package)


def make_source(options: SourceOptions) -> Source:
    from alpinist.advisories.feeds.nvd.api import NVD_MAX_PAGE_SIZE, NvdSource

    return NvdSource(api_key=options.nvd_api_key, page_size=options.nvd_page_size or NVD_MAX_PAGE_SIZE)


PROFILE = Profile(
    name=NAME,
    title="NVD",
    make_source=make_source,
    rules=(
        PackageRule(
            "binary",
            fixed_namespace(CPE_NAMESPACE),
            "generic",
            names=_products,
            name_schemes={"python:python": "pep440"},
            fallback_scheme="generic",
            decide="cpe",
            companions=(CNA_NAMESPACE,),
            missing_message=(
                "the advisory database has no NVD CPE configurations: binaries without a package "
                "database (CPython in /usr/local) were not matched (run `alpinist db update --source nvd`)"
            ),
        ),
    ),
    preference=1,
    advisory_urls=(("CVE-", NVD_PAGE),),
    source_url=NVD_PAGE,
)
