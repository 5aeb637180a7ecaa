"""Issue 13, item 5: the atomic update's failure paths that need a broken disk, triggered for real.

- A new database that fails ``PRAGMA integrity_check``: the update's own test hook (``_checkpoint``, called
  at every inserted batch) flips one byte of an index entry in the ``.new-<pid>`` file on disk while the
  copy is being built. The byte is in a page the update never reads before its check (the unique index of
  ``aliases``, when only Alpine, which has no aliases, is updated), so SQLite's real integrity check is what
  finds it: "row 1 missing from index sqlite_autoindex_aliases_1".
- A disk that fills: a real tmpfs (``tests/tmpfs.py``) holding the database directory, an existing small
  database on it, and an update whose data does not fit, once while SQLite builds the copy and once while
  the feeds are downloaded (through the CLI, from the loopback feed server).

Each time: exit 1 / ``DatabaseError``, one line naming the database, the previous database byte-identical
and passing ``integrity_check``, nothing left beside it (no ``.new-*``, no ``.download-*``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from alpinist.advisories import update as update_module
from alpinist.advisories.model import Vulnerability
from alpinist.advisories.sources import FeedBatch
from alpinist.advisories.store import Store
from alpinist.advisories.update import temp_path, update
from alpinist.errors import DatabaseError
from tests import store_records as rec
from tests.feed_server import FEEDS, FeedServer, feed_server_fixture  # noqa: F401  (the fixture)
from tests.test_update import integrity, leftovers, sha256
from tests.tmpfs import tmpfs

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds, for one CLI run: generous (an update of the corpus feeds takes about 2 s)
PAGE = 4096


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    db = tmp_path / "data" / "advisories.db"
    update(db, rec.sources(1), None)
    return db


def _index_key_offset(db: Path, index: str, key: bytes) -> int:
    """File offset of ``key`` inside the root page of ``index`` (a one-page index in these small files)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
        assert conn.execute("PRAGMA page_size").fetchone() == (PAGE,)
    finally:
        conn.close()
    page = db.read_bytes()[(root - 1) * PAGE : root * PAGE]
    assert page.count(key) == 1, page
    return (root - 1) * PAGE + page.index(key)


