"""The fleet store (``alpinist.fleet.store``) on both backends: every store test runs on an SQLite file and on a
fresh database of a real PostgreSQL server (``fleet_store_url`` in conftest, ``tests/pg_server.py``).

Pinned: what every method returns after a run is recorded; an unchanged image standing on the right findings;
re-recording replacing; which run is resumed; a recorded image surviving a SIGKILL; the refusals and their
messages; the migration mechanism (a step applied once, in a transaction); the password never shown; the order
``latest_sboms`` streams in while the caller records.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.model import Severity
from alpinist.errors import EXIT_ERROR, FleetStoreError
from alpinist.fleet.model import ImageOutcome, StoredScan
from alpinist.fleet.store import MIGRATIONS, SCHEMA_VERSION, Migration, open_store, redact
from alpinist.scan.model import FindingRef
from tests.conftest import REPO
from tests.pg_server import PgServer

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def finding(n: int, severity: Severity = "HIGH", package: str = "openssl") -> FindingRef:
    return FindingRef(f"CVE-2026-{n:04d}", "apk", package, "3.1.0-r1", severity, "3.1.1-r0", "affected")


F_A = (finding(1, "CRITICAL"), finding(2, "HIGH"), finding(3, "LOW", "zlib"))
F_B = (finding(4, "MEDIUM", "musl"),)
SBOM_1 = '{"schema": "alpinist-sbom/1", "image": "one"}'
SBOM_2 = '{"schema": "alpinist-sbom/1", "image": "two"}'


def scanned(
    reference: str, digest: str, findings: tuple[FindingRef, ...], db: str = "db1", sbom: str = SBOM_1
) -> ImageOutcome:
    return ImageOutcome(reference, "scanned", db, digest=digest, sbom=sbom, findings=findings, os="alpine 3.20.3",
                        packages=14, seconds=1.5)  # fmt: skip


def counts(scan: StoredScan) -> dict[str, int]:
    return {s: n for s, n in scan.by_severity if n}


def raw_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read a store behind the store's back (the backend's own client)."""
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url[len("sqlite://") :])) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def raw_execute(url: str, sql: str) -> None:
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url[len("sqlite://") :])) as conn:
            conn.execute(sql)
            conn.commit()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(sql)


# ------------------------------------------------------------------------------------------- round trip


