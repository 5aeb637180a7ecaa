"""Atomic updates: partial updates keep the other feeds, failures and kills leave the old database byte for
byte, concurrent updates serialize on the lock, readers see the old file until the rename; export/import.

The crash and lock tests run the update in a separate Python process (``python -m tests.store_records``)
whose checkpoint hook SIGKILLs it, or pauses it until the test creates a file, at a named step.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alpinist.advisories.store import Store
from alpinist.advisories.update import export_db, import_db, update
from alpinist.errors import DatabaseError, FeedError
from tests import store_records as rec
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (the fixture)

OSV_ZIP = "/osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"

REPO = Path(__file__).resolve().parent.parent
WAIT = 60.0  # generous upper bound for a subprocess to reach a step; never a measured duration


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(db: Path) -> list[str]:
    return sorted(
        p.name
        for p in db.parent.iterdir()
        if p.name.startswith(db.name + ".") and p.name != db.name + ".lock"
    )


def contents(db: Path) -> dict[str, list[str]]:
    """The ids per feed in a database, for telling version 1 from version 2."""
    with Store.open(db) as store:
        conn = store._conn
        out: dict[str, list[str]] = {}
        for source, vuln_id in conn.execute(
            "SELECT source, vuln_id FROM affected UNION SELECT feed, id FROM vulnerabilities ORDER BY 1, 2"
        ):
            out.setdefault(source, []).append(vuln_id)
        return out


def integrity(db: Path) -> str:
    with Store.open(db) as store:
        return str(store._conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture(scope="module")
def v1_and_v2(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    base = tmp_path_factory.mktemp("versions")
    update(base / "v1.db", rec.sources(1), None)
    update(base / "v2.db", rec.sources(2), None)
    return contents(base / "v1.db"), contents(base / "v2.db")


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "advisories.db"
    update(db, rec.sources(1), None)
    return db


def test_versions_differ_in_every_feed(v1_and_v2: tuple[dict[str, list[str]], dict[str, list[str]]]) -> None:
    v1, v2 = v1_and_v2
    # by hand: version 2 adds CVE-2024-6119 (alpine), CVE-2024-4603 (debian), PYSEC-2014-8 (osv), CVE-2024-3094 (nvd)
    assert {name: sorted(set(v2[name]) - set(v1[name])) for name in rec.SOURCE_ORDER} == {
        "alpine": ["CVE-2024-6119"],
        "debian": ["CVE-2024-4603"],
        "osv": ["PYSEC-2014-8"],
        "nvd": ["CVE-2024-3094"],
    }


def test_update_of_one_source_keeps_the_others(old_db: Path) -> None:
    with Store.open(old_db) as store:
        before = {s.name: s for s in store.status()}
        debian_rows = store.affected("debian:bookworm", "openssl")
    report = update(old_db, rec.sources(2), None, only=["alpine"])
    assert [s.name for s in report.sources] == ["alpine"]
    assert report.sources[0].records == 8 and report.sources[0].affected_rows == 8
    with Store.open(old_db) as store:
        after = {s.name: s for s in store.status()}
        assert [a.vuln_id for a in store.affected("alpine:3.20", "openssl")][-1] == "CVE-2024-6119"
        assert store.affected("debian:bookworm", "openssl") == debian_rows  # still version 1
        assert store.vulnerability("CVE-2024-3094") is None  # nvd still version 1
    assert after["alpine"].updated_at > before["alpine"].updated_at
    for name in ("debian", "osv", "nvd"):
        assert after[name].updated_at == before[name].updated_at
        assert after[name].records == before[name].records
    assert leftovers(old_db) == []


def test_first_update_of_some_sources(tmp_path: Path) -> None:
    db = tmp_path / "new" / "advisories.db"
    update(db, rec.sources(1), None, only=["osv", "nvd"])
    with Store.open(db) as store:
        assert [s.name for s in store.status()] == ["nvd", "osv"]


def test_replacing_a_source_drops_rows_it_no_longer_has(old_db: Path) -> None:
    shrunk = rec.sources(1)
    shrunk["debian"] = rec.FakeSource("debian", [rec.FeedBatch(affected=(rec.DEBIAN_V1[0],))])
    update(old_db, shrunk, None, only=["debian"])
    assert contents(old_db)["debian"] == ["CVE-2022-37434"]


def test_an_empty_feed_is_accepted(old_db: Path) -> None:
    empty = {"osv": rec.FakeSource("osv", [])}
    report = update(old_db, empty, None)
    assert report.sources[0].records == 0
    with Store.open(old_db) as store:
        assert {s.name: s.records for s in store.status()}["osv"] == 0
        assert store.affected("pypi", "jinja2") == []


def test_incremental_source_gets_its_cursor_and_replaces_by_id(old_db: Path) -> None:
    with Store.open(old_db) as store:
        cursor = store.source_cursor("nvd")
    assert cursor is not None
    newer = rec.Vulnerability(
        "CVE-2022-37434",
        modified="2026-01-01T00:00:00.000",
        cvss=(
            rec.CvssScore(
                "4.0",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
                "CRITICAL",
                "x@y",
                False,
            ),
        ),
    )
    nvd = rec.FakeSource("nvd", [rec.FeedBatch(vulnerabilities=(newer, rec.CVE_2024_3094))])
    report = update(old_db, {"nvd": nvd}, None)
    assert nvd.seen_since == [cursor]
    assert report.sources[0].incremental is True
    with Store.open(old_db) as store:
        # kept: CVE-2020-28493 (not in the delta); replaced: CVE-2022-37434; added: CVE-2024-3094
        assert store.vulnerability("CVE-2020-28493") is not None
        modified = store.vulnerability("CVE-2022-37434")
        assert modified is not None and [c.base_score for c in modified.cvss] == [9.3]
        assert {s.name: s.records for s in store.status()}["nvd"] == 3
        new_cursor = store.source_cursor("nvd")
    assert new_cursor is not None and new_cursor >= cursor


def test_not_incremental_source_is_given_no_cursor(old_db: Path) -> None:
    sources = rec.sources(2)
    update(old_db, sources, None, only=["alpine"])
    assert sources["alpine"].seen_since == [None]


def test_stale_files_of_a_database_with_glob_characters_in_its_name(tmp_path: Path) -> None:
    db = tmp_path / "adv[1].db"
    update(db, rec.sources(1), None)
    stale = [tmp_path / "adv[1].db.new-999999", tmp_path / "adv[1].db.download-999999"]
    stale[0].write_bytes(b"partial")
    stale[1].mkdir()
    unrelated = tmp_path / "adv1.db.new-999999"  # what an unescaped [1] would match
    unrelated.write_bytes(b"not ours")
    update(db, rec.sources(2), None)
    assert not any(p.exists() for p in stale)
    assert unrelated.exists()


def test_unknown_source_name(old_db: Path) -> None:
    with pytest.raises(
        DatabaseError, match=r"unknown advisory source redhat \(known: alpine, debian, osv, nvd\)"
    ):
        update(old_db, rec.sources(2), None, only=["redhat"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"debian": {"fail_at": 1}},  # parse error in the middle of the second source
        {"nvd": {"fail_at": 0}},  # parse error at the start of the last source
    ],
    ids=["parse-mid-source", "parse-last-source"],
)
def test_a_failing_feed_leaves_the_old_database(
    old_db: Path, overrides: dict[str, dict[str, object]]
) -> None:
    before = sha256(old_db)
    with pytest.raises(FeedError):
        update(old_db, rec.sources(2, **overrides), None)  # type: ignore[arg-type]
    assert sha256(old_db) == before
    assert leftovers(old_db) == []
    assert integrity(old_db) == "ok"


def test_a_feed_server_answering_503_leaves_the_old_database(old_db: Path, feed_server: FeedServer) -> None:
    """A download error: the real OSV source and fetcher against the loopback feed server, which answers
    every request for the OSV archive with a real HTTP 503 (Retry-After: 0, so the retries do not sleep)."""
    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources

    feed_server.fail(503, times=100, path=OSV_ZIP, headers={"Retry-After": "0"})
    sources = {**rec.sources(2), "osv": all_sources()["osv"]}
    before = sha256(old_db)
    with Fetcher(mirror=feed_server.url) as fetcher, pytest.raises(FeedError) as info:
        update(old_db, sources, fetcher)
    assert info.value.where == f"{feed_server.url}{OSV_ZIP}"
    assert info.value.reason == "HTTP 503 Service Unavailable (gave up after 5 attempts)"
    assert len(feed_server.requests_to(OSV_ZIP)) == 5  # retried, then given up
    assert sha256(old_db) == before
    assert leftovers(old_db) == []
    assert integrity(old_db) == "ok"


def test_keyboard_interrupt_leaves_the_old_database(old_db: Path) -> None:
    class Interrupted(rec.FakeSource):
        def parse(self, files: list[Path]):  # type: ignore[no-untyped-def]
            yield from self.feed[:1]
            raise KeyboardInterrupt

    sources = rec.sources(2)
    sources["debian"] = Interrupted("debian", rec.batches("debian", 2))
    before = sha256(old_db)
    with pytest.raises(KeyboardInterrupt):
        update(old_db, sources, None)
    assert sha256(old_db) == before
    assert leftovers(old_db) == []


def test_a_database_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "advisories.db"
    db.write_bytes(b"not a database at all\n" * 50)
    before = sha256(db)
    with pytest.raises(DatabaseError, match=r"file is not a database .*; refusing to replace"):
        update(db, rec.sources(2), None, only=["alpine"])
    assert sha256(db) == before
    # nor does a full update replace it: it may be someone's file behind a mistyped --db
    with pytest.raises(DatabaseError, match="refusing to replace a file that is not an alpinist"):
        update(db, rec.sources(2), None)
    assert sha256(db) == before


def test_another_applications_sqlite_file_is_never_replaced(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "notes.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('precious')")
    conn.commit()
    conn.close()
    before = sha256(db)
    with pytest.raises(DatabaseError, match="not an alpinist advisory database"):
        update(db, rec.sources(2), None)
    assert sha256(db) == before


def test_a_full_update_rebuilds_an_alpinist_database_of_another_schema(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "advisories.db"
    update(db, rec.sources(1), None)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="for all sources"):
        update(db, rec.sources(2), None, only=["alpine"])
    update(db, rec.sources(2), None)
    assert integrity(db) == "ok"
    assert len(contents(db)) == 4


# --------------------------------------------------------------------------- separate processes


def runner(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.store_records", str(db), *args]


def start(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        runner(db, *args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_line(log: Path, line: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if log.exists() and line in log.read_text(encoding="utf-8").splitlines():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"process ended ({proc.returncode}) before {line!r}: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.02)
    raise AssertionError(f"{line!r} never appeared in {log}")


# (kill point, which database must be there afterwards). "inserting:N" is the Nth batch inserted. The old
# database has an nvd cursor, so nvd (incremental) is loaded first: nvd batches 1-2, then alpine 3-6,
# debian 7-8, osv 9-10 (version 2 has two rows per batch).
KILL_POINTS = [
    ("locked", "old"),
    ("downloaded", "old"),
    ("inserting:1", "old"),
    ("inserting:6", "old"),
    ("checked", "old"),
    ("replaced", "new"),
]


@pytest.mark.parametrize(("point", "expect"), KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_killed_update_leaves_old_or_new_database(
    old_db: Path, point: str, expect: str, v1_and_v2: tuple[dict[str, list[str]], dict[str, list[str]]]
) -> None:
    v1, v2 = v1_and_v2
    before = sha256(old_db)
    done = subprocess.run(
        runner(old_db, "--kill-at", point), cwd=REPO, capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == -signal.SIGKILL, done.stderr  # it really was killed there
    assert integrity(old_db) == "ok"
    if expect == "old":
        assert sha256(old_db) == before
        assert contents(old_db) == v1
    else:
        assert contents(old_db) == v2
    if point in ("inserting:1", "inserting:6", "checked"):
        assert any(
            name.startswith("advisories.db.new-") for name in leftovers(old_db)
        )  # the killed run's copy
    # the next update succeeds and cleans what the killed one left
    update(old_db, rec.sources(2), None)
    assert contents(old_db) == v2
    assert leftovers(old_db) == []


def test_two_concurrent_updates_serialize_on_the_lock(
    old_db: Path, tmp_path: Path, v1_and_v2: tuple[dict[str, list[str]], dict[str, list[str]]]
) -> None:
    log, go = tmp_path / "steps.log", tmp_path / "go"
    first = start(old_db, "--tag", "A", "--log", str(log), "--pause-at", "downloaded", "--go", str(go))
    try:
        wait_for_line(log, "A downloaded", first)  # A holds the lock and waits
        # a third update that will not wait gives up with a clear message, touching nothing
        impatient = subprocess.run(
            runner(old_db, "--tag", "C", "--lock-timeout", "0"),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
        assert impatient.returncode == 1
        assert "another update or import holds" in impatient.stderr and "--lock-timeout" in impatient.stderr
        second = start(old_db, "--tag", "B", "--log", str(log), "--version", "1")
        wait_for_line(log, "B lock-busy", second)  # B found the lock taken and is waiting for it
        go.touch()
        assert first.wait(WAIT) == 0, first.stderr.read() if first.stderr else ""
        assert second.wait(WAIT) == 0, second.stderr.read() if second.stderr else ""
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
    steps = [
        line
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.split()[1] in ("locked", "replaced", "lock-busy")
    ]
    # B found the lock taken while A was paused, and took it only after A had installed its database
    assert steps == ["A locked", "B lock-busy", "A replaced", "B locked", "B replaced"]
    assert integrity(old_db) == "ok"
    # B (version 1) ran last: the feeds replaced whole are at version 1; nvd is incremental, so B's records
    # were merged by id into A's and CVE-2024-3094 (only in version 2) stays
    v1, v2 = v1_and_v2
    assert contents(old_db) == {**v1, "nvd": v2["nvd"]}
    assert leftovers(old_db) == []


def test_readers_see_the_old_database_until_the_rename(
    old_db: Path, tmp_path: Path, v1_and_v2: tuple[dict[str, list[str]], dict[str, list[str]]]
) -> None:
    v1, v2 = v1_and_v2
    log, go = tmp_path / "steps.log", tmp_path / "go"
    early = Store.open(old_db)
    proc = start(old_db, "--tag", "U", "--log", str(log), "--pause-at", "checked", "--go", str(go))
    try:
        wait_for_line(log, "U checked", proc)  # the new database is complete and checked, not yet renamed
        assert contents(old_db) == v1
        with Store.open(old_db) as during:
            assert during.vulnerability("CVE-2024-3094") is None
            go.touch()
            assert proc.wait(WAIT) == 0
            # a reader that opened the old file keeps reading it after the rename
            assert during.vulnerability("CVE-2024-3094") is None
            assert len(during.affected("alpine:3.20", "openssl")) == 3
        assert early.vulnerability("CVE-2024-3094") is None
    finally:
        early.close()
        if proc.poll() is None:
            proc.kill()
    assert contents(old_db) == v2


def test_the_lock_is_released_when_its_holder_is_killed(old_db: Path, tmp_path: Path) -> None:
    log, go = tmp_path / "steps.log", tmp_path / "never"
    proc = start(old_db, "--tag", "A", "--log", str(log), "--pause-at", "downloaded", "--go", str(go))
    wait_for_line(log, "A downloaded", proc)
    with pytest.raises(DatabaseError, match="another update or import holds"):
        update(old_db, rec.sources(2), None, lock_timeout=0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(WAIT)
    update(old_db, rec.sources(2), None, lock_timeout=WAIT)
    assert integrity(old_db) == "ok"


def test_an_update_waiting_for_the_lock_proceeds_when_the_holder_is_killed(
    old_db: Path, tmp_path: Path, v1_and_v2: tuple[dict[str, list[str]], dict[str, list[str]]]
) -> None:
    """The holder is SIGKILLed while another update is already blocked in flock (no timeout): the kernel
    releases the lock, the waiter takes it, removes what the killed one left and installs its database."""
    log, never = tmp_path / "steps.log", tmp_path / "never"
    holder = start(old_db, "--tag", "A", "--log", str(log), "--pause-at", "downloaded", "--go", str(never))
    waiter: subprocess.Popen[str] | None = None
    try:
        wait_for_line(log, "A downloaded", holder)  # A holds the lock, its downloads beside the database
        waiter = start(old_db, "--tag", "B", "--log", str(log))
        wait_for_line(log, "B lock-busy", waiter)  # B found it taken and waits in flock
        assert any(".download-" in name for name in leftovers(old_db))
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(WAIT) == -signal.SIGKILL
        assert waiter.wait(WAIT) == 0, waiter.stderr.read() if waiter.stderr else ""
    finally:
        for proc in (holder, waiter):
            if proc is not None and proc.poll() is None:
                proc.kill()
    steps = log.read_text(encoding="utf-8").splitlines()
    assert [line for line in steps if line.split()[1] in ("locked", "lock-busy", "replaced")] == [
        "A locked",
        "B lock-busy",
        "B locked",
        "B replaced",
    ]
    assert contents(old_db) == v1_and_v2[1]  # B's database (version 2) installed
    assert integrity(old_db) == "ok"
    assert leftovers(old_db) == []  # A's downloads removed by B


# --------------------------------------------------------------------------- export / import


def test_export_then_import_elsewhere(old_db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "usb" / "advisories-export.db"
    exported.parent.mkdir()
    digest = export_db(old_db, exported)
    assert sha256(exported) == digest
    assert (
        tmp_path / "usb" / "advisories-export.db.sha256"
    ).read_text() == f"{digest}  advisories-export.db\n"
    target = tmp_path / "airgap" / "advisories.db"
    report = import_db(exported, target)
    assert report.checksum_verified and report.sha256 == digest
    assert sorted(s.name for s in report.sources) == ["alpine", "debian", "nvd", "osv"]
    assert contents(target) == contents(old_db)
    assert sha256(target) == digest  # the exported bytes are what gets installed
    assert leftovers(target) == []


def test_import_of_a_file_that_is_not_sqlite(old_db: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "feed.json"
    bogus.write_text('{"this": "is not a database"}\n', encoding="utf-8")
    before = sha256(old_db)
    with pytest.raises(DatabaseError) as info:
        import_db(bogus, old_db)
    assert str(info.value) == f"{bogus}: file is not a database (not an SQLite file, or damaged)"
    assert sha256(old_db) == before
    assert leftovers(old_db) == []


def test_import_with_a_wrong_checksum(old_db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "export.db"
    export_db(old_db, exported)
    (tmp_path / "export.db.sha256").write_text("0" * 64 + "  export.db\n", encoding="utf-8")
    before = sha256(old_db)
    with pytest.raises(
        DatabaseError, match=r"export.db: sha256 is [0-9a-f]{64}, .*export.db.sha256 says 0{64}"
    ):
        import_db(exported, old_db)
    assert sha256(old_db) == before


def test_import_of_another_schema_version(old_db: Path, tmp_path: Path) -> None:
    other = tmp_path / "old-schema.db"
    other.write_bytes(old_db.read_bytes())
    with sqlite3.connect(other) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.close()
    before = sha256(old_db)
    with pytest.raises(DatabaseError, match=rf"{other}: database schema version 0"):
        import_db(other, old_db)
    assert sha256(old_db) == before


def test_import_of_a_damaged_database(old_db: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    data = bytearray(old_db.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[2 * page : 3 * page] = bytes(range(256)) * (page // 256)  # a page of garbage, header intact
    damaged.write_bytes(bytes(data))
    before = sha256(old_db)
    with pytest.raises(DatabaseError, match=str(damaged)):
        import_db(damaged, old_db)
    assert sha256(old_db) == before


def test_export_refuses_to_overwrite_the_database(old_db: Path) -> None:
    with pytest.raises(DatabaseError, match="is the database itself"):
        export_db(old_db, old_db)
