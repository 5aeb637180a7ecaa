"""Normalized advisory records: what every feed is turned into and what the store keeps.

One ``Affected`` row says how one advisory touches one package in one namespace:

============================  ===============================  ==========================================
feed                          namespace                        package
============================  ===============================  ==========================================
Alpine secdb                  ``alpine:3.20`` (branch)         origin package (``openssl``)
Debian security tracker       ``debian:bookworm`` (codename)   source package (``glibc``)
OSV (PyPI)                    ``pypi``                         PEP 503 name (``jinja2``)
NVD CPE configurations        ``cpe``                          ``vendor:product`` (``python:python``)
============================  ===============================  ==========================================

Versions are kept as the feed wrote them and compared by the namespace's scheme (``versions.py``).
``VersionRange`` is a domain value of ``alpinist.models`` (versions.py needs it too), re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from alpinist.models import VersionRange

__all__ = [
    "SEVERITIES",
    "AdvisoryIndex",
    "Affected",
    "CvssScore",
    "Severity",
    "Status",
    "VersionRange",
    "Vulnerability",
]

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
_RANK: dict[Severity, int] = {"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "NEGLIGIBLE": 1, "UNKNOWN": 0}


def rank(severity: Severity) -> int:
    """CRITICAL 5, HIGH 4, MEDIUM 3, LOW 2, NEGLIGIBLE 1, UNKNOWN 0 (worse is higher)."""
    return _RANK[severity]


# Status of a package with respect to an advisory, as the distro says it.
#   fixed         a fix exists: versions below ``fixed_version`` (or in ``ranges``) are affected
#   not-affected  never affected (secdb ``0``, Debian fixed_version ``0``)
#   open          affected, no fix yet (Debian "open" without a fixed version)
#   no-dsa        affected; Debian will not issue an advisory (minor issue), may be fixed in a point release
#   ignored       affected; Debian decided not to fix (nodsa_reason "ignored")
#   postponed     affected; fix postponed to a later update (nodsa_reason "postponed")
#   unimportant   affected in theory; Debian rates it negligible (urgency "unimportant")
#   end-of-life   affected; the package is no longer supported in that release
Status = Literal[
    "fixed", "not-affected", "open", "no-dsa", "ignored", "postponed", "unimportant", "end-of-life"
]


@dataclass(frozen=True)
class Affected:
    vuln_id: str
    source: str  # alpine, debian, osv, nvd
    namespace: str  # alpine:3.20, debian:bookworm, pypi, cpe
    package: str
    status: Status
    fixed_version: str | None = None
    ranges: tuple[VersionRange, ...] = ()  # affected intervals (empty + status fixed: below fixed_version)
    versions: tuple[str, ...] = ()  # explicitly affected versions (OSV "versions")
    severity: Severity | None = None  # the vendor's own severity (Debian urgency), if any
    severity_note: str | None = None  # the vendor's raw value ("low**", "unimportant", nodsa_reason...)


@dataclass(frozen=True)
class CvssScore:
    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    base_score: float
    severity: Severity
    source: str  # who scored it: "nvd@nist.gov", "security-advisories@github.com"...
    primary: bool = True


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...] = ()
    summary: str | None = None
    published: str | None = None
    modified: str | None = None
    withdrawn: str | None = None
    references: tuple[str, ...] = ()
    cvss: tuple[CvssScore, ...] = ()


class AdvisoryIndex(Protocol):
    """What matching needs from the store (the SQLite store and in-memory test indexes implement it)."""

    def affected(self, namespace: str, package: str) -> list[Affected]: ...

    def vulnerability(self, vuln_id: str) -> Vulnerability | None: ...


@dataclass(frozen=True)
class SourceStatus:
    name: str
    records: int  # distinct advisory ids the feed contributed
    updated_at: datetime  # UTC
    age: timedelta
    feed_urls: tuple[str, ...] = ()
    last_modified_cursor: str | None = None