def test_every_method_round_trips(fleet_store_url: str) -> None:
    """A scan run and a rescan run recorded, then read back through every reading method."""
    with open_store(fleet_store_url) as store:
        assert store.backend == ("sqlite" if fleet_store_url.startswith("sqlite") else "postgresql")
        assert store.url == fleet_store_url
        assert store.schema_version == SCHEMA_VERSION
        assert store.runs() == [] and store.latest() == [] and store.trend() == {}
        assert list(store.latest_sboms()) == []

        run1 = store.start_run("scan", "db1", "local(2)", 4, at(0))
        assert (run1.kind, run1.finished_at, run1.started_at, run1.images) == ("scan", None, at(0), 4)
        assert dict(run1.counts) == {"scanned": 0, "matched": 0, "unchanged": 0, "error": 0}
        store.record(run1.id, scanned("reg/app:1", "sha256:aa", F_A), at(1))
        store.record(run1.id, scanned("reg/app:latest", "sha256:aa", F_A), at(2))  # same digest: one SBOM
        store.record(run1.id, scanned("reg/base:2", "sha256:bb", F_B, sbom=SBOM_2), at(3))
        store.record(run1.id, ImageOutcome("reg/gone:1", "error", "db1", error="manifest unknown"), at(4))
        store.set_images(run1.id, 5)
        store.finish_run(run1.id, at(5))

        assert store.recorded(run1.id) == {
            "reg/app:1": "scanned", "reg/app:latest": "scanned", "reg/base:2": "scanned", "reg/gone:1": "error"
        }  # fmt: skip
        assert store.current(["sha256:aa", "sha256:bb", "sha256:cc"], "db1") == {"sha256:aa", "sha256:bb"}
        assert store.current(["sha256:aa"], "db2") == set()
        assert store.current([], "db1") == set()
        assert store.sbom("sha256:aa") == SBOM_1 and store.sbom("sha256:bb") == SBOM_2
        assert store.sbom("sha256:cc") is None
        assert store.sbom_digests(["sha256:aa", "sha256:cc", "sha256:bb"]) == {"sha256:aa", "sha256:bb"}
        assert raw_rows(fleet_store_url, "SELECT COUNT(*) FROM sboms") == [(2,)]

        latest = store.latest()
        assert [s.reference for s in latest] == ["reg/app:1", "reg/app:latest", "reg/base:2", "reg/gone:1"]
        app = latest[0]
        assert (app.run_id, app.status, app.digest, app.db_version, app.recorded_at) == (
            run1.id, "scanned", "sha256:aa", "db1", at(1)
        )  # fmt: skip
        assert (app.findings, app.os, app.packages, app.error) == (F_A, "alpine 3.20.3", 14, None)
        gone = latest[3]
        assert (gone.status, gone.error, gone.findings, gone.digest) == (
            "error",
            "manifest unknown",
            (),
            None,
        )

        # a rescan against db2: app re-matched (new findings), base could not be resolved this time
        run2 = store.start_run("rescan", "db2", "dask(tcp://127.0.0.1:8786)", 2, at(10))
        store.record(run2.id, ImageOutcome("reg/app:1", "matched", "db2", digest="sha256:aa", findings=F_B,
                                           os="alpine 3.20.3", packages=14), at(11))  # fmt: skip
        store.record(run2.id, ImageOutcome("reg/base:2", "error", "db2", error="manifest unknown"), at(12))
        store.finish_run(run2.id, at(13))

        assert store.current(["sha256:aa", "sha256:bb"], "db2") == {"sha256:aa"}
        now = {s.reference: s for s in store.latest()}
        assert (now["reg/app:1"].status, now["reg/app:1"].findings, now["reg/app:1"].run_id) == (
            "matched",
            F_B,
            run2.id,
        )
        assert now["reg/base:2"].status == "error"
        assert now["reg/app:latest"].run_id == run1.id  # not in run 2: its run-1 result stands
        before = {s.reference: s for s in store.latest(run1.id)}
        assert before["reg/app:1"].findings == F_A and before["reg/base:2"].status == "scanned"

        prev = store.previous("reg/app:1", run2.id)
        assert prev is not None and (prev.run_id, prev.status, prev.findings) == (run1.id, "scanned", F_A)
        assert store.previous("reg/app:1", run1.id) is None
        assert store.previous("reg/nowhere:1", run2.id) is None

        runs = store.runs()
        assert [r.id for r in runs] == [run2.id, run1.id]
        assert dict(runs[1].counts) == {"scanned": 3, "matched": 0, "unchanged": 0, "error": 1}
        assert dict(runs[0].counts) == {"scanned": 0, "matched": 1, "unchanged": 0, "error": 1}
        assert (runs[1].images, runs[1].finished_at, runs[1].engine) == (5, at(5), "local(2)")
        assert (runs[0].kind, runs[0].db_version, runs[0].started_at) == ("rescan", "db2", at(10))
        assert [r.id for r in store.runs(limit=1)] == [run2.id]

        trend = store.trend()
        assert list(trend) == ["reg/app:1", "reg/app:latest", "reg/base:2"]  # gone: only an error, no point
        points = trend["reg/app:1"]
        assert [(p.run_id, p.recorded_at) for p in points] == [(run1.id, at(1)), (run2.id, at(11))]
        assert [dict(p.by_severity) for p in points] == [
            {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "NEGLIGIBLE": 0, "UNKNOWN": 0},
            {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 1, "LOW": 0, "NEGLIGIBLE": 0, "UNKNOWN": 0},
        ]
        assert [p.run_id for p in trend["reg/base:2"]] == [run1.id]  # the run-2 error adds no point
        assert list(store.trend(["reg/base:2", "reg/nowhere"])) == ["reg/base:2"]
        assert store.trend([]) == {}

        # base's latest is an error (no digest): its latest non-error outcome (run 1) gives the SBOM; gone has none
        assert list(store.latest_sboms()) == [
            ("reg/app:1", "sha256:aa", SBOM_1), ("reg/app:latest", "sha256:aa", SBOM_1), ("reg/base:2", "sha256:bb", SBOM_2)
        ]  # fmt: skip


