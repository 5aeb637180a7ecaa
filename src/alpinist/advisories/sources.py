"""Advisory feed sources: the interface the store's update consumes, and the registry of the four feeds.

A source does two things, kept apart so that a download can be checked before anything is parsed and a
parse can be re-run on files already on disk (``db import``, tests):

``fetch(fetcher, workdir, since)``
    downloads the raw upstream files into ``workdir`` (through ``Fetcher``: mirror rewriting, retries,
    size bounds) and returns their paths. ``since`` is the ISO-8601 time of the previous successful
    update of this source, or None for a full download; only NVD uses it (incremental by last-modified
    date) - the other feeds are always downloaded whole.

``parse(files)``
    streams the normalized records (``model.Affected``, ``model.Vulnerability``) in ``FeedBatch`` chunks,
    so that a feed of 1.5 million entries never sits in memory at once. Bad input raises ``FeedError``
    naming the file and the reason; a feed that parses but has odd entries skips them and counts them
    in ``stats``.

When ``since`` is given (NVD), the batches hold only the records modified since then: the store must
merge them into the previous records of that source instead of replacing them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from alpinist.advisories.model import Affected, Vulnerability

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

log = logging.getLogger(__name__)

SOURCE_NAMES: tuple[str, ...] = ("alpine", "debian", "osv", "nvd")

# Every secdb branch the corpus has, plus 3.21 (which the corpus lacks: a branch the server does not have is
# skipped with a warning). Real use: the branches of the images one scans; the CLI may narrow this list.
DEFAULT_ALPINE_BRANCHES: tuple[str, ...] = ("3.18", "3.19", "3.20", "3.21", "3.22", "3.23")
DEFAULT_OSV_ECOSYSTEMS: tuple[str, ...] = ("PyPI",)

BATCH_SIZE = 1000  # records per FeedBatch: small enough to bound memory, large enough for fast inserts


@dataclass(frozen=True)
class FeedBatch:
    """What a parser yields, in chunks, so a 1.5M-entry feed never sits in memory at once."""

    affected: tuple[Affected, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()


@dataclass
class ParseStats:
    """Counters of one ``parse`` run (reset at its start), for ``db update`` to report."""

    records: int = 0  # upstream records read (secdb package, tracker package/id, OSV record, NVD CVE)
    affected: int = 0  # Affected rows yielded
    vulnerabilities: int = 0  # Vulnerability rows yielded
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (withdrawn, malformed...)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count


class Source(Protocol):
    name: str  # "alpine" | "debian" | "osv" | "nvd"

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        """Download the raw files into ``workdir``; return their paths."""
        ...

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        """Normalized records, streamed."""
        ...


class Batcher:
    """Collects records and hands them out as ``FeedBatch`` chunks of about ``size`` rows."""

    def __init__(self, stats: ParseStats, size: int = BATCH_SIZE) -> None:
        self.stats = stats
        self.size = size
        self._affected: list[Affected] = []
        self._vulns: list[Vulnerability] = []

    def add_affected(self, row: Affected) -> None:
        self._affected.append(row)

    def add_vulnerability(self, row: Vulnerability) -> None:
        self._vulns.append(row)

    @property
    def full(self) -> bool:
        return len(self._affected) + len(self._vulns) >= self.size

    def take(self) -> FeedBatch:
        batch = FeedBatch(tuple(self._affected), tuple(self._vulns))
        self.stats.affected += len(self._affected)
        self.stats.vulnerabilities += len(self._vulns)
        self._affected.clear()
        self._vulns.clear()
        return batch

    def __bool__(self) -> bool:
        return bool(self._affected or self._vulns)


def all_sources(
    alpine_branches: Sequence[str] = DEFAULT_ALPINE_BRANCHES,
    nvd_api_key: str | None = None,
    *,
    osv_ecosystems: Sequence[str] = DEFAULT_OSV_ECOSYSTEMS,
    nvd_page_size: int | None = None,
) -> dict[str, Source]:
    """The four feeds by name, in update order (``SOURCE_NAMES``), with their upstream URLs as defaults."""
    from alpinist.advisories.alpine import AlpineSecdbSource
    from alpinist.advisories.debian import DebianTrackerSource
    from alpinist.advisories.nvd import NVD_MAX_PAGE_SIZE, NvdSource
    from alpinist.advisories.osv import OsvSource

    return {
        "alpine": AlpineSecdbSource(branches=alpine_branches),
        "debian": DebianTrackerSource(),
        "osv": OsvSource(ecosystems=osv_ecosystems),
        "nvd": NvdSource(api_key=nvd_api_key, page_size=nvd_page_size or NVD_MAX_PAGE_SIZE),
    }
