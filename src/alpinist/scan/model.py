"""The scan stage's results, as plain data: what matching found (``Finding``, ``MatchResult``), what the policy
decided (``Policy`` and its rules, ``Suppression``, ``PolicyOutcome``) and the result of a scan (``ScanResult``,
``Summary``). Reports are pure functions of these; this module imports no feed, store, transport or network code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, NewType

from alpinist.advisories.model import SEVERITIES, Severity, SourceStatus, Status
from alpinist.models import Inventory, Package

VexStatus = Literal["not_affected", "affected", "fixed", "under_investigation"]


@dataclass(frozen=True)
class Finding:
    id: str  # preferred id: CVE, else GHSA, else PYSEC/other
    aliases: tuple[str, ...]
    package: Package
    installed_version: str  # the package's own version, as installed
    fixed_version: str | None
    status: Status
    severity: Severity
    severity_source: str  # "debian", "nvd:cvss3.1", "ghsa:cvss3.1", "ghsa", "none"...
    namespace: str  # alpine:3.20, debian:bookworm, pypi, cpe
    source: str  # the feed: alpine, debian, osv, nvd
    advisory_package: str  # origin / source package / PEP 503 name / vendor:product
    matched_version: str  # the version compared (Debian: the source version)
    description: str | None = None
    cvss_score: float | None = None
    cvss_vector: str | None = None
    cvss_version: str | None = None
    notes: tuple[str, ...] = ()
    # how a ``cpe`` finding was decided: "cna" (the CNA's own ranges), "nvd-cpe:branch" (an NVD range of the
    # installed release branch), "nvd-cpe:version" (an exact-version CPE), "nvd-cpe:cross-branch" (a range
    # ending on another branch that still contains the version); None for the distro and OSV feeds
    rule: str | None = None
    # where a person reads about the id and each alias (the feeds' profiles say, at scan time), and the feed
    # that reported the finding as its profile names it (CycloneDX ``source``): reports need no feed code
    links: tuple[tuple[str, str], ...] = ()
    feed_title: str | None = None
    feed_url: str | None = None

    def url_of(self, vuln_id: str) -> str | None:
        """The page of ``vuln_id`` (the finding's id or one of its aliases), or None."""
        return next((url for known, url in self.links if known == vuln_id), None)

    @property
    def purl(self) -> str:
        return self.package.purl

    @property
    def layer(self) -> str | None:
        return self.package.layer

    @property
    def vendored(self) -> bool:
        return self.package.vendored


# What differs between the findings of packages that share an advisory (one origin's subpackages, the binary
# packages of one source, one wheel installed twice): set per package by ``stamp``
_STAMPED = frozenset({"package", "installed_version", "matched_version"})
_TEMPLATE_FIELDS = frozenset(f.name for f in fields(Finding)) - _STAMPED


# Every field of a Finding but the package's own, checked once (``finding_template``) and stamped with each
# package that shares it (``stamp``): matching makes thousands of findings per scan. A distinct type for the
# checker, a plain dict at run time (no copy when it is made)
FindingTemplate = NewType("FindingTemplate", dict[str, Any])


def finding_template(**values: Any) -> FindingTemplate:
    """A template of the findings of one advisory: every field of :class:`Finding` but ``package``,
    ``installed_version`` and ``matched_version``; a missing or unknown field is a TypeError."""
    if values.keys() != _TEMPLATE_FIELDS:
        missing = sorted(_TEMPLATE_FIELDS - values.keys())
        unknown = sorted(values.keys() - _TEMPLATE_FIELDS)
        raise TypeError(f"finding_template: missing fields {missing}, unknown fields {unknown}")
    return FindingTemplate(values)  # (the call's own keyword dict: nobody else holds it)


def stamp(template: FindingTemplate, package: Package, matched_version: str) -> Finding:
    """``Finding(**template, package=package, installed_version=package.version, matched_version=...)``.

    A copy of the checked template, completed, becomes the finding's fields (as ``models.frozen_from`` does:
    0.5 µs where the dataclass's ``__init__`` takes 2-4 µs): the same frozen object.
    """
    values = dict(template)
    values["package"] = package
    values["installed_version"] = package.version
    values["matched_version"] = matched_version
    # ``models.frozen_from`` without its field count: ``finding_template`` checked the fields once, and this
    # runs once per finding
    finding: Finding = object.__new__(Finding)
    object.__setattr__(finding, "__dict__", values)
    return finding


@dataclass(frozen=True)
class MatchResult:
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()  # the advisory namespaces consulted


@dataclass(frozen=True)
class IgnoreRule:
    id: str
    reason: str
    package: str | None = None
    expires: date | None = None
    where: str = ""  # "FILE:LINE" of the rule, for messages

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class VexProduct:
    purl: str | None  # the product's purl (None: an identifier alpinist cannot match)
    subcomponents: tuple[str, ...] = ()  # purls


@dataclass(frozen=True)
class VexStatement:
    vulnerabilities: tuple[str, ...]  # name, @id, aliases
    products: tuple[VexProduct, ...]
    status: VexStatus
    justification: str | None = None
    impact_statement: str | None = None
    status_notes: str | None = None
    timestamp: datetime | None = None
    where: str = ""  # "FILE statements[N]"
    order: int = 0  # position across all documents, the tie-breaker


@dataclass(frozen=True)
class Policy:
    only_fixed: bool = False
    severities: frozenset[Severity] | None = None  # None: every severity
    fail_on: Severity | None = None
    ignore_rules: tuple[IgnoreRule, ...] = ()
    vex: tuple[VexStatement, ...] = ()
    today: date | None = None  # the day expiry dates are compared to (None: today, local time)


SuppressedBy = Literal["ignore-file", "vex"]


@dataclass(frozen=True)
class Suppression:
    finding: Finding
    reason: str  # what the user reads: "ignored: <reason>", "VEX not_affected: <justification>"
    by: SuppressedBy
    rule: str  # where the rule or statement is: "FILE:LINE", "FILE statements[N]"
    justification: str | None = None  # VEX justification (not_affected)
    vex_status: str | None = None


@dataclass(frozen=True)
class PolicyOutcome:
    findings: tuple[Finding, ...]  # what remains
    suppressed: tuple[Suppression, ...] = ()
    filtered: int = 0  # removed by --only-fixed / --severity
    warnings: tuple[str, ...] = ()
    failed: bool = False  # the --fail-on gate


@dataclass(frozen=True)
class Summary:
    vulnerabilities: int  # findings after the policy
    packages: int  # distinct packages with at least one finding
    by_severity: tuple[tuple[Severity, int], ...]  # all six severities, worst first
    unique_ids: int = 0
    suppressed: int = 0
    filtered: int = 0
    packages_scanned: int = 0

    def count(self, severity: Severity) -> int:
        return dict(self.by_severity)[severity]


@dataclass(frozen=True)
class ScanResult:
    inventory: Inventory
    findings: tuple[Finding, ...]  # after the policy, sorted worst first
    suppressed: tuple[Suppression, ...] = ()
    warnings: tuple[str, ...] = ()
    db_status: tuple[SourceStatus, ...] = ()
    filtered: int = 0  # findings hidden by --only-fixed / --severity
    policy: Policy = field(default_factory=Policy)
    failed: bool = False  # the --fail-on gate

    @property
    def summary(self) -> Summary:
        return summarize(
            self.findings,
            suppressed=len(self.suppressed),
            filtered=self.filtered,
            packages_scanned=len(self.inventory.packages),
        )


def summarize(
    findings: Sequence[Finding], *, suppressed: int = 0, filtered: int = 0, packages_scanned: int = 0
) -> Summary:
    counts: Counter[Severity] = Counter(f.severity for f in findings)
    return Summary(
        vulnerabilities=len(findings),
        packages=len({f.package for f in findings}),
        by_severity=tuple((s, counts.get(s, 0)) for s in SEVERITIES),
        unique_ids=len({f.id for f in findings}),
        suppressed=suppressed,
        filtered=filtered,
        packages_scanned=packages_scanned,
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_line(summary: Summary) -> str:
    """``52 vulnerabilities found in 22 packages``."""
    return (
        f"{_plural(summary.vulnerabilities, 'vulnerability', 'vulnerabilities')} found in "
        f"{_plural(summary.packages, 'package', 'packages')}"
    )


# ---------------------------------------------------------------------------------------------- rescan


@dataclass(frozen=True, order=True)
class FindingRef:
    """A finding as ``rescan`` remembers it between runs (``.alpinist-rescan.json``): what identifies it
    (id, package type, name, version) and what a reader wants to see (severity, fixed version, status)."""

    id: str
    type: str
    package: str
    version: str
    severity: Severity = "UNKNOWN"
    fixed_version: str | None = None
    status: str = "affected"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.id, self.type, self.package, self.version)


@dataclass(frozen=True)
class ImageRescan:
    """One stored SBOM re-matched: the findings it gained and lost since its last rescan, or why it
    could not be read (``error``; its previous state is kept)."""

    file: str  # the SBOM's file name inside the directory
    title: str  # the image as the SBOM names it
    findings: int  # findings now
    gained: tuple[FindingRef, ...] = ()
    lost: tuple[FindingRef, ...] = ()
    first: bool = False  # no previous rescan: every finding counts as gained
    error: str | None = None
    warnings: tuple[str, ...] = ()
    sbom_format: str = ""
    summary: Summary | None = None  # of the findings now (for the history store); None on error
    reference: str = ""  # the image reference the SBOM records
    manifest_digest: str | None = None


@dataclass(frozen=True)
class RescanResult:
    directory: str
    images: tuple[ImageRescan, ...]
    fail_on: Severity | None
    failed: bool  # a gained finding at or above fail_on
    state_file: str
    warnings: tuple[str, ...] = ()
    db_status: tuple[SourceStatus, ...] = ()

    @property
    def errors(self) -> int:
        return sum(1 for image in self.images if image.error is not None)

    @property
    def changed(self) -> tuple[ImageRescan, ...]:
        return tuple(i for i in self.images if i.gained or i.lost)