def test_unchanged_stands_on_the_newest_result_of_its_digest_and_database(fleet_store_url: str) -> None:
    """An unchanged image shows the findings (and counts, os, packages) of the newest scanned or matched result
    of the same digest at the same database version, whichever reference recorded it; none stored: refused."""
    with open_store(fleet_store_url) as store:
        r1 = store.start_run("scan", "db1", "local(1)", 1, at(0))
        store.record(r1.id, scanned("reg/app:1", "sha256:aa", F_A), at(1))
        store.finish_run(r1.id, at(2))
        r2 = store.start_run("rescan", "db2", "local(1)", 1, at(3))
        store.record(r2.id, ImageOutcome("reg/app:1", "matched", "db2", digest="sha256:aa", findings=F_B,
                                         os="alpine 3.20.3", packages=20), at(4))  # fmt: skip
        store.finish_run(r2.id, at(5))
        r3 = store.start_run("scan", "db2", "local(1)", 3, at(6))
        f_c = (finding(5, "UNKNOWN"),)  # the same digest pulled under another tag: a newer db2 result
        store.record(r3.id, scanned("reg/app:pulled", "sha256:aa", f_c, db="db2"), at(7))
        # same digest, nothing pulled: they stand on that newest db2 result, not run 2's, not run 1's db1
        store.record(r3.id, ImageOutcome("reg/app:copy", "unchanged", "db2", digest="sha256:aa"), at(8))
        store.record(r3.id, ImageOutcome("reg/app:1", "unchanged", "db2", digest="sha256:aa"), at(9))
        latest = {s.reference: s for s in store.latest()}
        for ref in ("reg/app:copy", "reg/app:1"):
            assert (latest[ref].status, latest[ref].run_id, latest[ref].findings) == ("unchanged", r3.id, f_c)
        assert (latest["reg/app:copy"].os, latest["reg/app:copy"].packages) == ("alpine 3.20.3", 14)
        assert counts(latest["reg/app:copy"]) == {"UNKNOWN": 1}
        assert dict(store.trend(["reg/app:copy"])["reg/app:copy"][0].by_severity)["UNKNOWN"] == 1
        assert raw_rows(fleet_store_url, "SELECT COUNT(*) FROM findings") == [
            (len(F_A) + len(F_B) + len(f_c),)
        ]  # not copied
        assert store.current(["sha256:aa"], "db2") == {"sha256:aa"}
        prev = store.previous("reg/app:1", r3.id)
        assert prev is not None and (prev.status, prev.findings) == ("matched", F_B)

        with pytest.raises(FleetStoreError) as refused:
            store.record(r3.id, ImageOutcome("reg/new:1", "unchanged", "db2", digest="sha256:ff"), at(10))
        assert str(refused.value) == (
            f"{store.url}: reg/new:1 recorded as unchanged, but no result of sha256:ff with database db2 is stored"
        )
        assert "reg/new:1" not in store.recorded(r3.id)  # rolled back
        with pytest.raises(ValueError, match="carries no findings"):
            store.record(
                r3.id, ImageOutcome("reg/x", "unchanged", "db2", digest="sha256:aa", findings=F_A), at(9)
            )


