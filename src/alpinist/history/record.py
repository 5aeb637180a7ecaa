"""A verb's result → history entries: one per image of the run, all stamped with the run's time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alpinist.advisories.model import SourceStatus
from alpinist.history.model import HistoryEntry
from alpinist.inventory.naming import image_title
from alpinist.scan.baseline import GateResult
from alpinist.scan.model import RescanResult, ScanResult, Summary


def _db_updated_at(statuses: Sequence[SourceStatus]) -> datetime | None:
    """The newest update of any feed: when the database was last updated."""
    return max((s.updated_at for s in statuses), default=None)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _entry(
    verb: str,
    when: datetime,
    reference: str,
    name: str,
    digest: str | None,
    summary: Summary,
    statuses: Sequence[SourceStatus],
    new: int | None = None,
    gone: int | None = None,
) -> HistoryEntry:
    return HistoryEntry(
        recorded_at=when,
        verb=verb,
        reference=reference,
        name=name,
        manifest_digest=digest,
        by_severity=summary.by_severity,
        findings=summary.vulnerabilities,
        unique_ids=summary.unique_ids,
        packages=summary.packages,
        db_updated_at=_db_updated_at(statuses),
        new=new,
        gone=gone,
    )


def entry_from_scan(result: ScanResult, *, now: datetime | None = None) -> HistoryEntry:
    image = result.inventory.image
    return _entry(
        "scan",
        _now(now),
        image.reference,
        image_title(image),
        image.manifest_digest,
        result.summary,
        result.db_status,
    )


def entry_from_gate(outcome: GateResult, *, now: datetime | None = None) -> HistoryEntry:
    image = outcome.scan.inventory.image
    return _entry(
        "gate",
        _now(now),
        image.reference,
        image_title(image),
        image.manifest_digest,
        outcome.scan.summary,
        outcome.scan.db_status,
        new=len(outcome.new),
        gone=len(outcome.gone),
    )


def entries_from_rescan(result: RescanResult, *, now: datetime | None = None) -> tuple[HistoryEntry, ...]:
    """One entry per SBOM that could be read (an unreadable one has nothing to record)."""
    when = _now(now)
    return tuple(
        _entry(
            "rescan",
            when,
            image.reference or image.title,
            image.title,
            image.manifest_digest,
            image.summary,
            result.db_status,
        )
        for image in result.images
        if image.error is None and image.summary is not None
    )
