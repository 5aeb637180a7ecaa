"""The history store: one SQLite file (``--history FILE``), one row per image per run (docs/history.md).

- **Schema**: a ``meta`` table (``application`` = ``alpinist-history``, ``schema_version``) and a ``runs``
  table. A file that is not SQLite, another program's database, or a history of another schema version is
  refused with a :class:`~alpinist.errors.HistoryError` naming the file and what to do; nothing in it is
  changed. An absent or empty (0-byte) file is created.
- **Concurrent writers**: the file is in WAL mode; every run's rows are one ``BEGIN IMMEDIATE`` transaction
  (all or nothing), and a writer waits up to :data:`BUSY_TIMEOUT` seconds for another's to finish. Creating
  the schema is itself such a transaction, so two first runs at once create it once.
- **Times** are UTC, stored as ``YYYY-MM-DDTHH:MM:SSZ`` (text that sorts as time); entries are read oldest
  first, ties in the order they were stored.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES
from alpinist.errors import HistoryError
from alpinist.history.model import VERBS, HistoryEntry, severity_counts

SCHEMA_VERSION = 1
APPLICATION = "alpinist-history"
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's transaction

_SEV_COLUMNS = tuple(s.lower() for s in SEVERITIES)

SCHEMA = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at      TEXT NOT NULL,
    verb             TEXT NOT NULL,
    reference        TEXT NOT NULL,
    name             TEXT NOT NULL,
    manifest_digest  TEXT,
    {", ".join(f"{c} INTEGER NOT NULL" for c in _SEV_COLUMNS)},
    findings         INTEGER NOT NULL,
    unique_ids       INTEGER NOT NULL,
    packages         INTEGER NOT NULL,
    db_updated_at    TEXT,
    new              INTEGER,
    gone             INTEGER,
    alpinist_version TEXT NOT NULL
);

CREATE INDEX runs_by_name ON runs (name, recorded_at);
"""

_COLUMNS = (
    "id",
    "recorded_at",
    "verb",
    "reference",
    "name",
    "manifest_digest",
    *_SEV_COLUMNS,
    "findings",
    "unique_ids",
    "packages",
    "db_updated_at",
    "new",
    "gone",
)