def test_recording_a_reference_twice_in_a_run_replaces_the_first(fleet_store_url: str) -> None:
    """The second outcome of one reference in one run replaces the first: status, findings, counts, SBOM kept."""
    with open_store(fleet_store_url) as store:
        run = store.start_run("scan", "db1", "local(1)", 1, at(0))
        store.record(run.id, scanned("reg/app:1", "sha256:aa", F_A), at(1))
        store.record(run.id, scanned("reg/app:1", "sha256:aa", F_B), at(2))
        [only] = store.latest()
        assert (only.findings, only.recorded_at) == (F_B, at(2))
        store.record(run.id, ImageOutcome("reg/app:1", "error", "db1", error="reset by peer"), at(3))
        [only] = store.latest()
        assert (only.status, only.error, only.findings, only.digest) == ("error", "reset by peer", (), None)
        assert store.recorded(run.id) == {"reg/app:1": "error"}
        assert dict(store.runs()[0].counts)["error"] == 1 and dict(store.runs()[0].counts)["scanned"] == 0
        assert raw_rows(fleet_store_url, "SELECT COUNT(*) FROM findings") == [(0,)]
        assert store.trend() == {}
        assert store.sbom("sha256:aa") == SBOM_1  # the SBOM belongs to the digest, not to the outcome


def test_record_many_is_all_or_none(fleet_store_url: str) -> None:
    """A batch is one transaction: recorded whole, or (one outcome refused) not at all, nothing half-written."""
    with open_store(fleet_store_url) as store:
        run = store.start_run("rescan", "db1", "local(1)", 3, at(0))
        store.record_many(
            run.id, [scanned("reg/a:1", "sha256:aa", F_A), scanned("reg/b:1", "sha256:bb", F_B)], at(1)
        )
        assert store.recorded(run.id) == {"reg/a:1": "scanned", "reg/b:1": "scanned"}
        orphan = ImageOutcome(
            "reg/c:1", "unchanged", "db1", digest="sha256:cc"
        )  # no result of cc to stand on
        with pytest.raises(FleetStoreError, match="recorded as unchanged"):
            store.record_many(run.id, [scanned("reg/d:1", "sha256:dd", F_A), orphan], at(2))
        assert store.recorded(run.id) == {"reg/a:1": "scanned", "reg/b:1": "scanned"}
        assert store.sbom("sha256:dd") is None


def test_resumable_is_the_newest_run_of_its_kind_when_killed_with_the_same_database(
    fleet_store_url: str,
) -> None:
    """resumable: the newest scan (or rescan) run, unfinished, same db_version; a finished newer run, another
    database or another kind is not resumed; the resumed run's counts say what it did so far."""
    with open_store(fleet_store_url) as store:
        assert store.resumable("scan", "db1") is None
        killed = store.start_run("scan", "db1", "local(2)", 3, at(0))
        store.record(killed.id, scanned("reg/app:1", "sha256:aa", F_A), at(1))
        store.start_run("rescan", "db1", "local(2)", 3, at(2))  # another kind, also killed
        found = store.resumable("scan", "db1")
        assert found is not None and found.id == killed.id and dict(found.counts)["scanned"] == 1
        assert store.resumable("scan", "db2") is None  # the database moved on: start afresh
        rescan = store.resumable("rescan", "db1")
        assert rescan is not None and rescan.id != killed.id
        store.set_images(killed.id, 7)
        found = store.resumable("scan", "db1")
        assert found is not None and found.images == 7
        store.finish_run(killed.id, at(3))
        assert store.resumable("scan", "db1") is None
        older_killed = store.start_run("scan", "db1", "local(2)", 3, at(4))
        newer = store.start_run("scan", "db1", "local(2)", 3, at(5))
        store.finish_run(newer.id, at(6))
        assert store.resumable("scan", "db1") is None, f"run {older_killed.id} was superseded by {newer.id}"
        with pytest.raises(FleetStoreError, match=r": no run 999$"):
            store.finish_run(999, at(7))


_KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from alpinist.fleet.model import ImageOutcome
from alpinist.fleet.store import open_store
from alpinist.scan.model import FindingRef

store = open_store(sys.argv[1])
run = store.start_run("scan", "db1", "local(1)", 2, datetime.now(UTC))
findings = (FindingRef("CVE-2026-0001", "apk", "openssl", "3.1.0-r1", "CRITICAL"),)
store.record(run.id, ImageOutcome("reg/app:1", "scanned", "db1", digest="sha256:aa", sbom="{}",
                                  findings=findings), datetime.now(UTC))
