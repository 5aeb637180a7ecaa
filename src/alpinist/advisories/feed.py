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

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from alpinist.advisories.model import Affected, Vulnerability
from alpinist.errors import FeedError

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher

BATCH_SIZE = 1000  # records per FeedBatch: small enough to bound memory, large enough for fast inserts
MAX_JSON_DEPTH = 64  # no feed nests deeper than ~12 levels; a page of 64 KiB of "[" must cost nothing
MAX_RECORD_VALUES = 4_000_000  # JSON values (scalars, objects, arrays) in one streamed record
READ_BUFFER = 256 * 1024
OUT_OF_MEMORY = "out of memory while reading it (a record too large for this machine?); refused"


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
    except JsonShapeError as exc:
        raise FeedError(str(path), str(exc)) from None
    except (ijson.JSONError, ValueError) as exc:  # ValueError: bad UTF-8, an integer of 5,000 digits
        raise not_valid_json(path, exc) from None
    except OSError as exc:
        raise FeedError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except MemoryError:  # the bounds make it unlikely; under ``ulimit -v`` still one line, not a traceback
        raise FeedError(str(path), OUT_OF_MEMORY) from None


def not_valid_json(path: Path, exc: BaseException) -> FeedError:
    """The ``FeedError`` for a JSON parse error in ``path`` (the error's first line)."""
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    return FeedError(str(path), f"not valid JSON (truncated or corrupt?): {first_line}")


# -- bounded JSON -----------------------------------------------------------------------------------------
# Every feed parser reads JSON through these: a depth bound (checked as the events arrive, so nesting costs
# neither memory nor time: ijson's prefixed ``parse``/``items`` build a prefix string per level, quadratic
# in the depth), a bound on the values of one record, and a size bound of the file. Their errors are
# ``JsonShapeError``, which the parsers turn into a ``FeedError`` naming the file; the update then names
# the URL the file came from.


class JsonShapeError(ValueError):
    """JSON beyond a parser's bounds (too deep, too many values, too large) or not of the expected shape."""


JsonEvents = Iterator[tuple[str, Any]]
_SCALAR_EVENTS = frozenset({"string", "number", "boolean", "null"})
_END_EVENT = ("", None)


def json_events(fh: IO[bytes], max_depth: int = MAX_JSON_DEPTH) -> JsonEvents:
    """ijson's ``basic_parse`` events of ``fh`` (no prefixes), refused past ``max_depth`` levels."""
    import ijson

    depth = 0
    for event, value in ijson.basic_parse(fh, use_float=True, buf_size=READ_BUFFER):
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > max_depth:
                raise JsonShapeError(f"JSON nested deeper than {max_depth} levels")
        elif event in ("end_map", "end_array"):
            depth -= 1
        yield event, value


def build_json(events: JsonEvents, event: str, value: Any, max_values: int = MAX_RECORD_VALUES) -> Any:
    """The value that starts with ``(event, value)``, built from the following events (iteratively: no
    recursion however deep the events go; ``json_events`` bounds the depth), at most ``max_values``
    values."""
    if event in _SCALAR_EVENTS:
        return value
    if event not in ("start_map", "start_array"):
        raise JsonShapeError("the JSON ends early")
    root: Any = {} if event == "start_map" else []
    stack: list[Any] = [root]
    key: str | None = None
    keys: list[str | None] = []
    count = 1
    for event, value in events:
        count += 1
        if count > max_values:
            raise JsonShapeError(f"a record of more than {max_values} JSON values")
        top = stack[-1]
        if event == "map_key":
            key = value
            continue
        if event in ("end_map", "end_array"):
            stack.pop()
            if not stack:
                return root
            key = keys.pop()
            continue
        item: Any = value
        if event == "start_map":
            item = {}
        elif event == "start_array":
            item = []
        if isinstance(top, dict):
            top[key] = item
        else:
            top.append(item)
        if event in ("start_map", "start_array"):
            keys.append(key)
            stack.append(item)
    raise JsonShapeError("the JSON ends early")


def next_event(events: JsonEvents) -> tuple[str, Any]:
    """The next event, or ``("", None)`` at the end."""
    return next(events, _END_EVENT)


def members(events: JsonEvents) -> Iterator[tuple[str, str, Any]]:
    """``(key, first event, its value)`` of each member of the object whose ``start_map`` was just read; the
    caller builds (``build_json``) or walks each value before asking for the next."""
    for event, key in events:
        if event == "end_map":
            return
        event, value = next_event(events)
        yield key, event, value
    raise JsonShapeError("the JSON ends early")


def end_of_document(events: JsonEvents) -> None:
    """Drain the parser, which raises on trailing garbage."""
    for _ in events:
        raise JsonShapeError("data after the top-level object")


def object_members(
    events: JsonEvents, stream: str, max_values: int = MAX_RECORD_VALUES
) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of the top-level object of ``events``, each value built whole, except the array
    under ``stream``, whose items leave one at a time as ``(stream, item)`` (a 30 MB NVD page never sits in
    memory at once)."""
    if next_event(events)[0] != "start_map":
        raise JsonShapeError("expected a JSON object at the top level")
    for key, event, value in members(events):
        if key != stream or event != "start_array":
            yield key, build_json(events, event, value, max_values)
            continue
        for event, value in events:
            if event == "end_array":
                break
            yield key, build_json(events, event, value, max_values)
        else:
            raise JsonShapeError("the JSON ends early")
    end_of_document(events)


def json_document(data: bytes, where: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``loads_bounded`` with its errors as a ``FeedError`` naming ``where``."""
    try:
        return loads_bounded(data, max_depth)
    except JsonShapeError as exc:
        raise FeedError(where, str(exc)) from None
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError, an integer of 5,000 digits
        raise FeedError(where, f"not valid JSON (truncated or corrupt?): {exc}") from None
    except MemoryError:
        raise FeedError(where, OUT_OF_MEMORY) from None


def loads_bounded(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for a document already in memory (an OSV record, a secdb file: fast, in C), held to
    the same depth bound. Raises ``JsonShapeError`` or ``ValueError`` (``json.JSONDecodeError``,
    ``UnicodeDecodeError``)."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise JsonShapeError(f"JSON nested deeper than {max_depth} levels") from None
    check_depth(doc, max_depth)
    return doc


def check_depth(doc: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise ``JsonShapeError`` when ``doc`` nests deeper than ``max_depth`` containers (iteratively)."""
    pending: list[tuple[Any, int]] = [(doc, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > max_depth:
            raise JsonShapeError(f"JSON nested deeper than {max_depth} levels")
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one: a field of the wrong type is read as absent."""
    return value if isinstance(value, list) else []


def check_file_size(path: Path, limit: int) -> None:
    """A ``FeedError`` naming ``path`` when it is larger than ``limit`` bytes (or cannot be read)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FeedError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if size > limit:
        raise FeedError(str(path), f"{size} bytes, more than the limit of {limit}; refused")
