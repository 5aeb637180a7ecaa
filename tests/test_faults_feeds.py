"""Issue 12: the advisory feeds on a breakable server (``tests/feed_server.py``, real HTTP on 127.0.0.1).

Each case runs ``alpinist db update`` through the real entry point against a database built beforehand
and expects one of two outcomes: the fetcher retries and the update succeeds, or the command exits 1 with
one line that names the feed URL (never a temporary file) and leaves the database byte-identical.
Bounded parsers (item 1): a page of nothing but ``[`` is refused at 64 levels in a subprocess whose
address space is capped at 1 GiB (before the bound it took 10 GB). Concurrent first scans (item 9): the
second one waits for the first one's update and uses its database.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import resource
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alpinist.advisories.store import Store
from alpinist.advisories.update import update
from tests import store_records as rec
from tests.conftest import oci_ref
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[1]
SECDB_320 = "/secdb.alpinelinux.org/v3.20/main.json"
TRACKER = "/security-tracker.debian.org/tracker/data/json"
OSV_ZIP = "/osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
NVD_API = "/services.nvd.nist.gov/rest/json/cves/2.0"
NVD_PAGE0 = "https://services.nvd.nist.gov/rest/json/cves/2.0?startIndex=0&resultsPerPage=2000"
DEEP = b"[" * 65536  # 64 KiB of "["
NO_WAIT = {"Retry-After": "0"}  # the fetcher's backoff honours it: retries without sleeping
TIMEOUT = 60


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(name="cli")
def cli_fixture(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """``alpinist ARGS`` through ``alpinist.cli.app.main`` in this process: (exit code, stdout, stderr)."""
    from alpinist.cli.app import main

    # ``main`` adds its stderr handler once per process: drop it, so that each call's warnings reach the
    # stderr captured now (not a stream pytest has closed)
    logger = logging.getLogger("alpinist")
    saved = logger.handlers[:]

    def run(*args: str) -> tuple[int, str, str]:
        logger.handlers.clear()
        with pytest.raises(SystemExit) as stopped:
            main(list(args))
        out = capsys.readouterr()
        return (stopped.value.code if isinstance(stopped.value.code, int) else 1), out.out, out.err

    yield run
    logger.handlers[:] = saved


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "advisories.db"
    update(path, rec.sources(2, nvd={"incremental": False}), None)  # no NVD cursor: a full NVD download
    return path


def update_args(db_path: Path, server: FeedServer, *sources: str) -> list[str]:
    args = ["db", "update", "--db", str(db_path), "--mirror", server.url, "--alpine-branch", "3.20"]
    for source in sources:
        args += ["--source", source]
    return args


def assert_refused(cli, db_path: Path, args: list[str], where: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 1, one line naming ``where`` and ``reason``, the database byte-identical, nothing left beside it."""
    before = sha256(db_path)
    code, _, err = cli(*args)
    lines = [line for line in err.splitlines() if "WARNING" not in line]
    assert code == 1, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"alpinist: error: feed {where}: "), err
    assert reason in lines[0], err
    assert ".download-" not in err and ".part" not in err, err  # never a temporary file's name
    assert sha256(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["advisories.db", "advisories.db.lock"]


# -- one clear line, exit 1, database untouched ----------------------------------------------------------


def test_truncated_nvd_page_names_the_page_url(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.truncate(NVD_API, keep=3000)
    assert_refused(cli, db_path, update_args(db_path, feed_server, "nvd"), NVD_PAGE0, "not valid JSON")


def test_deeply_nested_nvd_page_is_refused_at_64_levels(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.garbage(NVD_API, b'{"totalResults": 1, "vulnerabilities": [' + DEEP)
    assert_refused(
        cli, db_path, update_args(db_path, feed_server, "nvd"), NVD_PAGE0, "JSON nested deeper than 64 levels"
    )


def test_nvd_page_of_brackets_only(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.garbage(NVD_API, DEEP)
    assert_refused(
        cli, db_path, update_args(db_path, feed_server, "nvd"), NVD_PAGE0, "expected a JSON object"
    )


def test_garbage_tracker(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.garbage(TRACKER)  # an HTML error page with status 200
    where = "debian https://security-tracker.debian.org/tracker/data/json"
    assert_refused(cli, db_path, update_args(db_path, feed_server, "debian"), where, "not valid JSON")


def test_deep_tracker(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.garbage(TRACKER, b'{"a": {"CVE-1": ' + DEEP)
    where = "debian https://security-tracker.debian.org/tracker/data/json"
    assert_refused(
        cli, db_path, update_args(db_path, feed_server, "debian"), where, "nested deeper than 16 levels"
    )


def test_deep_secdb(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.put(SECDB_320.lstrip("/"), DEEP + b"]" * len(DEEP))  # valid JSON, 65,536 levels deep
    where = "alpine https://secdb.alpinelinux.org/v3.20/main.json"
    assert_refused(
        cli, db_path, update_args(db_path, feed_server, "alpine"), where, "nested deeper than 64 levels"
    )


def test_deep_osv_record_names_the_zip_url_and_member(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("PYSEC-DEEP.json", b'{"id": "PYSEC-DEEP", "x": ' + b"[" * 100 + b"]" * 100 + b"}")
    feed_server.put(OSV_ZIP.lstrip("/"), buffer.getvalue())
    where = "osv https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip:PYSEC-DEEP.json"
    assert_refused(
        cli, db_path, update_args(db_path, feed_server, "osv"), where, "nested deeper than 64 levels"
    )


def test_content_length_shorter_than_the_body(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.wrong_length(TRACKER, 1000)  # the client reads 1,000 bytes: a truncated file
    where = "debian https://security-tracker.debian.org/tracker/data/json"
    assert_refused(cli, db_path, update_args(db_path, feed_server, "debian"), where, "not valid JSON")


def test_server_error_that_persists(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.fail(500, times=100, path=TRACKER, headers=NO_WAIT)
    where = f"{feed_server.url}/security-tracker.debian.org/tracker/data/json"
    assert_refused(
        cli,
        db_path,
        update_args(db_path, feed_server, "debian"),
        where,
        "HTTP 500 Internal Server Error (gave up after 5 attempts)",
    )
    assert len(feed_server.requests_to(TRACKER)) == 5


def test_missing_tracker(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.fail(404, times=1, path=TRACKER)
    where = f"{feed_server.url}/security-tracker.debian.org/tracker/data/json"
    assert_refused(cli, db_path, update_args(db_path, feed_server, "debian"), where, "HTTP 404")


# -- retried, or skipped, and the update succeeds ------------------------------------------------------------


def assert_updated(cli, db_path: Path, args: list[str], source: str, records: int) -> str:  # type: ignore[no-untyped-def]
    code, _, err = cli(*args)
    assert code == 0, err
    with Store.open(db_path) as store:
        assert {s.name: s.records for s in store.status()}[source] == records
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["advisories.db", "advisories.db.lock"]
    return err


def test_http_500_then_ok_is_retried(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.fail(500, times=1, path=TRACKER, headers=NO_WAIT)
    assert_updated(cli, db_path, update_args(db_path, feed_server, "debian"), "debian", 91)
    assert len(feed_server.requests_to(TRACKER)) == 2


def test_nvd_rate_limit_answer_then_ok_is_retried(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.fail(403, times=1, path=NVD_API, headers=NO_WAIT)
    assert_updated(cli, db_path, update_args(db_path, feed_server, "nvd"), "nvd", 169)


def test_connection_cut_mid_body_then_ok_is_retried(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.cut(OSV_ZIP, keep=10_000, times=1)  # Content-Length says more than arrives
    err = assert_updated(cli, db_path, update_args(db_path, feed_server, "osv"), "osv", 2651)
    assert "connection broke" in err and "retrying" in err
    assert len(feed_server.requests_to(OSV_ZIP)) == 2


def test_slow_trickle_that_completes(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.slow(TRACKER, chunk=2048, delay=0.01)
    assert_updated(cli, db_path, update_args(db_path, feed_server, "debian"), "debian", 91)


def test_missing_alpine_branch_is_skipped(cli, db_path: Path, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    args = [*update_args(db_path, feed_server, "alpine"), "--alpine-branch", "3.21"]
    err = assert_updated(cli, db_path, args, "alpine", 358)
    assert "v3.21/main.json: not on the server, branch skipped" in err


# -- item 1: memory bound, in a process with a small address space -------------------------------------------


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))


def test_bracket_page_costs_no_memory(db_path: Path, feed_server: FeedServer) -> None:
    feed_server.garbage(NVD_API, b'{"totalResults": 1, "vulnerabilities": [' + DEEP)
    before = sha256(db_path)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "alpinist", *update_args(db_path, feed_server, "nvd")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        preexec_fn=_cap_memory,  # 1 GiB: before the bound this page took 10 GB and ended in a MemoryError
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (f"alpinist: error: feed {NVD_PAGE0}: JSON nested deeper than 64 levels"), (
        done.stderr
    )
    assert time.monotonic() - started < 30  # generous: it takes well under a second
    assert sha256(db_path) == before


# -- item 9: two first scans, one update --------------------------------------------------------------------------


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        if proc.poll() is not None:
            raise AssertionError(f"ended ({proc.returncode}) before {text!r}: {path.read_text()}")
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_second_first_scan_uses_the_database_the_first_one_built(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    db = tmp_path / "advisories.db"
    release = feed_server.hold(TRACKER)  # the first update waits there, holding the lock
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "ALPINIST_CACHE_DIR": str(tmp_path / "cache")}
    command = [
        sys.executable, "-m", "alpinist", "scan", oci_ref("alpine:3.20.3"),
        "--db", str(db), "--mirror", feed_server.url, "--format", "json",
    ]  # fmt: skip
    procs, errs = [], []
    for number in (1, 2):
        err = tmp_path / f"scan{number}.err"
        out = (tmp_path / f"scan{number}.out").open("wb")
        procs.append(subprocess.Popen(command, stdout=out, stderr=err.open("wb"), env=env))
        errs.append(err)
        if number == 1:
            deadline = time.monotonic() + TIMEOUT
            while not feed_server.requests_to(TRACKER):  # the first one holds the lock and downloads
                assert time.monotonic() < deadline and procs[0].poll() is None
                time.sleep(0.02)
    # the second one found no database and went for the lock
    _wait_for(errs[1], "downloading the feeds", procs[1])
    time.sleep(0.3)
    release.set()
    for proc in procs:
        proc.wait(timeout=TIMEOUT)
    assert [p.returncode for p in procs] == [0, 0], [e.read_text() for e in errs]
    assert len(feed_server.requests_to(TRACKER)) == 1  # one update, not two
    assert len(feed_server.requests_to(OSV_ZIP)) == 1
    assert "using the advisory database another run has just built" in errs[1].read_text()
    outputs = [(tmp_path / f"scan{n}.out").read_text() for n in (1, 2)]
    assert outputs[0] == outputs[1] and outputs[0]


def test_if_missing_uses_a_database_that_appeared_meanwhile(db_path: Path) -> None:
    """What the second first scan relies on, in process: under the lock, an existing usable database is used
    as it is (byte-identical, nothing fetched); a missing one is built."""
    before = sha256(db_path)
    sources = rec.sources(3)
    report = update(db_path, sources, None, if_missing=True)
    assert report.reused and report.sources == ()
    assert sha256(db_path) == before
    assert all(not source.seen_since for source in sources.values())  # nothing was fetched
    fresh = db_path.with_name("fresh.db")
    report = update(fresh, rec.sources(2), None, if_missing=True)
    assert not report.reused and {s.name for s in report.sources} == set(rec.sources(2))