print(run.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_recorded_image_survives_a_sigkill_right_after(fleet_store_url: str) -> None:
    """record() is durable when it returns: a writer killed right after it (no close, no exit handlers) leaves
    the image recorded, its findings and SBOM there, and the run resumable."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, fleet_store_url], capture_output=True,
                          text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    run_id = int(done.stdout)
    with open_store(fleet_store_url) as store:
        assert store.recorded(run_id) == {"reg/app:1": "scanned"}
        [scan] = store.latest()
        assert [f.id for f in scan.findings] == ["CVE-2026-0001"]
        assert store.sbom("sha256:aa") == "{}"
        resumed = store.resumable("scan", "db1")
        assert resumed is not None and resumed.id == run_id


# ------------------------------------------------------------------------------------------------ refusals


def test_a_url_of_another_scheme_is_refused_naming_the_accepted_ones() -> None:
    with pytest.raises(FleetStoreError) as refused:
        open_store("mysql://bob:hunter2@db.example/fleet")
    assert str(refused.value) == (
        "mysql://bob:***@db.example/fleet: unsupported store URL scheme 'mysql'; give sqlite:///ABSOLUTE/PATH, "
        "sqlite:RELATIVE/PATH, a file path, or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (postgres:// too)"
    )
    assert refused.value.exit_code == EXIT_ERROR
    with pytest.raises(FleetStoreError, match=r"^sqlite://host/x\.db: an SQLite store URL has no host"):
        open_store("sqlite://host/x.db")


def test_sqlite_url_forms_open_the_file_they_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///ABS, sqlite:REL, and a bare path (created with its directories) name the same kind of store."""
    monkeypatch.chdir(tmp_path)
    for url, made in [
        (f"sqlite://{tmp_path}/abs.db", tmp_path / "abs.db"),
        ("sqlite:rel/dir/rel.db", tmp_path / "rel" / "dir" / "rel.db"),
        ("bare.db", tmp_path / "bare.db"),
        (str(tmp_path / "sub" / "bare-abs.db"), tmp_path / "sub" / "bare-abs.db"),
    ]:
        with open_store(url) as store:
            assert store.backend == "sqlite" and store.url == url
            store.start_run("scan", "db1", "local(1)", 0, at(0))
        assert made.is_file(), url
        assert raw_rows(f"sqlite://{made}", "PRAGMA journal_mode") == [("wal",)]
        with open_store(url) as store:
            assert len(store.runs()) == 1  # the same file again


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages of an SQLite database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(FleetStoreError) as refused:
        open_store(f"sqlite://{path}")
    assert (
        str(refused.value)
        == f"sqlite://{path}: not an alpinist fleet store (not an SQLite database, or damaged)"
    )
    assert path.read_bytes() == before


def test_alpinists_other_sqlite_databases_are_refused_and_left_alone(tmp_path: Path) -> None:
    """The advisory database and the history store (both with a meta table) and another program's database."""
    from alpinist.advisories.store import StoreWriter
    from alpinist.history.store import HistoryStore

    advisories = tmp_path / "advisories.db"
    StoreWriter(advisories).close()
    HistoryStore.open(tmp_path / "history.db").close()
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE invoices (id INTEGER)")
    other.commit()
    other.close()
    for name, reason in [
        ("advisories.db", "its application is 'alpinist-advisories'"),
        ("history.db", "its application is 'alpinist-history'"),
        ("other.db", "a database with the tables invoices"),
    ]:
        path = tmp_path / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(FleetStoreError) as refused:
            open_store(str(path))
        assert str(refused.value) == f"{path}: not an alpinist fleet store ({reason})"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{name} was changed"
    assert raw_rows(f"sqlite://{advisories}", "PRAGMA journal_mode") != [("wal",)]


def test_a_postgresql_database_of_another_program_is_refused(pg_server: PgServer) -> None:
    name = pg_server.create_database()
    try:
        url = pg_server.url(name)
        raw_execute(url, "CREATE TABLE invoices (id INTEGER)")
        with pytest.raises(FleetStoreError) as refused:
            open_store(url)
        assert (
            str(refused.value) == f"{url}: not an alpinist fleet store (a database with the tables invoices)"
        )
        assert raw_rows(
            url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ) == [("invoices",)]
    finally:
        pg_server.drop_database(name)


def test_a_store_made_by_a_newer_alpinist_is_refused(fleet_store_url: str) -> None:
    newer = (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, ("CREATE TABLE later (x INTEGER)",)))
    open_store(fleet_store_url, migrations=newer).close()
    with pytest.raises(FleetStoreError) as refused:
        open_store(fleet_store_url)
    assert str(refused.value) == (
        f"{fleet_store_url}: made by a newer alpinist (schema {SCHEMA_VERSION + 1}, this one knows "
        f"{SCHEMA_VERSION}); use that alpinist, or another store"
    )


