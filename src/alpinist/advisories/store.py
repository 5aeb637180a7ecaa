"""The advisory store: one SQLite file (standard library ``sqlite3``) holding every feed's records.

Read side: :class:`Store` (implements :class:`~alpinist.advisories.model.AdvisoryIndex`), opened
read-only, so a scan can never modify the database; an update builds a new file beside it and
renames it over the old one (``update.py``), and a reader that opened the old file keeps reading it.

Write side: :class:`StoreWriter`, used by ``update.py`` on the temporary copy only.

The schema is documented table by table in ``docs/database.md``; bump :data:`SCHEMA_VERSION` for any
change to it (an older or newer file is then refused with a message saying what to do).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from alpinist.advisories.model import (
    Affected,
    CvssScore,
    Severity,
    SourceStatus,
    Status,
    VersionRange,
    Vulnerability,
)
from alpinist.advisories.registry import feed_preference
from alpinist.errors import DatabaseError
from alpinist.models import frozen_from

SCHEMA_VERSION = 1

# The database's own idea of what it is: checked by Store.open and by import.
APPLICATION = "alpinist-advisories"

SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sources (
    name                 TEXT PRIMARY KEY,
    updated_at           TEXT NOT NULL,
    records              INTEGER NOT NULL,
    feed_urls            TEXT NOT NULL,
    last_modified_cursor TEXT
) WITHOUT ROWID;

CREATE TABLE vulnerabilities (
    id              TEXT NOT NULL,
    feed            TEXT NOT NULL,
    summary         TEXT,
    published       TEXT,
    modified        TEXT,
    withdrawn       TEXT,
    references_json TEXT,
    PRIMARY KEY (id, feed)
) WITHOUT ROWID;

CREATE TABLE aliases (
    vuln_id TEXT NOT NULL,
    alias   TEXT NOT NULL,
    feed    TEXT NOT NULL,
    UNIQUE (vuln_id, alias, feed)
);

CREATE TABLE affected (
    vuln_id       TEXT NOT NULL,
    source        TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    package       TEXT NOT NULL,
    status        TEXT NOT NULL,
    fixed_version TEXT,
    ranges_json   TEXT,
    versions_json TEXT,
    severity      TEXT,
    severity_note TEXT
);

CREATE TABLE cvss (
    vuln_id    TEXT NOT NULL,
    feed       TEXT NOT NULL,
    version    TEXT NOT NULL,
    vector     TEXT NOT NULL,
    base_score REAL NOT NULL,
    severity   TEXT NOT NULL,
    source     TEXT NOT NULL,
    "primary"  INTEGER NOT NULL,
    PRIMARY KEY (vuln_id, feed, version, vector, source)
) WITHOUT ROWID;
"""

# Secondary indexes: dropped while a full feed is (re)loaded and built again afterwards, which is several
# times faster than keeping them up to date row by row over a million rows.
INDEXES = {
    "affected_by_package": "CREATE INDEX IF NOT EXISTS affected_by_package ON affected (namespace, package)",
    "affected_by_vuln": "CREATE INDEX IF NOT EXISTS affected_by_vuln ON affected (vuln_id)",
    "aliases_by_alias": "CREATE INDEX IF NOT EXISTS aliases_by_alias ON aliases (alias)",
}

# SQLite allows 32766 bound parameters per statement since 3.32; stay far below it.
_IN_CHUNK = 900

_AFFECTED_COLUMNS = (
    "vuln_id, source, namespace, package, status, fixed_version, ranges_json, versions_json, "
    "severity, severity_note"
)


def default_db_path() -> Path:
    """``$ALPINIST_DB`` if set, else ``advisories.db`` under the user data directory."""
    env = os.environ.get("ALPINIST_DB")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("alpinist")) / "advisories.db"


# --------------------------------------------------------------------------- encoding of rows


def _encode_ranges(ranges: tuple[VersionRange, ...]) -> str | None:
    if not ranges:
        return None
    return json.dumps(
        [
            {
                "start": r.start,
                "start_inclusive": r.start_inclusive,
                "end": r.end,
                "end_inclusive": r.end_inclusive,
            }
            for r in ranges
        ],
        separators=(",", ":"),
    )


