"""What every fleet formatter says the same way: status counts, totals, the order of new findings, digests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import get_args

from alpinist.advisories.model import SEVERITIES, Severity
from alpinist.fleet.model import HIGH_OR_CRITICAL, ImageReport, RunInfo, Status, TrendPoint
from alpinist.reports.history.json import iso
from alpinist.scan.model import FindingRef

STATUSES: tuple[Status, ...] = get_args(Status)  # scanned, matched, unchanged, error
TREND_LIMIT = 50  # images whose trend the dashboard draws (the worst ones)
TREND_TEXT_POINTS = 10  # points of a trend written out as text ("12 → 9 → 7"); older ones are "…"
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def status_counts(counts: Iterable[tuple[Status, int]]) -> tuple[tuple[Status, int], ...]:
    """Every status, in the order of :data:`STATUSES`, with its count (0 when absent)."""
    got = dict(counts)
    return tuple((s, got.get(s, 0)) for s in STATUSES)


def latest_statuses(images: Iterable[ImageReport]) -> tuple[tuple[Status, int], ...]:
    """How many of ``images`` stand at each status after their latest result."""
    return status_counts(Counter(i.latest.status for i in images).items())


def status_text(counts: Iterable[tuple[Status, int]]) -> str:
    """``12 scanned, 3 matched, 0 unchanged, 1 error``: every status, always in the same order."""
    parts = []
    for status, n in status_counts(counts):
        word = ("error" if n == 1 else "errors") if status == "error" else status
        parts.append(f"{n} {word}")
    return ", ".join(parts)


def total(by_severity: Iterable[tuple[Severity, int]]) -> int:
    return sum(n for _, n in by_severity)


def high_or_critical(by_severity: Iterable[tuple[Severity, int]]) -> int:
    return sum(n for s, n in by_severity if s in HIGH_OR_CRITICAL)


def worst_first(findings: Iterable[FindingRef]) -> tuple[FindingRef, ...]:
    """Critical first, then high, …; within a severity by id, package, version, type (a stable order)."""
    return tuple(
        sorted(
            findings, key=lambda f: (_RANK.get(f.severity, len(_RANK)), f.id, f.package, f.version, f.type)
        )
    )


def short_digest(digest: str | None) -> str:
    """``sha256:`` and 12 hex digits (as the history report shortens it); empty for None."""
    return (digest or "")[:19]


def run_title(run: RunInfo) -> str:
    """``#7 fleet scan``."""
    return f"#{run.id} fleet {run.kind}"


def run_when(run: RunInfo) -> str:
    """``started 2024-05-01T12:00:00Z, finished 2024-05-01T12:04:10Z`` (or ``not finished``)."""
    finished = iso(run.finished_at)
    return f"started {iso(run.started_at)}, " + (f"finished {finished}" if finished else "not finished")


def trend_values(trend: Sequence[TrendPoint]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(total findings per point, high and critical per point), oldest first."""
    return tuple(total(p.by_severity) for p in trend), tuple(high_or_critical(p.by_severity) for p in trend)


def trend_text(values: Sequence[int]) -> str:
    """``12 → 9 → 7``; only the newest :data:`TREND_TEXT_POINTS`, after ``… →`` when there are more."""
    shown = [str(v) for v in values[-TREND_TEXT_POINTS:]]
    return " → ".join((["…"] if len(values) > TREND_TEXT_POINTS else []) + shown)


def with_new(images: Iterable[ImageReport]) -> tuple[ImageReport, ...]:
    return tuple(i for i in images if i.new)


def with_advice(images: Iterable[ImageReport]) -> tuple[ImageReport, ...]:
    return tuple(i for i in images if i.base_advice is not None)


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
