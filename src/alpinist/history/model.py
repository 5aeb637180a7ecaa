"""The history as plain data: :class:`HistoryEntry` (one image, one run) and :class:`History` (a selection
of entries, oldest first). Reports import this module only, never the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alpinist.advisories.model import SEVERITIES, Severity

VERBS = ("scan", "gate", "rescan")


@dataclass(frozen=True)
class HistoryEntry:
    """The summary of one image in one run of ``scan``, ``gate`` or ``rescan``."""

    recorded_at: datetime  # UTC, whole seconds
    verb: str  # scan, gate, rescan
    reference: str  # the image as the user wrote it (rescan: as the SBOM names it)
    name: str  # the image's title: its normalized name, else the reference; what entries are grouped by
    manifest_digest: str | None
    by_severity: tuple[tuple[Severity, int], ...]  # all six severities, worst first
    findings: int  # after the policy
    unique_ids: int
    packages: int  # packages with at least one finding
    db_updated_at: datetime | None  # the newest update time of the database's feeds
    new: int | None = None  # gate only: findings not in the baseline
    gone: int | None = None  # gate only: baseline entries not found
    id: int = 0  # the store's row id (0 before it is stored); ties in time are ordered by it

    def count(self, severity: Severity) -> int:
        return dict(self.by_severity).get(severity, 0)


def severity_counts(counts: dict[str, int]) -> tuple[tuple[Severity, int], ...]:
    """Every severity, worst first, with its count (0 when absent)."""
    return tuple((s, int(counts.get(s, 0))) for s in SEVERITIES)


@dataclass(frozen=True)
class History:
    """The entries a ``history`` run selected, oldest first, and where they come from."""

    path: str
    entries: tuple[HistoryEntry, ...]
    image: str | None = None  # the --image filter
    since: datetime | None = None  # the --since filter

    @property
    def images(self) -> tuple[str, ...]:
        """The image names, in the order of their first entry."""
        return tuple(dict.fromkeys(e.name for e in self.entries))

    def of_image(self, name: str) -> tuple[HistoryEntry, ...]:
        """The entries of the image ``name`` (as :attr:`images` names it), oldest first."""
        return tuple(e for e in self.entries if e.name == name)

    def matching(self, image: str) -> tuple[HistoryEntry, ...]:
        """The entries whose name or reference is ``image`` (a compare column's title), oldest first."""
        return tuple(e for e in self.entries if image in (e.name, e.reference))
