"""The fleet as plain data: what one image's task returns (:class:`ImageOutcome`), what the store keeps of a
run (:class:`RunInfo`) and of an image (:class:`StoredScan`), and what a report reads (:class:`FleetView`).
Reports import this module only, never the store or the engine."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.scan.model import FindingRef

Status = Literal["scanned", "matched", "unchanged", "error"]
"""scanned: pulled and inventoried; matched: its stored SBOM (same manifest digest) re-matched against a
newer database, nothing pulled; unchanged: same manifest digest and same database as a stored result,
nothing pulled or matched (the stored findings stand); error: could not be listed, pulled or read."""

RunKind = Literal["scan", "rescan"]

HIGH_OR_CRITICAL: frozenset[Severity] = frozenset({"CRITICAL", "HIGH"})


def severity_counts(findings: tuple[FindingRef, ...]) -> tuple[tuple[Severity, int], ...]:
    """Every severity, worst first, with how many of ``findings`` have it."""
    counts = Counter(f.severity for f in findings)
    return tuple((s, counts.get(s, 0)) for s in SEVERITIES)


@dataclass(frozen=True)
class ImageOutcome:
    """One image in one run, as its task returns it (picklable: it crosses process and network borders)."""

    reference: str  # as listed (file line, or REGISTRY/REPO:TAG from a catalog)
    status: Status
    db_version: str  # the advisory database the findings come from (``database_version``)
    digest: str | None = None  # the manifest digest (None when the image could not be resolved)
    error: str | None = None  # status "error": the one-line reason
    sbom: str | None = None  # status "scanned": the inventory as alpinist-sbom/1 JSON text
    findings: tuple[FindingRef, ...] = ()  # after the default policy, sorted worst first
    os: str | None = None  # "debian 12", "alpine 3.20.3"
    packages: int = 0  # packages in the inventory
    seconds: float = 0.0  # the task's own time

    @property
    def by_severity(self) -> tuple[tuple[Severity, int], ...]:
        return severity_counts(self.findings)


@dataclass(frozen=True)
class RunInfo:
    """One run of ``fleet scan`` or ``fleet rescan``."""

    id: int
    kind: RunKind
    started_at: datetime  # UTC
    finished_at: datetime | None  # None: still running, or killed (a later run resumes it)
    db_version: str
    engine: str  # "local(2)", "dask(tcp://10.0.0.5:8786)"
    images: int  # images listed for the run
    counts: tuple[tuple[Status, int], ...] = ()  # outcomes recorded so far, by status


@dataclass(frozen=True)
class StoredScan:
    """The result an image has in the store after a run: its latest outcome and the findings that stand."""

    run_id: int
    reference: str
    status: Status
    digest: str | None
    db_version: str
    recorded_at: datetime  # UTC
    findings: tuple[FindingRef, ...]  # for "unchanged": the findings of the result it repeats
    error: str | None = None
    os: str | None = None
    packages: int = 0

    @property
    def by_severity(self) -> tuple[tuple[Severity, int], ...]:
        return severity_counts(self.findings)


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    recorded_at: datetime
    by_severity: tuple[tuple[Severity, int], ...]


@dataclass(frozen=True)
class ImageReport:
    """One image of the fleet report: where it stands, what it gained since the run before, its trend."""

    reference: str
    latest: StoredScan
    new: tuple[FindingRef, ...]  # in the latest result, not in the image's previous one
    trend: tuple[TrendPoint, ...]  # oldest first, one point per run that recorded the image
    base_advice: str | None = None  # why a move of base is advised (None: none)


@dataclass(frozen=True)
class FleetView:
    """What ``fleet report`` shows: the store's last run and every image's standing."""

    store: str  # the store's URL, password removed
    run: RunInfo | None  # the newest run (None: an empty store)
    previous: RunInfo | None  # the run before it
    images: tuple[ImageReport, ...]  # worst first

    @property
    def new_high_or_critical(self) -> tuple[ImageReport, ...]:
        return tuple(i for i in self.images if any(f.severity in HIGH_OR_CRITICAL for f in i.new))


@dataclass(frozen=True)
class NewFindings:
    """An image whose latest result has high or critical findings its previous result did not have."""

    reference: str
    digest: str | None
    findings: tuple[FindingRef, ...]  # the new ones, worst first


@dataclass(frozen=True)
class FleetRun:
    """What one invocation of ``fleet scan`` or ``fleet rescan`` did."""

    run: RunInfo  # as the store has it at the end
    store: str  # the store's URL, password removed
    resumed: bool  # the invocation continued a killed run with the same database
    already: int  # images the resumed run had recorded before this invocation (not done again)
    counts: tuple[tuple[Status, int], ...]  # this invocation's outcomes by status
    errors: tuple[tuple[str, str], ...]  # (reference, error), in the order they were recorded
    new: tuple[NewFindings, ...]  # images with new high or critical findings since their previous result
    seconds: float

    def count(self, status: Status) -> int:
        return dict(self.counts).get(status, 0)