def test_an_unreachable_server_is_one_line_with_host_port_and_reason_never_the_password() -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://alice:s3cr3t-pw@127.0.0.1:{port}/fleet?sslmode=disable"
    with pytest.raises(FleetStoreError) as refused:
        open_store(url)
    message = str(refused.value)
    prefix = (
        f"postgresql://alice:***@127.0.0.1:{port}/fleet?sslmode=disable: "
        f"cannot connect to the PostgreSQL server at 127.0.0.1:{port}: "
    )
    assert message.startswith(prefix), message
    assert "Connection refused" in message[len(prefix) :]
    assert "\n" not in message and "s3cr3t-pw" not in message


def test_the_password_is_never_in_the_url_shown(pg_server: PgServer) -> None:
    """Trust authentication ignores the password, so the store opens: its url shows *** in its place."""
    name = pg_server.create_database()
    try:
        url = pg_server.url(name, password="s3cr3t:pw")
        with open_store(url) as store:
            assert store.url == f"postgresql://postgres:***@127.0.0.1:{pg_server.port}/{name}"
            assert store.backend == "postgresql"
        postgres_scheme = url.replace("postgresql://", "postgres://") + "?sslmode=disable&password=other"
        with open_store(postgres_scheme) as store:
            assert (
                store.url
                == f"postgres://postgres:***@127.0.0.1:{pg_server.port}/{name}?sslmode=disable&password=***"
            )
    finally:
        pg_server.drop_database(name)
    assert (
        redact("postgresql://u@h/db?password=x&sslmode=require")
        == "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert redact("postgresql://h/db") == "postgresql://h/db"


# ------------------------------------------------------------------------------------------------ migrations

_NOTES = Migration(
    SCHEMA_VERSION + 1,
    (
        "CREATE TABLE notes (id {id}, text TEXT NOT NULL)",
        "INSERT INTO notes (text) VALUES ('added by step 2')",
    ),
)


def test_a_new_migration_step_is_applied_once_and_keeps_the_data(fleet_store_url: str) -> None:
    with open_store(fleet_store_url) as store:
        run = store.start_run("scan", "db1", "local(1)", 1, at(0))
        store.record(run.id, scanned("reg/app:1", "sha256:aa", F_A), at(1))
    for _ in range(2):
        with open_store(fleet_store_url, migrations=(*MIGRATIONS, _NOTES)) as store:
            assert store.schema_version == SCHEMA_VERSION + 1
            assert store.latest()[0].findings == F_A
    assert raw_rows(fleet_store_url, "SELECT text FROM notes") == [("added by step 2",)]
    assert raw_rows(fleet_store_url, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION + 1),)
    ]


