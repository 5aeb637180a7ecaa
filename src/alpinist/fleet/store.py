"""The fleet store: every run, every image's outcome, its findings and its SBOM, in SQLite or PostgreSQL.

- **One schema for both backends** (:data:`MIGRATIONS`): ``meta`` (``application`` = ``alpinist-fleet``,
  ``schema_version``), ``runs``, ``sboms`` (one per manifest digest), ``scans`` (one per image per run, with
  the per-severity counts as columns so that trends read no findings) and ``findings``. An ``unchanged``
  scan stores no findings: ``findings_of`` names the scanned/matched scan whose findings stand for it.
- **Migrations**: a list of steps, each a schema version and its statements. Opening a store applies the
  pending ones and sets ``schema_version`` in one transaction (all or none); version 1 is the initial
  schema, so an empty database is created the same way an old one is brought up to date. A store of a
  higher version than this alpinist knows, or a database that is not a fleet store, is refused untouched.
- **Why no ORM**: the store is a dozen fixed queries over five tables, written once in SQL both backends
  accept (``ON CONFLICT … DO UPDATE``, ``RETURNING``). What must differ is in :class:`_Sqlite` and
  :class:`_Postgres` only: placeholders (``?``/``%s``), the id column (``INTEGER PRIMARY KEY``/identity),
  code point order of ``reference`` (SQLite's default/``COLLATE "C"``), "one of these values" (``json_each``/
  ``= ANY``), how a write transaction starts and migrators take turns, bulk insert (``executemany``/
  ``COPY``), streaming (``fetchmany``/a server-side cursor) and the error messages. SQLAlchemy Core would
  hide the first few at the price of a dependency every SQLite user installs; ``COPY``, the server-side
  cursor and the messages would still be backend code.
- **Times** are UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (sorts as time on both backends).
- **Durability**: :meth:`FleetStore.record` is one transaction and returns after its commit (SQLite
  ``synchronous=FULL`` in WAL mode; PostgreSQL's own commit), so a killed run loses no recorded image.

A store is one connection: use it from one thread at a time (each writer process opens its own).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

from alpinist import __version__
from alpinist.advisories.model import SEVERITIES
from alpinist.errors import FleetStoreError
from alpinist.fleet.model import ImageOutcome, RunInfo, RunKind, Status, StoredScan, TrendPoint
from alpinist.scan.model import FindingRef

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "FleetStore", "Migration", "open_store", "redact"]

APPLICATION = "alpinist-fleet"
BUSY_TIMEOUT = 30.0  # seconds an SQLite writer waits for another's transaction
CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server (unless the URL sets connect_timeout)
STREAM_ROWS = 64  # rows fetched at a time by latest_sboms (each row holds an SBOM: tens to hundreds of KiB)

STATUSES: tuple[Status, ...] = get_args(Status)
_SEVERITY_COLUMNS = tuple(s.lower() for s in SEVERITIES)
_RESULT = "('scanned', 'matched')"  # statuses whose findings are their own


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the statements that take a store from ``version - 1`` to ``version``.
    Statements are SQL both backends accept; ``{id}`` is the auto-numbered primary key column type and
    ``{ordered}`` a text column sorted by code point on both (the only spellings that differ)."""

    version: int
    statements: tuple[str, ...]