def test_a_new_database_failing_its_integrity_check_is_never_installed(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sha256(old_db)
    # PYSEC-2021-66's alias CVE-2020-28493 (osv), an entry of aliases' UNIQUE (vuln_id, alias, feed) index.
    # The copy starts as the old file byte for byte, so the offset is the same in it.
    offset = _index_key_offset(old_db, "sqlite_autoindex_aliases_1", b"CVE-2020-28493")
    damaged: list[Path] = []

    def corrupt_the_copy(step: str) -> None:
        if step == "inserting" and not damaged:
            copy = temp_path(old_db)
            with copy.open("r+b") as fh:  # CVE-2020-28493 -> CVE-2020-28494: still in order, now dangling
                fh.seek(offset + len("CVE-2020-2849"))
                fh.write(b"4")
            damaged.append(copy)

    monkeypatch.setattr(update_module, "_checkpoint", corrupt_the_copy)
    with pytest.raises(DatabaseError) as info:
        update(old_db, rec.sources(2), None, only=["alpine"])
    assert damaged == [temp_path(old_db)]  # the hook ran on the copy being built
    message = str(info.value)
    assert message == (
        f"{damaged[0]}: integrity check failed: row 1 missing from index sqlite_autoindex_aliases_1"
    )
    assert "\n" not in message
    assert sha256(old_db) == before
    assert integrity(old_db) == "ok"
    assert leftovers(old_db) == []  # the damaged copy and the downloads are gone
    # and the next update, undisturbed, installs a good one
    monkeypatch.setattr(update_module, "_checkpoint", update_module._no_checkpoint)
    update(old_db, rec.sources(2), None, only=["alpine"])
    assert integrity(old_db) == "ok" and sha256(old_db) != before


def _big_osv(records: int, summary_bytes: int) -> rec.FakeSource:
    """An OSV feed of ``records`` records with long summaries, in batches of 100."""
    vulns = [
        Vulnerability(f"PYSEC-2099-{n}", summary=f"{n:08d}" * (summary_bytes // 8)) for n in range(records)
    ]
    batches = [FeedBatch(vulnerabilities=tuple(vulns[i : i + 100])) for i in range(0, records, 100)]
    return rec.FakeSource("osv", batches)


def test_disk_full_while_sqlite_builds_the_new_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with tmpfs(data, size="1m") as mounted:
        if not mounted:
            pytest.skip("needs root and mount(8) for a real 1 MiB tmpfs")
        db = data / "advisories.db"
        update(db, rec.sources(1), None)  # about 45 KiB
        before = sha256(db)
        big = {**rec.sources(2), "osv": _big_osv(1000, 2048)}  # about 2 MiB of summaries: cannot fit
        with pytest.raises(DatabaseError) as info:
            update(db, big, None, only=["osv"])
        message = str(info.value)
        assert message == f"{temp_path(db)}: building the new database failed: database or disk is full"
        assert sha256(db) == before
        assert integrity(db) == "ok"
        assert leftovers(db) == []
        with Store.open(db) as store:  # still version 1
            assert store.vulnerability("PYSEC-2021-66") is not None
            assert store.vulnerability("PYSEC-2099-0") is None


# -- through the CLI, the real feeds of the corpus on a loopback server ------------------------------------

# What `db update --alpine-branch 3.20` downloads from the mirror: every feed file of the corpus but the
# other Alpine branches (the NVD API pages hold all.json's records, re-encoded: about its size).
DOWNLOADED = [
    FEEDS / "secdb.alpinelinux.org" / "v3.20",
    FEEDS / "security-tracker.debian.org",
    FEEDS / "osv-vulnerabilities.storage.googleapis.com",
    FEEDS / "services.nvd.nist.gov",
]
FULL_DB = 8 * 1024 * 1024  # a full update of the corpus feeds is an 8 MB database (measured: 8,261,632 B)


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _cli(db: Path, server: FeedServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alpinist", "db", "update", "--db", str(db), "--mirror", server.url]
    return subprocess.run(
        [*command, "--alpine-branch", "3.20", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        check=False,
    )


@pytest.mark.parametrize(
    ("size", "phase"),
    [("3m", "download"), ("6m", "build")],
    ids=["full-while-downloading", "full-while-building"],
)
def test_disk_full_through_the_cli(tmp_path: Path, feed_server: FeedServer, size: str, phase: str) -> None:
    mebibytes = int(size[:-1]) * 1024 * 1024
    downloads = sum(_bytes(p) for p in DOWNLOADED)
    # the sizes decide where the disk fills: 3 MiB holds less than the downloads (3.3 MB); 6 MiB holds the
    # downloads and the small database with room to spare, but not the 8 MB new database
    if phase == "download":
        assert downloads > mebibytes
    else:
        assert downloads + 2 * 1024 * 1024 < mebibytes < FULL_DB
    data = tmp_path / "data"
    with tmpfs(data, size=size) as mounted:
        if not mounted:
            pytest.skip(f"needs root and mount(8) for a real {size} tmpfs")
        db = data / "advisories.db"
        first = _cli(db, feed_server, "--source", "alpine")  # 358 records of v3.20, about 90 KB
        assert first.returncode == 0, first.stderr
        before = sha256(db)
        done = _cli(db, feed_server)  # every feed: does not fit
        assert done.returncode == 1, done.stderr
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"alpinist: error: {db}"), done.stderr
        if phase == "download":
            assert lines[0] == (
                f"alpinist: error: {db}: update failed: No space left on device (the update writes its "
                f"downloads and the new database beside the database, in {data})"
            )
        else:
            assert lines[0].endswith(": building the new database failed: database or disk is full")
        assert sha256(db) == before
        assert integrity(db) == "ok"
        assert leftovers(db) == []


def test_disk_full_while_an_import_copies_the_database(old_db: Path, tmp_path: Path) -> None:
    """``db import`` copies the exported file beside the database first: a full disk there is one line
    naming the database and the directory, the previous database byte for byte, no copy left."""
    from alpinist.advisories.update import import_db

    big = tmp_path / "export.db"
    update(big, rec.sources(2), None)  # an exported database of the fixture records
    with big.open("ab") as fh:
        fh.write(b"\0" * (2 << 20))  # bigger than the disk below (the copy fails before any check)
    disk = tmp_path / "disk"
    with tmpfs(disk, size="1m") as mounted:
        if not mounted:
            pytest.skip("cannot mount a tmpfs here")
        db = disk / "advisories.db"
        db.write_bytes(old_db.read_bytes())
        before = sha256(db)
        with pytest.raises(DatabaseError) as info:
            import_db(big, db)
        assert str(info.value).startswith(f"{db}: import of {big} failed: No space left on device")
        assert sha256(db) == before and integrity(db) == "ok"
        assert leftovers(db) == []