def test_a_failing_migration_step_leaves_the_store_as_it_was(fleet_store_url: str) -> None:
    """A step whose second statement fails: its first statement is undone and the version stays (one
    transaction); the same step, fixed, then applies cleanly (so its table was not left behind)."""
    open_store(fleet_store_url).close()
    broken = Migration(SCHEMA_VERSION + 1, (_NOTES.statements[0], "INSERT INTO no_such_table VALUES (1)"))
    with pytest.raises(FleetStoreError, match="no_such_table"):
        open_store(fleet_store_url, migrations=(*MIGRATIONS, broken))
    with open_store(fleet_store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
    with open_store(fleet_store_url, migrations=(*MIGRATIONS, _NOTES)) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="1, 2, 3"):
        open_store(fleet_store_url, migrations=(*MIGRATIONS, Migration(SCHEMA_VERSION + 5, ())))


# ---------------------------------------------------------------------------------------------- streaming


def test_latest_sboms_streams_by_reference_while_the_caller_records(fleet_store_url: str) -> None:
    """Many references recorded out of order come back sorted (code point order on both backends), each with
    its latest non-error outcome's SBOM; recording a rescan between rows (what fleet rescan does) works and
    does not change what the stream returns."""
    refs = [f"reg/img-{i:03d}:{tag}" for i in range(150) for tag in ("b", "a", "B")]
    refs.append("reg/Ünïcode:1")
    order = sorted(refs, key=lambda r: hashlib.sha256(r.encode()).hexdigest())  # not sorted
    with open_store(fleet_store_url) as store:
        run = store.start_run("scan", "db1", "local(2)", len(refs), at(0))
        for n, ref in enumerate(order):
            digest = f"sha256:{hashlib.sha256(ref.encode()).hexdigest()}"
            store.record(run.id, scanned(ref, digest, (), sbom=f'{{"n": {n}}}'), at(1))
        rescan = store.start_run("rescan", "db2", "local(2)", len(refs), at(2))
        seen = []
        for ref, digest, sbom in store.latest_sboms():
            seen.append(ref)
            assert sbom == f'{{"n": {order.index(ref)}}}'
            store.record(rescan.id, ImageOutcome(ref, "error", "db2", digest=digest, error="broken"), at(3))
        assert seen == sorted(refs)  # by code point: "B" < "a" < "b", "Ü" after ASCII
        assert len(store.recorded(rescan.id)) == len(refs)
        # every latest outcome is now an error: the run-1 scans still give the SBOMs
        assert [r for r, _, _ in store.latest_sboms()] == sorted(refs)


def test_batch_reads_answer_as_the_single_ones(fleet_store_url: str) -> None:
    """previous_many, sboms and latest_sbom_digests say what previous, sbom and latest_sboms say, in one query."""
    with open_store(fleet_store_url) as store:
        first = store.start_run("scan", "db1", "local(1)", 2, at(0))
        store.record(first.id, scanned("reg/a:1", "sha256:aa", F_A), at(1))
        store.record(first.id, scanned("reg/b:1", "sha256:bb", F_B), at(2))
        second = store.start_run("rescan", "db2", "local(1)", 2, at(3))
        store.record(
            second.id, ImageOutcome("reg/a:1", "matched", "db2", digest="sha256:aa", findings=F_B), at(4)
        )
        refs = ["reg/a:1", "reg/b:1", "reg/none:1"]
        for run in (first.id, second.id, second.id + 1):
            many = store.previous_many(refs, run)
            assert many == {r: p for r in refs if (p := store.previous(r, run)) is not None}
        assert store.previous_many(refs, second.id + 1)["reg/a:1"].findings == F_B
        assert store.sboms(["sha256:aa", "sha256:bb", "sha256:zz"]) == {
            d: t for d in ("sha256:aa", "sha256:bb") if (t := store.sbom(d)) is not None
        }
        assert store.latest_sbom_digests() == [(r, d) for r, d, _ in store.latest_sboms()]


def test_a_reader_refuses_a_store_that_is_not_there(fleet_store_url: str) -> None:
    """create=False (fleet report): an empty database or a missing SQLite file is an error, not a new store;
    once a writer made it, the reader opens it."""
    with pytest.raises(FleetStoreError, match="no fleet store there"):
        open_store(fleet_store_url, create=False)
    open_store(fleet_store_url).close()
    with open_store(fleet_store_url, create=False) as store:
        assert store.runs() == []