def _decode_ranges(text: str | None) -> tuple[VersionRange, ...]:
    if not text:
        return ()
    return tuple(
        VersionRange(
            start=item["start"],
            start_inclusive=item["start_inclusive"],
            end=item["end"],
            end_inclusive=item["end_inclusive"],
        )
        for item in json.loads(text)
    )


# The records of one issue (a PYSEC and a GHSA id) often carry the same ranges and the same list of hundreds
# of versions, and every scan of a process reads them again: each distinct text is decoded once per process
# (bounded), and the rows share one tuple (matching's ``versions.key_set`` then finds its keys by identity).
@lru_cache(maxsize=4096)
def _decoded_ranges(text: str) -> tuple[VersionRange, ...]:
    return _decode_ranges(text)


@lru_cache(maxsize=4096)
def _decoded_versions(text: str) -> tuple[str, ...]:
    return _decode_list(text)


def _encode_list(values: Sequence[str]) -> str | None:
    return json.dumps(list(values), separators=(",", ":")) if values else None


def _decode_list(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def affected_row(a: Affected) -> tuple[Any, ...]:
    return (
        a.vuln_id,
        a.source,
        a.namespace,
        a.package,
        a.status,
        a.fixed_version,
        _encode_ranges(a.ranges),
        _encode_list(a.versions),
        a.severity,
        a.severity_note,
    )


def _affected_from_row(row: tuple[Any, ...]) -> Affected:
    return Affected(
        vuln_id=row[0],
        source=row[1],
        namespace=row[2],
        package=row[3],
        status=cast(Status, row[4]),
        fixed_version=row[5],
        ranges=_decode_ranges(row[6]),
        versions=_decode_list(row[7]),
        severity=cast("Severity | None", row[8]),
        severity_note=row[9],
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- read side


def sqlite_uri(path: Path, mode: str) -> str:
    """The ``file:`` URI that opens ``path`` with ``mode`` (``ro``, ``rw``...) through ``sqlite3.connect(uri=True)``."""
    # Percent-encode what a URI would misread; the path is otherwise passed as is.
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()), safe='/')}?mode={mode}"


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Raise DatabaseError unless ``conn`` is an alpinist advisory database of SCHEMA_VERSION."""
    try:
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "not a database" in message or "malformed" in message or "encrypted" in message:
            raise DatabaseError(f"{path}: file is not a database (not an SQLite file, or damaged)") from None
        if "no such table" in message:
            raise DatabaseError(f"{path}: not an alpinist advisory database (no meta table)") from None
        raise DatabaseError(f"{path}: cannot read the database: {message}") from None
    if rows.get("application") != APPLICATION:
        raise DatabaseError(
            f"{path}: not an alpinist advisory database (application is {rows.get('application')!r})"
        )
    version = rows.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise DatabaseError(
            f"{path}: database schema version {version}, this alpinist reads version {SCHEMA_VERSION}; "
            "run `alpinist db update` to rebuild it, or import an export made by this version"
        )


_READ_CACHE_KIB = 32768


class Store:
    """Read-only access to an advisory database (one SQLite connection; not for use across threads)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._namespaces: list[str] | None = None

    @classmethod
    def open(cls, path: Path | str) -> Store:
        path = Path(path)
        if not path.exists():
            raise DatabaseError(f"{path}: advisory database does not exist; run `alpinist db update` first")
        if not path.is_file():
            raise DatabaseError(f"{path}: advisory database is not a regular file")
        try:
            conn = sqlite3.connect(sqlite_uri(path, "ro"), uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{path}: cannot open the database: {exc}") from None
        try:
            check_schema(conn, path)
            # a scan reads a few thousand pages, some of them twice (a record's aliases, then the aliases'
            # records): room for them all, instead of SQLite's default 2 MiB (allocated only as pages are read)
            conn.execute(f"PRAGMA cache_size=-{_READ_CACHE_KIB}")
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{self.path}: cannot read the database: {exc}") from None

    # --- AdvisoryIndex

    def affected(self, namespace: str, package: str) -> list[Affected]:
        return self.affected_many(namespace, (package,))[package]

    def affected_many(self, namespace: str, packages: Iterable[str]) -> dict[str, list[Affected]]:
        """Rows for many packages of one namespace, a few statements instead of one per package.

        Every requested package is a key of the result (an empty list when nothing touches it).
        """
        wanted = list(dict.fromkeys(packages))
        result: dict[str, list[Affected]] = {name: [] for name in wanted}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "SELECT vuln_id, source, package, status, fixed_version, ranges_json, versions_json, "
                f"severity, severity_note FROM affected WHERE namespace = ? AND package IN ({marks})",
                (namespace, *chunk),
            )
            # The hot loop of a scan (one row per advisory touching an installed package): no helper calls
            # for the common case of rows without ranges or explicit versions.
            for vuln_id, source, package, status, fixed, ranges, versions, severity, note in rows:
                result[package].append(
                    frozen_from(
                        Affected,
                        {
                            "vuln_id": vuln_id,
                            "source": source,
                            "namespace": namespace,
                            "package": package,
                            "status": status,
                            "fixed_version": fixed,
                            "ranges": _decoded_ranges(ranges) if ranges else (),
                            "versions": _decoded_versions(versions) if versions else (),
                            "severity": severity,
                            "severity_note": note,
                        },
                    )
                )
        return result

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        """One id as all feeds describe it, merged; ``None`` when no feed has a record for it.

        summary/published/modified come from the first feed in ``registry.feed_preference()`` that
        has them;
        withdrawn from any feed; references, aliases (the ones the feeds record for this id) and
        CVSS scores are the union over feeds, in feed-preference order.
        """
        return self.vulnerabilities_many((vuln_id,)).get(vuln_id)

    def vulnerabilities_many(
        self, vuln_ids: Iterable[str], *, references: bool = True
    ) -> dict[str, Vulnerability]:
        """Many ids at once, each merged exactly as :meth:`vulnerability` merges it: three statements per
        chunk of ids (vulnerabilities, aliases, cvss, each by its primary key or unique index) instead of
        three per id. An id that no feed describes is not a key of the result.

        ``references=False`` leaves each record's references out (``()``): matching reads no reference, and
        decoding them was a tenth of a scan's matching time.
        """
        wanted = list(dict.fromkeys(vuln_ids))
        result: dict[str, Vulnerability] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            result.update(self._vulnerabilities_chunk(wanted[start : start + _IN_CHUNK], references))
        return result

    def _vulnerabilities_chunk(self, chunk: list[str], with_references: bool) -> dict[str, Vulnerability]:
        # the order in which feeds' descriptions of one id are preferred: each profile's ``preference``
        rank = {name: i for i, name in enumerate(feed_preference())}
        marks = ",".join("?" * len(chunk))
        by_id: dict[str, list[tuple[Any, ...]]] = {}
        references_column = "references_json" if with_references else "NULL"
        for row in self._query(
            f"SELECT id, feed, summary, published, modified, withdrawn, {references_column} FROM vulnerabilities "
            f"WHERE id IN ({marks})",
            chunk,
        ):
            by_id.setdefault(row[0], []).append(row)
        if not by_id:
            return {}
        found = [vuln_id for vuln_id in chunk if vuln_id in by_id]
        marks = ",".join("?" * len(found))
        aliases: dict[str, list[tuple[str, str]]] = {}
        # rowid order keeps each feed's own order of a record's aliases
        for vuln_id, alias, feed in self._query(
            f"SELECT vuln_id, alias, feed FROM aliases WHERE vuln_id IN ({marks}) ORDER BY rowid", found
        ):
            aliases.setdefault(vuln_id, []).append((alias, feed))
        scores: dict[str, list[tuple[Any, ...]]] = {}
        # primary-key order, so that scores differing only by vector keep one order whatever the query plan
        for row in self._query(
            'SELECT vuln_id, version, vector, base_score, severity, source, "primary", feed FROM cvss '
            f"WHERE vuln_id IN ({marks}) ORDER BY vuln_id, feed, version, vector, source",
            found,
        ):
            scores.setdefault(row[0], []).append(row[1:])
        result: dict[str, Vulnerability] = {}
        no_rows: list[Any] = []
        for vuln_id in found:
            # (sorting a list of one is skipped: most ids have one feed, no aliases and a score or two)
            rows = by_id[vuln_id]
            if len(rows) == 1:
                _, _, summary, published, modified, withdrawn, refs = rows[0]
                summary, published, modified = summary or None, published or None, modified or None
                withdrawn = withdrawn or None
                references = tuple(dict.fromkeys(_decode_list(refs))) if refs else ()
            else:
                rows.sort(key=lambda r: (rank.get(r[1], len(rank)), r[1]))
                merged: dict[str, None] = {}
                for r in rows:
                    if r[6]:
                        merged.update(dict.fromkeys(_decode_list(r[6])))
                references = tuple(merged)
                summary = next((r[2] for r in rows if r[2]), None)
                published = next((r[3] for r in rows if r[3]), None)
                modified = next((r[4] for r in rows if r[4]), None)
                withdrawn = next((r[5] for r in rows if r[5]), None)
            alias_rows = aliases.get(vuln_id, no_rows)
            if len(alias_rows) > 1:
                alias_rows.sort(key=lambda r: (rank.get(r[1], len(rank)), r[1]))
            cvss_rows = scores.get(vuln_id, no_rows)
            if len(cvss_rows) > 1:
                cvss_rows.sort(key=lambda r: (rank.get(r[6], len(rank)), r[6], not r[5], r[0], r[4]))
            cvss: dict[tuple[str, str, str], CvssScore] = {}
            for version, vector, score, severity, source, primary, _feed in cvss_rows:
                if (version, vector, source) not in cvss:
                    cvss[(version, vector, source)] = frozen_from(
                        CvssScore,
                        {
                            "version": version,
                            "vector": vector,
                            "base_score": float(score),
                            "severity": severity,
                            "source": source,
                            "primary": bool(primary),
                        },
                    )
            result[vuln_id] = frozen_from(
                Vulnerability,
                {
                    "id": vuln_id,
                    "aliases": tuple(dict.fromkeys(a for a, _ in alias_rows if a != vuln_id))
                    if alias_rows
                    else (),
                    "summary": summary,
                    "published": published,
                    "modified": modified,
                    "withdrawn": withdrawn,
                    "references": references,
                    "cvss": tuple(cvss.values()),
                },
            )
        return result

    # --- more than matching needs

    def aliases_of(self, vuln_id: str) -> list[str]:
        """Every id linked to ``vuln_id`` by any feed, in either direction (sorted, without itself)."""
        return self.aliases_many((vuln_id,))[vuln_id]

    def aliases_many(self, vuln_ids: Iterable[str]) -> dict[str, list[str]]:
        """:meth:`aliases_of` for many ids: two statements per chunk of ids (one per direction, through the
        unique ``(vuln_id, alias, feed)`` index and ``aliases_by_alias``). Every requested id is a key (an
        empty list when nothing links it)."""
        wanted = list(dict.fromkeys(vuln_ids))
        linked: dict[str, set[str]] = {vuln_id: set() for vuln_id in wanted}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for vuln_id, alias in self._query(
                f"SELECT DISTINCT vuln_id, alias FROM aliases WHERE vuln_id IN ({marks})", chunk
            ):
                linked[vuln_id].add(alias)
            for alias, vuln_id in self._query(
                f"SELECT DISTINCT alias, vuln_id FROM aliases WHERE alias IN ({marks})", chunk
            ):
                linked[alias].add(vuln_id)
        return {vuln_id: sorted(ids - {vuln_id}) for vuln_id, ids in linked.items()}

    def aliased_by_many(self, vuln_ids: Iterable[str]) -> dict[str, list[str]]:
        """For many ids, the ids whose records list them as an alias (the other direction of a record's own
        ``aliases``): one statement per chunk, through ``aliases_by_alias``. A record's aliases and these are
        together :meth:`aliases_many`, as an aliases row is only ever written with its record's row (same id,
        same feed). Every requested id is a key."""
        wanted = list(dict.fromkeys(vuln_ids))
        linked: dict[str, list[str]] = {vuln_id: [] for vuln_id in wanted}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for alias, vuln_id in self._query(
                f"SELECT DISTINCT alias, vuln_id FROM aliases WHERE alias IN ({marks}) ORDER BY alias, vuln_id",
                chunk,
            ):
                if vuln_id != alias:
                    linked[alias].append(vuln_id)
        return linked

    def namespaces(self) -> list[str]:
        """Every namespace the database holds rows for (alpine:3.20, debian:bookworm, pypi, cpe...)."""
        if self._namespaces is None:
            # a skip-scan over the (namespace, package) index: one seek per namespace, not a full scan
            rows = self._query(
                "WITH RECURSIVE ns(n) AS (SELECT MIN(namespace) FROM affected UNION ALL "
                "SELECT (SELECT MIN(namespace) FROM affected WHERE namespace > ns.n) FROM ns WHERE n IS NOT NULL) "
                "SELECT n FROM ns WHERE n IS NOT NULL",
                (),
            )
            self._namespaces = [r[0] for r in rows]
        return list(self._namespaces)

    def meta(self) -> dict[str, str]:
        return dict(cast(list[tuple[str, str]], self._query("SELECT key, value FROM meta")))

    def status(self, now: datetime | None = None) -> list[SourceStatus]:
        now = now or _now()
        out = []
        for name, updated_at, records, feed_urls, cursor in self._query(
            "SELECT name, updated_at, records, feed_urls, last_modified_cursor FROM sources ORDER BY name"
        ):
            when = _parse_time(updated_at)
            out.append(
                SourceStatus(
                    name=name,
                    records=int(records),
                    updated_at=when,
                    age=now - when,
                    feed_urls=tuple(json.loads(feed_urls)),
                    last_modified_cursor=cursor,
                )
            )
        return out

    def source_cursor(self, name: str) -> str | None:
        rows = self._query("SELECT last_modified_cursor FROM sources WHERE name = ?", (name,))
        return cast("str | None", rows[0][0]) if rows else None