_V1 = Migration(
    1,
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE runs (
            id {id},
            kind TEXT NOT NULL CHECK (kind IN ('scan', 'rescan')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            db_version TEXT NOT NULL,
            engine TEXT NOT NULL,
            images INTEGER NOT NULL
        )""",
        "CREATE TABLE sboms (digest TEXT PRIMARY KEY, os TEXT, sbom TEXT NOT NULL)",
        f"""CREATE TABLE scans (
            id {{id}},
            run_id INTEGER NOT NULL REFERENCES runs (id),
            reference {{ordered}} NOT NULL,
            digest TEXT,
            db_version TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
            error TEXT,
            os TEXT,
            packages INTEGER NOT NULL,
            seconds DOUBLE PRECISION NOT NULL,
            recorded_at TEXT NOT NULL,
            {", ".join(f"{c} INTEGER NOT NULL" for c in _SEVERITY_COLUMNS)},
            findings_of INTEGER REFERENCES scans (id),
            UNIQUE (reference, run_id)
        )""",
        # recorded(), runs() counts; current() and the target of an "unchanged"
        "CREATE INDEX scans_by_run ON scans (run_id, status)",
        "CREATE INDEX scans_by_digest ON scans (digest, db_version, status)",
        """CREATE TABLE findings (
            scan_id INTEGER NOT NULL REFERENCES scans (id),
            seq INTEGER NOT NULL,
            vuln_id TEXT NOT NULL,
            type TEXT NOT NULL,
            package TEXT NOT NULL,
            version TEXT NOT NULL,
            severity TEXT NOT NULL,
            fixed_version TEXT,
            status TEXT NOT NULL,
            PRIMARY KEY (scan_id, seq)
        )""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1,)
"""Every step, in order. A schema change is one more entry here (and a test that opens a store of the
version before it)."""

SCHEMA_VERSION = MIGRATIONS[-1].version


# --------------------------------------------------------------------------------------------- URLs


def redact(url: str) -> str:
    """``url`` with the password (in the user part or a ``password=`` parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # as given: urlunsplit would drop the empty host of sqlite:///path
    return urlunsplit(parts._replace(netloc=netloc, query=query))


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ACCEPTED = (
    "sqlite:///ABSOLUTE/PATH, sqlite:RELATIVE/PATH, a file path, "
    "or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (postgres:// too)"
)


def _parse(url: str) -> tuple[Literal["sqlite", "postgresql"], str]:
    """The backend and what it opens (the SQLite file path, or the PostgreSQL URL as given)."""
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:") :]
        if rest.startswith("///"):
            path = "/" + rest.lstrip("/")  # sqlite:///abs/path; SQLAlchemy's sqlite:////abs/path too
        elif rest.startswith("//"):
            raise FleetStoreError(f"{url}: an SQLite store URL has no host; give {_ACCEPTED}")
        else:
            path = rest
        if not path.strip("/"):
            raise FleetStoreError(f"{url}: the SQLite store URL names no file; give {_ACCEPTED}")
        return "sqlite", path
    match = _SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("postgresql", "postgres"):
            return "postgresql", url
        raise FleetStoreError(f"{redact(url)}: unsupported store URL scheme {scheme!r}; give {_ACCEPTED}")
    if not url.strip():
        raise FleetStoreError(f"empty store URL; give {_ACCEPTED}")
    return "sqlite", url


# ----------------------------------------------------------------------------------------- backends


class _Backend:
    """One connection and everything that differs between the backends."""

    name: Literal["sqlite", "postgresql"]
    begin: str  # starts a write transaction
    tokens: ClassVar[dict[str, str]]  # the schema's {id} and {ordered}

    def __init__(self, shown: str) -> None:
        self.shown = shown  # the URL as messages show it

    # --- portable entry points (the SQL is written with ? placeholders)
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute ``sql``; the number of rows it changed."""
        raise NotImplementedError

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def each(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` one by one, without a list of them all (read it to the end)."""
        raise NotImplementedError

    def bulk(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in as few round trips as the backend allows."""
        raise NotImplementedError

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` a few at a time, read on a connection of their own: the caller may write
        through this one between rows (rescan records as it reads)."""
        raise NotImplementedError

    def any_of(self, column: str, values: Sequence[str] | Sequence[int]) -> tuple[str, Any]:
        """A condition ``column`` is one of ``values``, and its one parameter (any number of values)."""
        raise NotImplementedError

    def tables(self) -> set[str]:
        raise NotImplementedError

    def lock_schema(self) -> None:
        """Inside the migration's transaction: make two processes opening one store migrate in turn."""

    def close(self) -> None:
        raise NotImplementedError

    def ddl(self, statement: str) -> str:
        for token, text in self.tokens.items():
            statement = statement.replace("{" + token + "}", text)
        return statement

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def rollback(self) -> None:
        with suppress(FleetStoreError):  # the connection is gone or the transaction ended: nothing committed
            self.run("ROLLBACK")


class _Sqlite(_Backend):
    name = "sqlite"
    begin = "BEGIN IMMEDIATE"  # takes the write lock now: two writers wait (busy timeout), never deadlock
    tokens: ClassVar[dict[str, str]] = {
        "id": "INTEGER PRIMARY KEY",
        "ordered": "TEXT",
    }  # SQLite's BINARY collation: code point order

    def __init__(self, shown: str, path: Path) -> None:
        super().__init__(shown)
        self.path = path
        if path.exists() and not path.is_file():
            raise FleetStoreError(f"{shown}: not a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FleetStoreError(f"{shown}: cannot create the store's directory: {exc}") from None
        self.conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            # timeout= is SQLite's busy_timeout; isolation_level=None: transactions are the explicit BEGINs
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # a commit survives power loss, not only a kill
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return conn

    def _error(self, exc: sqlite3.Error) -> FleetStoreError:
        message = str(exc)
        if "not a database" in message or "malformed" in message:
            return FleetStoreError(
                f"{self.shown}: not an alpinist fleet store (not an SQLite database, or damaged)"
            )
        if "locked" in message or "busy" in message:
            return FleetStoreError(
                f"{self.shown}: the store is locked by another writer (waited {BUSY_TIMEOUT:.0f}s)"
            )
        return FleetStoreError(f"{self.shown}: {message}")

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def each(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        try:
            cursor = self.conn.execute(sql, params)
            while batch := cursor.fetchmany(1000):
                yield from batch
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def bulk(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        try:
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
        reader = self._connect()
        try:
            cursor = reader.execute(sql, params)  # one read transaction: a snapshot (WAL)
            while batch := cursor.fetchmany(size):
                yield from batch
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            reader.close()

    def any_of(self, column: str, values: Sequence[str] | Sequence[int]) -> tuple[str, Any]:
        # one JSON parameter instead of one placeholder per value: no limit on the number of values
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def wal(self) -> None:
        """WAL once the schema is there (persistent in the file); after the checks, so that a foreign
        file is left as it was. Still a rollback journal if others hold the file: correct, less concurrent."""
        with suppress(sqlite3.OperationalError):
            self.conn.execute("PRAGMA journal_mode = WAL")

    def close(self) -> None:
        self.conn.close()


class _Postgres(_Backend):
    name = "postgresql"
    begin = "BEGIN"
    # an identity column; "C" so that ORDER BY reference is code point order, as on SQLite
    tokens: ClassVar[dict[str, str]] = {
        "id": "INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "ordered": 'TEXT COLLATE "C"',
    }

    def __init__(self, shown: str, url: str) -> None:
        super().__init__(shown)
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise FleetStoreError(
                f"{shown}: a PostgreSQL store needs psycopg: pip install 'alpinist[fleet]'"
            ) from None
        self._psycopg = psycopg
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise FleetStoreError(f"{shown}: not a PostgreSQL URL: {_one_line(str(exc))}") from None
        self._password = str(params.get("password") or "")
        self._url = url
        self._extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            self._extra["connect_timeout"] = CONNECT_TIMEOUT
        if "application_name" not in params:
            self._extra["application_name"] = "alpinist fleet"
        host, port = params.get("host") or "the local socket", params.get("port") or "5432"
        self._where = f"{host}:{port}"
        self.conn = self._connect(autocommit=True)

    def _connect(self, *, autocommit: bool) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            return self._psycopg.connect(self._url, autocommit=autocommit, **self._extra)
        except self._psycopg.Error as exc:
            reason = self._scrub(_one_line(str(exc)))
            raise FleetStoreError(
                f"{self.shown}: cannot connect to the PostgreSQL server at {self._where}: {reason}"
            ) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _error(self, exc: Exception) -> FleetStoreError:
        return FleetStoreError(f"{self.shown}: {self._scrub(_one_line(str(exc)))}")

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")  # the store's SQL has no ? and no % of its own

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return self.conn.execute(self._sql(sql), params).rowcount
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(self._sql(sql), params).fetchall()
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def each(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        try:
            # chunked rows mode (libpq 17+; one row at a time before): the result is never whole in memory
            with self.conn.cursor() as cursor:
                yield from cursor.stream(self._sql(sql), params, size=1000)
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def bulk(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        try:
            with (
                self.conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def stream(self, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
        reader = self._connect(autocommit=False)  # a server-side cursor lives in a transaction
        try:
            with reader.cursor(name="alpinist_fleet_stream") as cursor:
                cursor.itersize = size
                cursor.execute(self._sql(sql), params)
                yield from cursor
        except self._psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            reader.close()

    def any_of(self, column: str, values: Sequence[str] | Sequence[int]) -> tuple[str, Any]:
        kind = "bigint" if values and isinstance(values[0], int) else "text"
        return f"{column} = ANY(?::{kind}[])", list(values)

    def tables(self) -> set[str]:
        found = self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(r[0]) for r in found}

    def lock_schema(self) -> None:
        self.run("SELECT pg_advisory_xact_lock(?)", (0x616C70696E697374,))  # "alpinist"

    def close(self) -> None:
        self.conn.close()


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


# -------------------------------------------------------------------------------------------- times


def _time_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # 3.11 reads the trailing Z


def _stored_time(value: datetime) -> datetime:
    """``value`` as it reads back from the store."""
    return _parse_time(_time_text(value))


# -------------------------------------------------------------------------------------------- store

_RUN_COLUMNS = "id, kind, started_at, finished_at, db_version, engine, images"
_SCAN_COLUMNS = ("id", "run_id", "reference", "status", "digest", "db_version", "recorded_at", "error", "os",
                 "packages", "findings_of")  # fmt: skip
_FINDING_COLUMNS = ("scan_id", "seq", "vuln_id", "type", "package", "version", "severity", "fixed_version",
                    "status")  # fmt: skip
_SEVERITY_LIST = ", ".join(_SEVERITY_COLUMNS)
# every reference's latest scan: its row in the newest run that recorded it (among runs {bound})
_LATEST = """
    SELECT {columns} FROM scans s
    JOIN (SELECT reference, MAX(run_id) AS last FROM scans {bound} GROUP BY reference) m
      ON s.reference = m.reference AND s.run_id = m.last
"""


def _with_sbom(columns: str) -> str:
    """``columns`` of every reference whose latest non-error outcome has a stored SBOM (``b``), by reference."""
    return (
        _LATEST.format(columns=columns, bound="WHERE status <> 'error'")
        + " JOIN sboms b ON b.digest = s.digest ORDER BY s.reference"
    )


def open_store(url: str, *, migrations: Sequence[Migration] = MIGRATIONS, create: bool = True) -> FleetStore:
    """Open the store at ``url`` (see :func:`_parse` for the forms), creating its schema when the database
    is empty and applying pending ``migrations`` (one transaction). ``create=False`` (a reader such as
    ``fleet report``): a missing SQLite file or an empty database is an error instead of a new empty store.
    Raises :class:`FleetStoreError`."""
    kind, target = _parse(url)
    shown = redact(url)
    if not create and kind == "sqlite" and not Path(target).exists():
        raise FleetStoreError(
            f"{shown}: no fleet store there (`alpinist fleet scan --store {shown}` makes one)"
        )
    backend: _Backend = _Sqlite(shown, Path(target)) if kind == "sqlite" else _Postgres(shown, target)
    store = FleetStore(backend)
    if not create and not backend.tables():
        backend.close()
        raise FleetStoreError(
            f"{shown}: no fleet store there (`alpinist fleet scan --store {shown}` makes one)"
        )
    try:
        store._migrate(migrations)
        if isinstance(backend, _Sqlite):
            backend.wal()
    except BaseException:
        backend.close()
        raise
    return store


class FleetStore:
    """One connection to a fleet store. Open with :func:`open_store`."""

    def __init__(self, backend: _Backend) -> None:
        self._db = backend
        self.url = backend.shown
        self.backend: Literal["sqlite", "postgresql"] = backend.name

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FleetStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.run(self._db.begin)
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.run("COMMIT")

    # ---------------------------------------------------------------------------------------- schema

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        versions = [m.version for m in migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"migration versions must be 1, 2, 3…: {versions}")
        known = versions[-1]
        with self._transaction():
            self._db.lock_schema()
            tables = self._db.tables()
            version = self._version(tables, known) if tables else 0
            pending = [m for m in migrations if m.version > version]
            for step in pending:
                for statement in step.statements:
                    self._db.run(self._db.ddl(statement))
            if version == 0:
                self._db.bulk("meta", ("key", "value"),
                              [("application", APPLICATION), ("created_by", f"alpinist {__version__}")])  # fmt: skip
            if pending:
                self._db.run(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(known),),
                )

    def _version(self, tables: set[str], known: int) -> int:
        """The schema version of a non-empty database; refuses one that is not a fleet store or is newer."""
        listed = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        foreign = f"{self.url}: not an alpinist fleet store (a database with the tables {listed})"
        if "meta" not in tables:
            raise FleetStoreError(foreign)
        try:
            meta = {str(k): str(v) for k, v in self._db.rows("SELECT key, value FROM meta")}
        except FleetStoreError:
            raise FleetStoreError(foreign) from None
        if meta.get("application") != APPLICATION:
            raise FleetStoreError(
                f"{self.url}: not an alpinist fleet store (its application is {meta.get('application')!r})"
            )
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            raise FleetStoreError(
                f"{self.url}: fleet store without a valid schema version ({meta.get('schema_version')!r}); damaged"
            ) from None
        if version > known:
            raise FleetStoreError(
                f"{self.url}: made by a newer alpinist (schema {version}, this one knows {known}); "
                "use that alpinist, or another store"
            )
        return version

    @property
    def schema_version(self) -> int:
        row = self._db.one("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------------------------------ runs

    def start_run(self, kind: RunKind, db_version: str, engine: str, images: int, now: datetime) -> RunInfo:
        """A new run (unfinished until :meth:`finish_run`)."""
        with self._transaction():
            row = self._db.one(
                "INSERT INTO runs (kind, started_at, db_version, engine, images) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (kind, _time_text(now), db_version, engine, images),
            )
        assert row is not None
        return RunInfo(int(row[0]), kind, _stored_time(now), None, db_version, engine, images, _counts({}))

    def resumable(self, kind: RunKind, db_version: str) -> RunInfo | None:
        """The run to resume: the newest run of ``kind`` when it never finished (killed) and was made with
        ``db_version``. None when the newest finished (an older killed run was superseded by it), or
        used another database (its results would be of the other database), or there is none."""
        row = self._db.one(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
        )
        if row is None or row[3] is not None or row[4] != db_version:
            return None
        return self._with_counts([row])[0]

    def set_images(self, run_id: int, images: int) -> None:
        with self._transaction():
            changed = self._db.run("UPDATE runs SET images = ? WHERE id = ?", (images, run_id))
            self._exists(changed, run_id)

    def finish_run(self, run_id: int, now: datetime) -> None:
        with self._transaction():
            changed = self._db.run("UPDATE runs SET finished_at = ? WHERE id = ?", (_time_text(now), run_id))
            self._exists(changed, run_id)

    def _exists(self, changed: int, run_id: int) -> None:
        if changed == 0:
            raise FleetStoreError(f"{self.url}: no run {run_id}")

    def runs(self, limit: int | None = None) -> list[RunInfo]:
        """Runs newest first (the newest ``limit``), with their outcomes counted by status."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return self._with_counts(self._db.rows(sql, params))

    def _with_counts(self, rows: list[tuple[Any, ...]]) -> list[RunInfo]:
        if not rows:
            return []
        condition, param = self._db.any_of("run_id", [int(r[0]) for r in rows])
        counts: dict[int, dict[str, int]] = {}
        for run_id, status, n in self._db.rows(
            f"SELECT run_id, status, COUNT(*) FROM scans WHERE {condition} GROUP BY run_id, status", (param,)
        ):
            counts.setdefault(int(run_id), {})[str(status)] = int(n)
        return [
            RunInfo(
                id=int(r[0]),
                kind=r[1],
                started_at=_parse_time(r[2]),
                finished_at=_parse_time(r[3]) if r[3] is not None else None,
                db_version=str(r[4]),
                engine=str(r[5]),
                images=int(r[6]),
                counts=_counts(counts.get(int(r[0]), {})),
            )
            for r in rows
        ]

    # --------------------------------------------------------------------------------------- writing

    def record(self, run_id: int, outcome: ImageOutcome, now: datetime) -> None:
        """Store one image's outcome in run ``run_id`` (one transaction, committed when this returns). A
        second outcome of the same reference in the same run replaces the first. An ``unchanged`` outcome
        carries no findings: it points at the newest scanned/matched result of its digest and database."""
        with self._transaction():
            self._record(run_id, outcome, now)

    def record_many(self, run_id: int, outcomes: Sequence[ImageOutcome], now: datetime) -> None:
        """Store several outcomes as :meth:`record` does, in one transaction (all or none): one commit, and
        on SQLite one fsync, for a batch of ``fleet rescan`` instead of one per image."""
        with self._transaction():
            for outcome in outcomes:
                self._record(run_id, outcome, now)

    def _record(self, run_id: int, outcome: ImageOutcome, now: datetime) -> None:
        if outcome.status == "unchanged" and outcome.findings:
            raise ValueError(f"{outcome.reference}: an unchanged outcome carries no findings")
        if outcome.sbom is not None and outcome.digest is None:
            raise ValueError(f"{outcome.reference}: an SBOM without the manifest digest it belongs to")
        counts = [n for _, n in outcome.by_severity]
        os_name, packages = outcome.os, outcome.packages
        findings_of = None
        if outcome.status == "unchanged":
            target = self._db.one(
                f"SELECT id, os, packages, {_SEVERITY_LIST} FROM scans "
                f"WHERE digest = ? AND db_version = ? AND status IN {_RESULT} "
                "AND NOT (run_id = ? AND reference = ?) ORDER BY run_id DESC, id DESC LIMIT 1",
                (outcome.digest, outcome.db_version, run_id, outcome.reference),
            )
            if target is None:
                raise FleetStoreError(
                    f"{self.url}: {outcome.reference} recorded as unchanged, but no result of "
                    f"{outcome.digest} with database {outcome.db_version} is stored"
                )
            findings_of = int(target[0])
            os_name = os_name or target[1]
            packages = packages or int(target[2])
            counts = [int(n) for n in target[3:]]
        if outcome.sbom is not None:
            self._db.run(
                "INSERT INTO sboms (digest, os, sbom) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE "
                "SET os = excluded.os, sbom = excluded.sbom WHERE sboms.sbom <> excluded.sbom",
                (outcome.digest, outcome.os, outcome.sbom),
            )
        columns = ("run_id", "reference", "digest", "db_version", "status", "error", "os", "packages",
                   "seconds", "recorded_at", *_SEVERITY_COLUMNS, "findings_of")  # fmt: skip
        values = (run_id, outcome.reference, outcome.digest, outcome.db_version, outcome.status,
                  outcome.error, os_name, packages, outcome.seconds, _time_text(now), *counts,
                  findings_of)  # fmt: skip
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        row = self._db.one(
            f"INSERT INTO scans ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (reference, run_id) DO UPDATE SET {updates} RETURNING id",
            values,
        )
        assert row is not None
        scan_id = int(row[0])
        self._db.run("DELETE FROM findings WHERE scan_id = ?", (scan_id,))
        if outcome.findings:
            self._db.bulk(
                "findings",
                _FINDING_COLUMNS,
                [
                    (
                        scan_id,
                        seq,
                        f.id,
                        f.type,
                        f.package,
                        f.version,
                        f.severity,
                        f.fixed_version,
                        f.status,
                    )
                    for seq, f in enumerate(outcome.findings)
                ],
            )

    # --------------------------------------------------------------------------------------- reading

    def recorded(self, run_id: int) -> dict[str, Status]:
        """Reference → status of every outcome already recorded in run ``run_id``."""
        return {
            str(r): s
            for r, s in self._db.rows("SELECT reference, status FROM scans WHERE run_id = ?", (run_id,))
        }

    def current(self, digests: Iterable[str], db_version: str) -> set[str]:
        """The ``digests`` that have a scanned or matched result with ``db_version``."""
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        condition, param = self._db.any_of("digest", wanted)
        rows = self._db.rows(
            f"SELECT DISTINCT digest FROM scans WHERE db_version = ? AND status IN {_RESULT} AND {condition}",
            (db_version, param),
        )
        return {str(r[0]) for r in rows}

    def sbom(self, digest: str) -> str | None:
        row = self._db.one("SELECT sbom FROM sboms WHERE digest = ?", (digest,))
        return str(row[0]) if row else None

    def sboms(self, digests: Iterable[str]) -> dict[str, str]:
        """digest → stored SBOM text, for those of ``digests`` that have one (one query: a rescan batch's)."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        condition, param = self._db.any_of("digest", wanted)
        return {
            str(d): str(t)
            for d, t in self._db.rows(f"SELECT digest, sbom FROM sboms WHERE {condition}", (param,))
        }

    def sbom_digests(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        condition, param = self._db.any_of("digest", wanted)
        return {str(r[0]) for r in self._db.rows(f"SELECT digest FROM sboms WHERE {condition}", (param,))}

    def latest(self, run_id: int | None = None) -> list[StoredScan]:
        """Every reference's latest outcome among runs up to ``run_id`` (None: all runs), by reference."""
        bound, params = ("", ()) if run_id is None else ("WHERE run_id <= ?", (run_id,))
        columns = ", ".join(f"s.{c}" for c in _SCAN_COLUMNS)
        sql = _LATEST.format(columns=columns, bound=bound) + " ORDER BY s.reference"
        return self._with_findings(self._db.rows(sql, params))

    def previous(self, reference: str, before_run: int) -> StoredScan | None:
        """The latest outcome of ``reference`` in a run before ``before_run``."""
        return self.previous_many([reference], before_run).get(reference)

    def previous_many(self, references: Iterable[str], before_run: int) -> dict[str, StoredScan]:
        """:meth:`previous` of many references in two queries (a rescan batch's): reference → its latest
        outcome in a run before ``before_run``; references without one are absent."""
        wanted = sorted(set(references))
        if not wanted:
            return {}
        condition, param = self._db.any_of("reference", wanted)
        columns = ", ".join(f"s.{c}" for c in _SCAN_COLUMNS)
        sql = _LATEST.format(columns=columns, bound=f"WHERE run_id < ? AND {condition}")
        return {scan.reference: scan for scan in self._with_findings(self._db.rows(sql, (before_run, param)))}

    def _with_findings(self, rows: list[tuple[Any, ...]]) -> list[StoredScan]:
        """``rows`` (of :data:`_SCAN_COLUMNS`) as StoredScans with the findings that stand for each: one
        query for all of them, read row by row. A finding found in many images (a CVE of a shared base
        layer) is one FindingRef object."""
        standing = {int(r[10]) if r[10] is not None else int(r[0]) for r in rows}
        by_scan: dict[int, tuple[FindingRef, ...]] = {}
        if standing:
            condition, param = self._db.any_of("scan_id", sorted(standing))
            found = self._db.each(
                "SELECT scan_id, vuln_id, type, package, version, severity, fixed_version, status "
                f"FROM findings WHERE {condition} ORDER BY scan_id, seq",
                (param,),
            )
            refs: dict[tuple[Any, ...], FindingRef] = {}
            interned: dict[Any, Any] = {}
            same = interned.setdefault

            def ref(row: tuple[Any, ...]) -> FindingRef:
                key = row[1:]
                made = refs.get(key)
                if made is None:  # type, severity and status: a handful of values, one object each
                    made = refs[key] = FindingRef(
                        key[0],
                        same(key[1], key[1]),
                        key[2],
                        key[3],
                        same(key[4], key[4]),
                        key[5],
                        same(key[6], key[6]),
                    )
                return made

            for scan_id, group in groupby(found, itemgetter(0)):
                by_scan[int(scan_id)] = tuple(map(ref, group))
        return [
            StoredScan(
                run_id=int(r[1]),
                reference=str(r[2]),
                status=r[3],
                digest=r[4],
                db_version=str(r[5]),
                recorded_at=_parse_time(r[6]),
                findings=by_scan.get(int(r[10]) if r[10] is not None else int(r[0]), ()),
                error=r[7],
                os=r[8],
                packages=int(r[9]),
            )
            for r in rows
        ]

    def trend(self, references: Iterable[str] | None = None) -> dict[str, list[TrendPoint]]:
        """Reference → its findings counted by severity, one point per run that recorded a result for it
        (an error has none), oldest first; only references with at least one point. One query."""
        sql = f"SELECT reference, run_id, recorded_at, {_SEVERITY_LIST} FROM scans WHERE status <> 'error'"
        params: tuple[Any, ...] = ()
        if references is not None:
            wanted = sorted(set(references))
            if not wanted:
                return {}
            condition, param = self._db.any_of("reference", wanted)
            sql += f" AND {condition}"
            params = (param,)
        trends: dict[str, list[TrendPoint]] = {}
        for reference, run_id, recorded_at, *counts in self._db.rows(
            sql + " ORDER BY reference, run_id", params
        ):
            trends.setdefault(str(reference), []).append(
                TrendPoint(
                    int(run_id),
                    _parse_time(recorded_at),
                    tuple(zip(SEVERITIES, map(int, counts), strict=True)),
                )
            )
        return trends

    def latest_sbom_digests(self) -> list[tuple[str, str]]:
        """(reference, digest) of what :meth:`latest_sboms` would stream, without the SBOM texts."""
        return [
            (str(reference), str(digest))
            for reference, digest in self._db.rows(_with_sbom("s.reference, s.digest"))
        ]

    def latest_sboms(self) -> Iterator[tuple[str, str, str]]:
        """(reference, digest, SBOM text) of every reference whose latest non-error outcome has a stored
        SBOM, by reference: what ``fleet rescan`` re-matches. Streamed on a second connection (a snapshot
        taken at the first row), so the caller may record outcomes while it reads."""
        for reference, digest, sbom in self._db.stream(
            _with_sbom("s.reference, s.digest, b.sbom"), (), STREAM_ROWS
        ):
            yield str(reference), str(digest), str(sbom)


def _counts(counts: dict[str, int]) -> tuple[tuple[Status, int], ...]:
    return tuple((s, counts.get(s, 0)) for s in STATUSES)
