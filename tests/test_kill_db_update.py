"""Issue 12: SIGKILL of ``alpinist db update --mirror URL`` (a real subprocess, the real feeds of the corpus on
a loopback server) at 20 seeded random points: a phase the run reaches, seen from outside (started, first
request to the feed server, ``advisories.db.new-PID`` being built, the new database renamed in), then a
seeded delay of up to 0.4 s.

The killed runs follow one another on one database directory that starts with an older database (one
Alpine branch), each starting from whatever the previous one left. After every kill the database is either the one before, byte for byte, or a complete new one
(``PRAGMA integrity_check``, the row counts of an uninterrupted update); it is never half-written. The
run after the last kill completes, removes everything the killed ones left beside the database (no
``.new-*``, no ``.download-*``, no ``.part``), and gives the same ``db status`` records and row counts as
an uninterrupted update into an empty directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[1]
SEED = 20261207
KILLS = 20
PHASES = ("start", "download", "build", "installed")
MAX_DELAY = 0.4  # seconds after the phase is reached
TIMEOUT = 120  # seconds, for any one run: generous, an update of the corpus takes ~3 s


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _update(db: Path, server: FeedServer) -> list[str]:
    return [sys.executable, "-m", "alpinist", "db", "update", "--db", str(db), "--mirror", server.url]


def _run(db: Path, server: FeedServer) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_update(db, server), capture_output=True, text=True, timeout=TIMEOUT, env=_env())


def _counts(db: Path) -> dict[str, int]:
    """Rows of every table, and ``integrity_check`` (read-only: the file is not touched)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    finally:
        conn.close()


def _status(db: Path) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "alpinist", "db", "status", "--db", str(db), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["never_updated"] == []
    return {source["name"]: source["records"] for source in doc["sources"]}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _leftovers(directory: Path) -> list[str]:
    return sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.name not in ("advisories.db", "advisories.db.lock")
    )


def _wait(reached: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not reached() and proc.poll() is None:
        assert time.monotonic() < deadline, "the update never reached the kill point"
        time.sleep(0.002)


def test_sigkill_at_20_random_points(tmp_path: Path, feed_server: FeedServer) -> None:
    reference = tmp_path / "reference" / "advisories.db"
    done = _run(reference, feed_server)
    assert done.returncode == 0, done.stderr
    expected_counts, expected_status = _counts(reference), _status(reference)

    db = tmp_path / "killed" / "advisories.db"  # starts with an older database: one Alpine branch only
    done = subprocess.run(
        [*_update(db, feed_server), "--source", "alpine", "--alpine-branch", "3.20"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr
    rng = random.Random(SEED)
    outcomes = {"old database": 0, "new database": 0, "finished": 0}
    left: set[str] = set()  # what killed runs left beside the database, until a run completes
    seen_left = 0
    for _ in range(KILLS):
        before = _digest(db)
        inode = db.stat().st_ino
        requests = len(feed_server.requests)
        proc = subprocess.Popen(
            _update(db, feed_server), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
        )
        # a seeded point: a moment the run reaches (seen from outside, so that a slow machine moves the
        # point with the run), then a seeded delay
        phase = rng.choice(PHASES)
        reached = {
            "start": lambda: True,
            "download": lambda: len(feed_server.requests) > requests,  # noqa: B023
            "build": lambda: any(db.parent.glob("advisories.db.new-*")),
            "installed": lambda: db.exists() and db.stat().st_ino != inode,  # noqa: B023
        }[phase]
        _wait(reached, proc)
        delay = rng.uniform(0.0, MAX_DELAY)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=TIMEOUT)
        if proc.returncode == 0:
            outcomes["finished"] += 1
            assert _leftovers(db.parent) == [], left  # a run that completes removes what killed ones left
            left = set()
        else:
            assert proc.returncode == -signal.SIGKILL, err.decode()
        after = _digest(db)
        assert after is not None  # a database never disappears
        if after == before:
            outcomes["old database"] += 1  # byte-identical: the update never finished
            _counts(db)
        else:
            outcomes["new database"] += 1  # a complete new one, never a half-written one
            assert _counts(db) == expected_counts
        if proc.returncode != 0:
            left |= set(_leftovers(db.parent))
            seen_left += bool(left)

    print(f"kills: {outcomes}; {seen_left} times something was left, {len(left)} paths before the last run")
    assert seen_left, "no kill left anything behind: the cleanup was never exercised"
    done = _run(db, feed_server)
    assert done.returncode == 0, done.stderr
    assert _leftovers(db.parent) == []  # everything the killed runs left is gone
    assert _counts(db) == expected_counts
    assert _status(db) == expected_status
    # the seeded points hit both sides of the rename (the kill test would prove little otherwise)
    assert outcomes["old database"] and outcomes["new database"], outcomes