# --------------------------------------------------------------------------- write side


class StoreWriter:
    """Writes one database file that nobody else reads: the ``.new-<pid>`` copy an update builds.

    Durability comes from the rename protocol in ``update.py``, not from SQLite's journal: the file is
    discarded whenever a step fails, so it is written with ``journal_mode=OFF`` and ``synchronous=OFF``
    (a full Debian update would otherwise keep a journal of every deleted page) and fsynced once at the end.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache, whatever the DB size
        self._conn.execute("PRAGMA temp_store=FILE")
        has_meta = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if has_meta is None:
            self._conn.executescript(SCHEMA)
            self.create_indexes()
            self._conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("application", APPLICATION),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", _now().isoformat()),
                ],
            )
        else:
            check_schema(self._conn, path)
        self._cleared: set[str] = set()
        self.inserted_affected = 0
        self.inserted_vulnerabilities = 0

    def close(self) -> None:
        self._conn.close()

    def drop_indexes(self) -> None:
        for name in INDEXES:
            self._conn.execute(f"DROP INDEX IF EXISTS {name}")

    def create_indexes(self) -> None:
        for sql in INDEXES.values():
            self._conn.execute(sql)

    # --- one source, in one transaction

    def begin_source(self, name: str, incremental: bool) -> None:
        """Start replacing feed ``name``: all of its rows go now, unless it is an incremental update,
        in which case only the ids that come in again are replaced (see add())."""
        self._conn.execute("BEGIN")
        self._cleared = set()
        self._incremental = incremental
        self.inserted_affected = 0
        self.inserted_vulnerabilities = 0
        self._source = name
        if not incremental:
            self._conn.execute("DELETE FROM affected WHERE source = ?", (name,))
            self._conn.execute("DELETE FROM vulnerabilities WHERE feed = ?", (name,))
            self._conn.execute("DELETE FROM aliases WHERE feed = ?", (name,))
            self._conn.execute("DELETE FROM cvss WHERE feed = ?", (name,))

    def _clear_ids(self, ids: Iterable[str]) -> None:
        fresh = [i for i in dict.fromkeys(ids) if i not in self._cleared]
        if not fresh:
            return
        self._cleared.update(fresh)
        name = self._source
        for start in range(0, len(fresh), _IN_CHUNK):
            chunk = fresh[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            self._conn.execute(
                f"DELETE FROM affected WHERE source = ? AND vuln_id IN ({marks})", (name, *chunk)
            )
            self._conn.execute(
                f"DELETE FROM vulnerabilities WHERE feed = ? AND id IN ({marks})", (name, *chunk)
            )
            self._conn.execute(f"DELETE FROM aliases WHERE feed = ? AND vuln_id IN ({marks})", (name, *chunk))
            self._conn.execute(f"DELETE FROM cvss WHERE feed = ? AND vuln_id IN ({marks})", (name, *chunk))

    def add(self, affected: Sequence[Affected], vulnerabilities: Sequence[Vulnerability]) -> None:
        name = self._source
        if self._incremental:
            self._clear_ids([a.vuln_id for a in affected] + [v.id for v in vulnerabilities])
        for a in affected:
            if a.source != name:
                raise DatabaseError(f"feed {name!r} produced a record of source {a.source!r} ({a.vuln_id})")
        if affected:
            self._conn.executemany(
                f"INSERT INTO affected ({_AFFECTED_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [affected_row(a) for a in affected],
            )
            self.inserted_affected += len(affected)
        if vulnerabilities:
            # The same id may come twice from one feed (an Alpine id in several branches): last one wins,
            # aliases and scores are the union.
            self._conn.executemany(
                "INSERT OR REPLACE INTO vulnerabilities (id, feed, summary, published, modified, withdrawn, "
                "references_json) VALUES (?,?,?,?,?,?,?)",
                [
                    (v.id, name, v.summary, v.published, v.modified, v.withdrawn, _encode_list(v.references))
                    for v in vulnerabilities
                ],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO aliases (vuln_id, alias, feed) VALUES (?,?,?)",
                [(v.id, alias, name) for v in vulnerabilities for alias in v.aliases if alias != v.id],
            )
            self._conn.executemany(
                'INSERT OR REPLACE INTO cvss (vuln_id, feed, version, vector, base_score, severity, source, "primary") '
                "VALUES (?,?,?,?,?,?,?,?)",
                [
                    (v.id, name, c.version, c.vector, c.base_score, c.severity, c.source, int(c.primary))
                    for v in vulnerabilities
                    for c in v.cvss
                ],
            )
            self.inserted_vulnerabilities += len(vulnerabilities)

    def finish_source(self, feed_urls: Sequence[str], cursor: str | None, updated_at: datetime) -> int:
        """Record the feed in ``sources`` and commit; returns its record count (distinct ids)."""
        name = self._source
        records = self.count_records(name)
        self._conn.execute(
            "INSERT OR REPLACE INTO sources (name, updated_at, records, feed_urls, last_modified_cursor) "
            "VALUES (?,?,?,?,?)",
            (name, updated_at.isoformat(), records, json.dumps(list(feed_urls)), cursor),
        )
        self._conn.execute("COMMIT")
        return records

    # --- checks

    def count_records(self, name: str) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM (SELECT vuln_id FROM affected WHERE source = ? "
            "UNION SELECT id FROM vulnerabilities WHERE feed = ?)",
            (name, name),
        ).fetchone()
        return int(row[0])

    def count_rows(self, name: str) -> tuple[int, int]:
        """(affected rows, vulnerability rows) of one feed."""
        affected = self._conn.execute("SELECT COUNT(*) FROM affected WHERE source = ?", (name,)).fetchone()[0]
        vulns = self._conn.execute("SELECT COUNT(*) FROM vulnerabilities WHERE feed = ?", (name,)).fetchone()[
            0
        ]
        return int(affected), int(vulns)

    def integrity_check(self) -> None:
        rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            raise DatabaseError(f"{self.path}: integrity check failed: {'; '.join(rows[:5])}")
        check_schema(self._conn, self.path)
        present = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = sorted(set(INDEXES) - present)
        if missing:
            raise DatabaseError(f"{self.path}: check failed: index {', '.join(missing)} missing")

    def set_meta(self, values: Mapping[str, str]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))


def validate_database(path: Path, *, integrity: bool = True) -> list[SourceStatus]:
    """Raise DatabaseError unless ``path`` is a readable alpinist database of this schema version
    (and, with ``integrity``, passes ``PRAGMA integrity_check``); returns its sources."""
    with Store.open(path) as store:
        if integrity:
            rows = [r[0] for r in store._query("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise DatabaseError(f"{path}: integrity check failed: {'; '.join(rows[:5])}")
        return store.status()
