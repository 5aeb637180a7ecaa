"""Small helpers shared by the SBOM formatters (CycloneDX, SPDX, table)."""

from __future__ import annotations

import re

from packageurl import PackageURL

from alpinist.models import Package

# Display and sort order of package worlds: the OS first, then what sits on top of it.
TYPE_ORDER = {"apk": 0, "deb": 1, "python": 2, "binary": 3}


def is_os_package(p: Package) -> bool:
    return p.type in ("apk", "deb")


def package_sort_key(p: Package) -> tuple[int, str, str, str, str]:
    return (
        TYPE_ORDER.get(p.type, 9),
        p.name.lower(),
        p.name,
        p.version,
        p.locations[0] if p.locations else "",
    )


def digest_hex(digest: str | None) -> str | None:
    """The hex of a ``sha256:`` digest, else None."""
    if digest and digest.startswith("sha256:") and len(digest) == 71:
        return digest[7:]
    return None


# CPE names, written from NISTIR 7695 (CPE 2.3 naming): the formatted-string binding (cpe:2.3:...)
# has 11 components after the prefix; each is ANY (*), NA (-), or a value of unreserved characters
# and backslash-escaped punctuation with optional leading/trailing wildcards; language is an RFC 5646
# tag. The URI binding (cpe:/...) is the CPE 2.2 form. A malformed CPE from a cataloger must not make
# a whole SBOM invalid, so formatters only emit CPEs these accept.
_CPE_VALUE = r"(?:[*-]|[*?]*(?:[A-Za-z0-9._-]|\\[^\sA-Za-z0-9])+[*?]*)"
_CPE_LANG = r"(?:[*-]|[A-Za-z]{2,3}(?:-(?:[A-Za-z]{2}|[0-9]{3}))?)"
_CPE23 = re.compile(rf"cpe:2\.3:[aho*-](?::{_CPE_VALUE}){{5}}:{_CPE_LANG}(?::{_CPE_VALUE}){{4}}")
_CPE22 = re.compile(r"cpe:/[aho]?(?::[A-Za-z0-9._~%-]*){0,6}")


def cpe_kind(cpe: str) -> str | None:
    """``cpe23Type`` or ``cpe22Type`` (SPDX's names for the two bindings), or None if malformed."""
    if _CPE23.fullmatch(cpe):
        return "cpe23Type"
    if _CPE22.fullmatch(cpe):
        return "cpe22Type"
    return None


def valid_purl(purl: str) -> PackageURL | None:
    """The parsed purl, or None when it is empty or not a valid package URL."""
    if not purl:
        return None
    try:
        return PackageURL.from_string(purl)
    except ValueError:
        return None