def time_text(value: datetime) -> str:
    """``2024-05-01T12:00:00Z``: the stored form of a time (UTC, whole seconds)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _refusal(path: Path, exc: sqlite3.Error) -> HistoryError:
    message = str(exc)
    if "not a database" in message or "malformed" in message or "encrypted" in message:
        return HistoryError(
            f"{path}: not an alpinist history store (not an SQLite file, or damaged); "
            "give another --history FILE, or move this one away"
        )
    if "locked" in message or "busy" in message:
        return HistoryError(f"{path}: history store is locked by another writer (waited {BUSY_TIMEOUT:.0f}s)")
    return HistoryError(f"{path}: cannot use the history store: {message}")


class HistoryStore:
    """One connection to a history file (not shared across threads: each writer opens its own)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    # ------------------------------------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> HistoryStore:
        """Open ``path`` (creating it and its schema when ``create`` and it is absent or empty); refuse a
        file that is not an alpinist history store of :data:`SCHEMA_VERSION`."""
        path = Path(path)
        if path.exists() and not path.is_file():
            raise HistoryError(f"{path}: history store is not a regular file")
        if not path.exists():
            if not create:
                raise HistoryError(
                    f"{path}: history store does not exist; record runs with "
                    "`alpinist scan IMAGE --history FILE` (or gate, rescan) first"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HistoryError(f"{path}: cannot create the history store: {exc}") from None
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _refusal(path, exc) from None
        store = cls(conn, path)
        try:
            store._prepare(create)
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self, create: bool) -> None:
        try:
            with self._transaction():
                tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master")}
                if not tables and create:
                    # one statement at a time: executescript would commit the open transaction first
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [
                            ("application", APPLICATION),
                            ("schema_version", str(SCHEMA_VERSION)),
                            ("created_by", f"alpinist {__version__}"),
                        ],
                    )
                else:
                    self._check(tables)
        except sqlite3.Error as exc:
            raise _refusal(self.path, exc) from None
        self._wal()

    def _check(self, tables: set[str]) -> None:
        if "meta" not in tables:
            raise HistoryError(
                f"{self.path}: not an alpinist history store (an SQLite database without its meta table); "
                "give another --history FILE, or move this one away"
            )
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION:
            raise HistoryError(
                f"{self.path}: not an alpinist history store (application is {meta.get('application')!r}); "
                "give another --history FILE, or move this one away"
            )
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise HistoryError(
                f"{self.path}: history store of schema version {version}, this alpinist reads version "
                f"{SCHEMA_VERSION}; use the alpinist that wrote it, or start a new --history FILE"
            )
        if "runs" not in tables:
            raise HistoryError(f"{self.path}: history store without its runs table (damaged)")

    def _wal(self) -> None:
        """Switch to WAL (persistent in the file; a no-op once done). Needs a moment without readers."""
        for attempt in range(50):
            try:
                mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _refusal(self.path, exc) from None
                time.sleep(0.02 * (attempt + 1))
                continue
            if mode and str(mode[0]).lower() == "wal":
                return
            time.sleep(0.02 * (attempt + 1))
        # still a rollback journal: correct, only less concurrent for readers; not worth failing a scan

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- writing

    def append(self, entries: Sequence[HistoryEntry]) -> int:
        """Store ``entries`` (one run) in one transaction: all of them or none. Returns how many."""
        rows = [_row(e) for e in entries]
        if not rows:
            return 0
        placeholders = ", ".join("?" for _ in rows[0])
        columns = ", ".join([*_COLUMNS[1:], "alpinist_version"])
        try:
            with self._transaction():
                self._conn.executemany(f"INSERT INTO runs ({columns}) VALUES ({placeholders})", rows)
        except sqlite3.Error as exc:
            raise _refusal(self.path, exc) from None
        return len(rows)

    # ------------------------------------------------------------------------------------------- reading

    def entries(self, *, image: str | None = None, since: datetime | None = None) -> tuple[HistoryEntry, ...]:
        """Entries oldest first; ``image`` matches the image's name or its reference exactly, ``since``
        keeps the entries recorded at or after it."""
        where: list[str] = []
        params: list[Any] = []
        if image is not None:
            where.append("(name = ? OR reference = ?)")
            params += [image, image]
        if since is not None:
            where.append("recorded_at >= ?")
            params.append(time_text(since))
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY recorded_at, id"
        try:
            rows = self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _refusal(self.path, exc) from None
        return tuple(_entry(self.path, row) for row in rows)


def _row(e: HistoryEntry) -> tuple[Any, ...]:
    if e.verb not in VERBS:
        raise ValueError(f"verb {e.verb!r} is not one of {', '.join(VERBS)}")
    return (
        time_text(e.recorded_at),
        e.verb,
        e.reference,
        e.name,
        e.manifest_digest,
        *(e.count(s) for s in SEVERITIES),
        e.findings,
        e.unique_ids,
        e.packages,
        time_text(e.db_updated_at) if e.db_updated_at is not None else None,
        e.new,
        e.gone,
        __version__,
    )


def _entry(path: Path, row: Iterable[Any]) -> HistoryEntry:
    values = dict(zip(_COLUMNS, row, strict=True))
    try:
        return HistoryEntry(
            id=int(values["id"]),
            recorded_at=parse_time(str(values["recorded_at"])),
            verb=str(values["verb"]),
            reference=str(values["reference"]),
            name=str(values["name"]),
            manifest_digest=values["manifest_digest"],
            by_severity=severity_counts({s: int(values[s.lower()]) for s in SEVERITIES}),
            findings=int(values["findings"]),
            unique_ids=int(values["unique_ids"]),
            packages=int(values["packages"]),
            db_updated_at=parse_time(str(values["db_updated_at"])) if values["db_updated_at"] else None,
            new=None if values["new"] is None else int(values["new"]),
            gone=None if values["gone"] is None else int(values["gone"]),
        )
    except (TypeError, ValueError) as exc:
        raise HistoryError(
            f"{path}: run {values.get('id')} cannot be read ({exc}); the file was edited"
        ) from None
