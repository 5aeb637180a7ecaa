"""What a feed is, as the update sees it: the ``Source`` protocol and the batch machinery every parser shares.

This module owns the contract between a feed's code (``feeds/<name>/``) and the update
(``update.py``); it knows no particular feed. A source does two things, kept apart so that a download
can be checked before anything is parsed and a parse can be re-run on files already on disk
(``db import``, tests):

``fetch(fetcher, workdir, since)``
    downloads the raw upstream files into ``workdir`` (through ``Fetcher``: mirror rewriting, retries,
    size bounds) and returns their paths. ``since`` is the ISO-8601 time of the previous successful
    update of this source, or None for a full download; only an ``incremental`` source is given one.

``parse(files)``
    streams the normalized records (``model.Affected``, ``model.Vulnerability``) in ``FeedBatch`` chunks,
    so that a feed of 1.5 million entries never sits in memory at once. Bad input raises ``FeedError``
    naming the file and the reason; a feed that parses but has odd entries skips them and counts them
    in ``stats``.

``incremental`` (default False)
    True: the update passes the cursor of the last update as ``since``; the batches then hold only the
    records modified since then, and the store merges them into the previous records of that source
    (id by id) instead of replacing them.

``feed_urls()`` (default None)
    the upstream URLs the last ``fetch`` read, for the ``sources`` table; None lets the update record
    the URLs the source asked its fetcher for (the mirror applied).

``SourceBase`` gives those two defaults to a class that subclasses it; any object with the same members
is a ``Source`` too (the protocol is structural).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from alpinist.advisories.model import Affected, Vulnerability
from alpinist.errors import FeedError

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

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
    """One feed: ``name`` is its ``Affected.source`` and its row in the ``sources`` table."""

    @property
    def name(self) -> str: ...

    @property
    def incremental(self) -> bool: ...

    def feed_urls(self) -> Sequence[str] | None:
        """The URLs the last ``fetch`` read, or None: the update records what the fetcher was asked."""
        ...

    def fetch(self, fetcher: Fetcher, workdir: Path, since: str | None) -> list[Path]:
        """Download the raw files into ``workdir``; return their paths."""
        ...

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        """Normalized records, streamed."""
        ...


class SourceBase:
    """The defaults of the optional ``Source`` members, for a feed class to inherit."""

    incremental: bool = False

    def feed_urls(self) -> Sequence[str] | None:
        return None


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


@contextmanager
def streamed_json_errors(path: Path) -> Iterator[None]:
    """Around a streamed (``ijson``) read of ``path``: a parse error or an OS error leaves as a ``FeedError``
    naming the file (the parse error's first line only: ijson's can run on with the input)."""
    import ijson

    try:
        yield
    except ijson.JSONError as exc:
        raise not_valid_json(path, exc) from None
    except OSError as exc:
        raise FeedError(str(path), f"cannot read: {exc.strerror or exc}") from None


def not_valid_json(path: Path, exc: BaseException) -> FeedError:
    """The ``FeedError`` for a JSON parse error in ``path`` (the error's first line)."""
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    return FeedError(str(path), f"not valid JSON (truncated or corrupt?): {first_line}")
