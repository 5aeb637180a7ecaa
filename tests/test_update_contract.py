"""What ``advisories/update.py`` promises, to the letter: the error a failed feed raises (its text, its
``where``, its HTTP status), the URLs a feed is recorded as read from, and export/import with the
``FILE.sha256`` side file (its exact content, the texts of its refusals, the lock timeout, the report).

The feeds here are small test sources (``Feed`` below) whose ``fetch`` downloads corpus files through the
fetcher the update gives it: the update's recorder in front of a real ``Fetcher`` on the loopback feed
server (``tests/feed_server.py``). Their ``parse`` yields the hand-copied alpine records of
``tests/store_records.py``, or raises the parse error a test asks for. Databases are real SQLite files.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories import update as update_module
from alpinist.advisories.download import Fetcher
from alpinist.advisories.model import Affected, Vulnerability
from alpinist.advisories.sources import FeedBatch
from alpinist.advisories.store import Store, StoreWriter
from alpinist.advisories.update import (
    SourceReport,
    UpdateProgress,
    export_db,
    import_db,
    lock_path,
    update,
)
from alpinist.errors import DatabaseError, FeedError
from tests import store_records as rec
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (the fixture)
from tests.tmpfs import tmpfs

MAIN_320 = "https://secdb.alpinelinux.org/v3.20/main.json"
MAIN_319 = "https://secdb.alpinelinux.org/v3.19/main.json"
TRUNCATED = "truncated JSON: unexpected end of data at byte 4096"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Download:
    """One call the feed makes on its fetcher: ``how`` is ``params=`` (keyword), ``positional`` (params as
    the third positional argument) or ``json`` (``get_json``)."""

    url: str
    how: str = "params="
    params: dict[str, str] | None = None
    file: str = "page.json"


@dataclass
class Feed:
    """A test feed named ``alpine`` (so the hand-copied alpine records are its own)."""

    downloads: Sequence[Download] = ()
    written: str | None = None  # a file fetch writes itself, without the fetcher
    written_size: int = 2  # its size in bytes
    urls: list[str] | None = None  # what feed_urls() says; None: the update records the fetcher's calls
    parse_error: Callable[[list[Path]], FeedError] | None = None
    fetch_error: Callable[[list[Path]], FeedError] | None = None
    name: str = "alpine"
    incremental: bool = False
    feed: list[FeedBatch] = field(default_factory=lambda: rec.batches("alpine", 1))

    def feed_urls(self) -> list[str] | None:
        return self.urls

    def fetch(self, fetcher: Any, workdir: Path, since: str | None) -> list[Path]:
        files: list[Path] = []
        for item in self.downloads:
            dest = workdir / item.file
            if item.how == "json":
                fetcher.get_json(item.url, params=item.params)
                dest.write_text("{}", encoding="utf-8")
            elif item.how == "json-positional":
                fetcher.get_json(item.url, item.params)
                dest.write_text("{}", encoding="utf-8")
            elif item.how == "positional":
                fetcher.get_to_file(item.url, dest, item.params)
            else:
                fetcher.get_to_file(item.url, dest, params=item.params)
            files.append(dest)
        if self.written is not None:
            (workdir / self.written).write_bytes(b"{}".ljust(self.written_size))
            files.append(workdir / self.written)
        if self.fetch_error is not None:
            raise self.fetch_error(files)
        return files

    def parse(self, files: list[Path]) -> Iterator[FeedBatch]:
        if self.parse_error is not None:
            raise self.parse_error(files)
        yield from self.feed


def failed_update(db: Path, feed: Feed, server: FeedServer) -> FeedError:
    """Run an update of ``feed`` alone against the loopback server; return the FeedError it raised."""
    with Fetcher(mirror=server.url) as fetcher, pytest.raises(FeedError) as info:
        update(db, {"alpine": feed}, fetcher)
    assert not db.exists()  # nothing was installed
    return info.value


# --------------------------------------------------------------------------- a failed feed's error


@pytest.mark.parametrize("how", ["params=", "positional"])
def test_a_parse_error_in_a_downloaded_page_names_the_feed_and_the_page_url_with_its_query(
    tmp_path: Path, feed_server: FeedServer, how: str
) -> None:
    """The downloaded file's name is replaced by the feed's name and the upstream URL the file came from,
    its query (the params, given by keyword or by position) included, an archive member kept after the
    colon; the reason and the HTTP status the error carried are kept."""
    feed = Feed(
        downloads=[Download(MAIN_320, how, {"startIndex": "2000", "resultsPerPage": "2000"})],
        parse_error=lambda files: FeedError(f"{files[0]}:v3.20/main.json", TRUNCATED, status=502),
    )
    exc = failed_update(tmp_path / "advisories.db", feed, feed_server)
    where = f"alpine {MAIN_320}?startIndex=2000&resultsPerPage=2000:v3.20/main.json"
    assert exc.where == where
    assert exc.reason == TRUNCATED
    assert exc.status == 502
    assert str(exc) == f"feed {where}: {TRUNCATED}"


def test_a_parse_error_in_a_page_downloaded_without_params_names_the_bare_url(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = Feed(
        downloads=[Download(MAIN_320)],
        parse_error=lambda files: FeedError(str(files[0]), TRUNCATED, status=None),
    )
    exc = failed_update(tmp_path / "advisories.db", feed, feed_server)
    assert str(exc) == f"feed alpine {MAIN_320}: {TRUNCATED}"
    assert exc.status is None


def test_an_error_raised_while_fetching_names_the_page_url_and_keeps_the_status(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A feed that checks a page it downloaded (in ``fetch``) and refuses it: named like a parse error."""
    feed = Feed(
        downloads=[Download(MAIN_320, "params=", {"page": "2"}, "page-2.json")],
        fetch_error=lambda files: FeedError(str(files[0]), "page 2 is not the page asked for", status=429),
    )
    exc = failed_update(tmp_path / "advisories.db", feed, feed_server)
    assert str(exc) == f"feed alpine {MAIN_320}?page=2: page 2 is not the page asked for"
    assert (exc.where, exc.status) == (f"alpine {MAIN_320}?page=2", 429)


def test_an_error_in_a_file_the_feed_wrote_itself_names_it_and_the_feeds_only_url(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A file no download produced (unpacked, written by the feed): its name inside the download
    directory, and ``from URL`` when the feed read a single URL."""
    feed = Feed(
        written="secfixes.json",
        urls=[MAIN_320],
        parse_error=lambda files: FeedError(str(files[0]), TRUNCATED, status=404),
    )
    exc = failed_update(tmp_path / "advisories.db", feed, feed_server)
    assert exc.where == f"alpine secfixes.json from {MAIN_320}"
    assert exc.reason == TRUNCATED
    assert exc.status == 404
    assert str(exc) == f"feed alpine secfixes.json from {MAIN_320}: {TRUNCATED}"


def test_an_error_in_a_file_of_a_feed_read_from_two_urls_names_no_url(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed = Feed(
        written="secfixes.json",
        urls=[MAIN_320, MAIN_319],
        parse_error=lambda files: FeedError(f"{files[0]}:packages[3]", TRUNCATED),
    )
    exc = failed_update(tmp_path / "advisories.db", feed, feed_server)
    assert exc.where == "alpine secfixes.json:packages[3]"
    assert exc.status is None
    assert str(exc) == f"feed alpine secfixes.json:packages[3]: {TRUNCATED}"


def test_an_error_in_a_fake_sources_file_names_the_feed_file_and_its_url(tmp_path: Path) -> None:
    """The same through ``tests/store_records.FakeSource`` (one URL per feed), failing in its second
    feed: the first feed's name is not used for it."""
    with pytest.raises(FeedError) as info:
        update(tmp_path / "advisories.db", rec.sources(2, debian={"fail_at": 0}), None)  # type: ignore[arg-type]
    assert str(info.value) == (f"feed debian debian.json from https://feeds.invalid/debian.json: {TRUNCATED}")


def test_an_error_naming_something_outside_the_download_directory_is_passed_on_unchanged(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    raised = FeedError("https://elsewhere.invalid/feed.json", "gone", status=410)
    feed = Feed(written="x.json", urls=[MAIN_320], parse_error=lambda files: raised)
    assert failed_update(tmp_path / "advisories.db", feed, feed_server) is raised


# --------------------------------------------------------------------------- the URLs a feed read


def test_the_urls_recorded_are_the_mirror_urls_asked_for_without_their_query(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A feed that does not say what it read is recorded as having read what it asked the fetcher for:
    the mirror applied, the query (everything from the first ``?``) left out, each URL once, in order."""
    feed = Feed(
        downloads=[
            Download(f"{MAIN_320}?since=1?page=2", "json"),
            Download(MAIN_319, "params=", {"page": "1"}, "a.json"),
            Download(MAIN_320, "positional", {"page": "2"}, "b.json"),
            Download(MAIN_319, "json", {"page": "3"}, "c.json"),
            Download(MAIN_319, "json-positional", {"page": "4"}, "d.json"),
        ]
    )
    db = tmp_path / "advisories.db"
    with Fetcher(mirror=feed_server.url) as fetcher:
        update(db, {"alpine": feed}, fetcher)
    with Store.open(db) as store:
        (status,) = store.status()
    assert status.feed_urls == (
        f"{feed_server.url}/secdb.alpinelinux.org/v3.20/main.json",
        f"{feed_server.url}/secdb.alpinelinux.org/v3.19/main.json",
    )
    # every call went through to the real fetcher with its arguments, by keyword or by position
    pages = {
        path: [r.param("page") for r in feed_server.requests_to(f"/secdb.alpinelinux.org/{path}/main.json")]
        for path in ("v3.20", "v3.19")
    }
    assert pages == {"v3.20": [None, "2"], "v3.19": ["1", "3", "4"]}  # the first: since="1?page=2"


# --------------------------------------------------------------------------- first update, other files


def test_if_missing_with_no_database_builds_it(tmp_path: Path) -> None:
    """``if_missing`` (a first scan) only reuses a database that exists: with none, it builds one."""
    db = tmp_path / "advisories.db"
    report = update(db, rec.sources(1), None, if_missing=True)  # type: ignore[arg-type]
    assert not report.reused
    assert [s.name for s in report.sources] == list(rec.SOURCE_ORDER)
    with Store.open(db) as store:
        assert {s.name for s in store.status()} == set(rec.SOURCE_ORDER)


def test_an_sqlite_file_with_a_meta_table_of_another_application_is_never_replaced(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('application', 'someone-else')")
    conn.close()
    before = sha256(db)
    with pytest.raises(DatabaseError) as info:
        update(db, rec.sources(2), None)  # type: ignore[arg-type]
    assert str(info.value).endswith(
        "; refusing to replace a file that is not an alpinist advisory database: move it away or choose "
        "another --db"
    )
    assert sha256(db) == before


# --------------------------------------------------------------------------- export


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "advisories.db"
    update(path, rec.sources(1), None)  # type: ignore[arg-type]
    return path


def test_the_checksum_file_is_the_digest_two_spaces_and_the_file_name(db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "export.db"
    digest = export_db(db, exported)
    assert digest == sha256(exported)
    assert (tmp_path / "export.db.sha256").read_bytes() == f"{digest}  export.db\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export.db", "export.db.sha256"]


def test_exporting_again_over_an_earlier_export_replaces_it(db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "export.db"
    exported.write_bytes(b"an earlier export")
    (tmp_path / "export.db.sha256").write_text("0" * 64 + "  export.db\n", encoding="utf-8")
    digest = export_db(db, exported)
    assert sha256(exported) == digest
    assert (tmp_path / "export.db.sha256").read_text(encoding="utf-8") == f"{digest}  export.db\n"


def test_export_onto_the_database_itself_under_another_name_is_refused(db: Path) -> None:
    same = db.parent / ".." / "data" / "advisories.db"
    before = sha256(db)
    with pytest.raises(DatabaseError) as info:
        export_db(db, same)
    assert str(info.value) == f"{same}: is the database itself; export to another file"
    assert sha256(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["advisories.db", "advisories.db.lock"]


def test_export_into_a_missing_directory_fails_naming_the_destination(db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "no-such-dir" / "export.db"
    with pytest.raises(DatabaseError) as info:
        export_db(db, dest)
    assert str(info.value) == f"{dest}: export failed: unable to open database file"
    assert not dest.parent.exists()


# --------------------------------------------------------------------------- import


@pytest.fixture
def exported(db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "usb" / "export.db"
    path.parent.mkdir()
    export_db(db, path)
    return path


def test_import_reports_where_it_installed_what_it_verified_and_the_feeds(
    exported: Path, db: Path, tmp_path: Path
) -> None:
    """Into a directory whose parents do not exist yet: they are made."""
    target = tmp_path / "a" / "b" / "c" / "advisories.db"
    report = import_db(exported, target)
    assert report.db_path == target
    assert report.sha256 == sha256(exported) == sha256(target)
    assert report.checksum_verified is True
    with Store.open(db) as store:
        expected = [(s.name, s.records, s.updated_at, s.feed_urls) for s in store.status()]
    assert [(s.name, s.records, s.updated_at, s.feed_urls) for s in report.sources] == expected
    assert [s.name for s in report.sources] == sorted(rec.SOURCE_ORDER)


def test_import_without_a_checksum_file_is_not_verified(exported: Path, tmp_path: Path) -> None:
    (exported.parent / "export.db.sha256").unlink()
    report = import_db(exported, tmp_path / "target.db")
    assert report.checksum_verified is False
    assert report.sha256 == sha256(exported)


def test_a_checksum_in_upper_case_and_without_a_file_name_is_accepted(exported: Path, tmp_path: Path) -> None:
    (exported.parent / "export.db.sha256").write_text(sha256(exported).upper() + "\n", encoding="utf-8")
    report = import_db(exported, tmp_path / "target.db")
    assert report.checksum_verified is True


@pytest.mark.parametrize(
    "content",
    ["", "\n", "abc123  export.db\n", "x" * 64 + "  export.db\n", "g" * 64 + "\n", "0" * 65 + "\n"],
    ids=["empty", "blank", "short", "64-x", "64-g", "65-hex"],
)
def test_a_checksum_file_without_a_sha256_is_refused(exported: Path, tmp_path: Path, content: str) -> None:
    side = exported.parent / "export.db.sha256"
    side.write_text(content, encoding="utf-8")
    target = tmp_path / "target.db"
    with pytest.raises(DatabaseError) as info:
        import_db(exported, target)
    assert str(info.value) == f"{side}: not a sha256 checksum file"
    assert not target.exists()


def test_import_of_a_missing_file(db: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(DatabaseError) as info:
        import_db(missing, db)
    assert str(info.value) == f"{missing}: no such file to import"


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[Path]:
    """The database ``tmp_path/held/advisories.db`` with its lock held by another open file (flock
    locks belong to the open file, so this process conflicts with itself). Released after 60 s whatever
    happens, so a code path that waits forever ends and fails its test instead of hanging the run."""
    target = tmp_path / "held" / "advisories.db"
    target.parent.mkdir()
    fd = os.open(lock_path(target), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    released = threading.Lock()

    def release() -> None:
        with released:
            fcntl.flock(fd, fcntl.LOCK_UN)

    timer = threading.Timer(60.0, release)
    timer.start()
    try:
        yield target
    finally:
        timer.cancel()
        with released:
            os.close(fd)


def test_import_gives_up_after_the_lock_timeout_it_was_given(exported: Path, held_lock: Path) -> None:
    with pytest.raises(DatabaseError) as info:
        import_db(exported, held_lock, lock_timeout=0.2)
    assert str(info.value) == (
        f"{held_lock}: another update or import holds {held_lock}.lock; gave up after 0.2 s (see --lock-timeout)"
    )
    assert not held_lock.exists()


def test_db_import_lock_timeout_option(
    exported: Path, held_lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``alpinist db import --lock-timeout 0.1`` with the lock held: exit 1, the timeout named."""
    from alpinist.cli.app import main

    with pytest.raises(SystemExit) as stopped:
        main(["db", "import", "--db", str(held_lock), "--lock-timeout", "0.1", str(exported)])
    assert stopped.value.code == 1
    assert capsys.readouterr().err == (
        f"alpinist: error: {held_lock}: another update or import holds {held_lock}.lock; gave up after "
        "0.1 s (see --lock-timeout)\n"
    )
    assert not held_lock.exists()


# --------------------------------------------------------------------------- what an update tells


def _parse_events(name: str, version: int) -> list[tuple[str, str, int]]:
    """The ``parse`` progress of one fake feed: the rows parsed so far after each batch."""
    out, done = [], 0
    for batch in rec.batches(name, version):
        done += len(batch.affected) + len(batch.vulnerabilities)
        out.append((name, "parse", done))
    return out


def test_an_update_reports_its_steps_and_checkpoints_in_order(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over an existing database: every feed downloaded, then the incremental feed (nvd) parsed while the
    indexes exist, the full feeds, the indexes rebuilt, the check, the install; the crash tests' hook is
    called at each named step."""
    steps: list[str] = []
    monkeypatch.setattr(update_module, "_checkpoint", steps.append)
    events: list[UpdateProgress] = []
    update(db, rec.sources(2), None, progress=events.append)  # type: ignore[arg-type]
    assert [(e.source, e.phase, e.done) for e in events] == [
        *[(name, "download", 0) for name in rec.SOURCE_ORDER],
        *_parse_events("nvd", 2),
        *_parse_events("alpine", 2),
        *_parse_events("debian", 2),
        *_parse_events("osv", 2),
        ("", "index", 0),
        ("", "check", 0),
        ("", "install", 0),
    ]
    assert all(e.total is None for e in events)
    batches = sum(len(rec.batches(name, 2)) for name in rec.SOURCE_ORDER)
    assert steps == ["locked", "downloaded", *["inserting"] * batches, "checked", "replaced"]


def test_the_report_counts_what_each_feed_inserted(db: Path) -> None:
    report = update(db, rec.sources(2), None)  # type: ignore[arg-type]
    assert report.db_path == db and not report.reused
    with Store.open(db) as store:
        records = {s.name: s.records for s in store.status()}
    expected = [
        SourceReport(
            name=name,
            records=records[name],
            affected_rows=sum(len(b.affected) for b in rec.batches(name, 2)),
            vulnerability_rows=sum(len(b.vulnerabilities) for b in rec.batches(name, 2)),
            incremental=name == "nvd",
            files=1,
        )
        for name in rec.SOURCE_ORDER
    ]
    assert list(report.sources) == expected


def test_an_update_waiting_for_a_held_lock_says_so_then_gives_up(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(update_module, "_checkpoint", steps.append)
    events: list[UpdateProgress] = []
    before = sha256(db)
    fd = os.open(lock_path(db), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DatabaseError) as info:
            update(db, rec.sources(2), None, progress=events.append, lock_timeout=0.25)  # type: ignore[arg-type]
    finally:
        os.close(fd)
    assert str(info.value) == (
        f"{db}: another update or import holds {db}.lock; gave up after 0.25 s (see --lock-timeout)"
    )
    assert events == [UpdateProgress("", "wait")]
    assert steps == ["lock-busy"]
    assert sha256(db) == before


def test_unknown_sources_are_all_named_with_the_known_ones(db: Path) -> None:
    with pytest.raises(DatabaseError) as info:
        update(db, rec.sources(2), None, only=["redhat", "alpine", "centos"])  # type: ignore[arg-type]
    assert str(info.value) == "unknown advisory source redhat, centos (known: alpine, debian, osv, nvd)"


def test_a_partial_update_of_a_database_of_another_schema_asks_for_a_full_one(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(DatabaseError) as info:
        update(db, rec.sources(2), None, only=["alpine"])  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"{db}: database schema version 0")
    assert message.endswith("; run `alpinist db update` for all sources (no --source) to rebuild it")


def test_a_disk_that_fills_while_a_feed_downloads_names_the_database_and_its_directory(
    tmp_path: Path,
) -> None:
    """A real 1 MiB tmpfs and a feed that writes 2 MiB: one line naming the database and where the update
    writes, never the download directory, which is gone."""
    data = tmp_path / "data"
    with tmpfs(data, size="1m") as mounted:
        if not mounted:
            pytest.skip("needs root and mount(8) for a real 1 MiB tmpfs")
        db = data / "advisories.db"
        with pytest.raises(DatabaseError) as info:
            update(db, {"alpine": Feed(written="big.json", written_size=2 << 20)}, None)
        assert str(info.value) == (
            f"{db}: update failed: No space left on device (the update writes its downloads and the new "
            f"database beside the database, in {data})"
        )
        assert sorted(p.name for p in data.iterdir()) == ["advisories.db.lock"]


def test_the_database_says_when_and_by_which_alpinist_it_was_updated(tmp_path: Path) -> None:
    from alpinist import __version__

    db = tmp_path / "advisories.db"
    report = update(db, rec.sources(1), None)  # type: ignore[arg-type]
    with Store.open(db) as store:
        meta = store.meta()
        cursors = {name: store.source_cursor(name) for name in rec.SOURCE_ORDER}
    assert meta["updated_at"] == report.updated_at.isoformat()
    assert meta["alpinist_version"] == __version__
    # only the incremental feed gets a cursor: the update's start, to the second, in UTC
    assert {name for name, cursor in cursors.items() if cursor is not None} == {"nvd"}
    nvd = cursors["nvd"]
    assert nvd is not None and len(nvd) == len("2026-01-01T00:00:00+00:00") and nvd.endswith("+00:00")


def test_a_stale_download_symlink_is_removed_and_never_followed(db: Path, tmp_path: Path) -> None:
    """What a killed run left beside the database goes: a ``.new-*`` file, a ``.download-*`` directory,
    and a ``.download-*`` symlink, which is unlinked (the directory it points to keeps its files)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.json").write_text("{}", encoding="utf-8")
    (db.parent / "advisories.db.download-999998").symlink_to(elsewhere, target_is_directory=True)
    (db.parent / "advisories.db.download-999999").mkdir()
    (db.parent / "advisories.db.download-999999" / "page.json").write_text("{}", encoding="utf-8")
    (db.parent / "advisories.db.new-999999").write_bytes(b"partial")
    update(db, rec.sources(2), None)  # type: ignore[arg-type]
    assert sorted(p.name for p in db.parent.iterdir()) == ["advisories.db", "advisories.db.lock"]
    assert (elsewhere / "keep.json").read_text(encoding="utf-8") == "{}"


def test_the_lock_file_is_readable_by_all_writable_by_its_owner(tmp_path: Path) -> None:
    db = tmp_path / "advisories.db"
    old = os.umask(0)
    try:
        update(db, rec.sources(1), None)  # type: ignore[arg-type]
    finally:
        os.umask(old)
    assert lock_path(db).stat().st_mode & 0o777 == 0o644


def test_if_missing_rebuilds_a_database_that_appeared_but_cannot_be_used(db: Path) -> None:
    """``if_missing`` reuses only a database the store opens: an alpinist database of another schema
    version found under the lock is rebuilt, not taken as it is."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.close()
    report = update(db, rec.sources(2), None, if_missing=True)  # type: ignore[arg-type]
    assert not report.reused
    assert [s.name for s in report.sources] == list(rec.SOURCE_ORDER)
    with Store.open(db) as store:  # the current schema again
        assert {s.name for s in store.status()} == set(rec.SOURCE_ORDER)


class _LosingWriter(StoreWriter):
    """A hand-written fake, for a failure the real store cannot produce: a writer that counts rows as
    inserted and loses them (the last affected row of each batch, or every vulnerability). The update's
    check after each feed exists for such a store bug; this is the only way to make it speak."""

    lose = "affected"

    def add(self, affected: Sequence[Affected], vulnerabilities: Sequence[Vulnerability]) -> None:
        if self.lose == "affected":
            super().add(affected[:-1], vulnerabilities)
            self.inserted_affected += 1 if affected else 0
        else:
            super().add(affected, ())
            self.inserted_vulnerabilities += len(vulnerabilities)


@pytest.mark.parametrize(
    ("lose", "source", "counts"),
    [
        ("affected", "alpine", "8 affected rows inserted, 4 found; 0 vulnerabilities inserted, 0 found; 4"),
        (
            "vulnerabilities",
            "nvd",
            "0 affected rows inserted, 0 found; 3 vulnerabilities inserted, 0 found; 0",
        ),
        (
            "vulnerabilities",
            "debian",
            "4 affected rows inserted, 4 found; 4 vulnerabilities inserted, 0 found; 4",
        ),
    ],
)
def test_a_feed_whose_rows_did_not_all_land_fails_its_check(
    db: Path, monkeypatch: pytest.MonkeyPatch, lose: str, source: str, counts: str
) -> None:
    monkeypatch.setattr(_LosingWriter, "lose", lose)
    monkeypatch.setattr(update_module, "StoreWriter", _LosingWriter)
    fresh = db.with_name("fresh.db")  # a first update: even nvd is loaded in full, and checked
    with pytest.raises(DatabaseError) as info:
        update(fresh, {source: rec.sources(2)[source]}, None)  # type: ignore[dict-item]
    message = f"{update_module.temp_path(fresh)}: check failed for source {source}: {counts} records"
    assert str(info.value) == message
    assert not fresh.exists()


def test_clean_stale_returns_what_it_removed(db: Path) -> None:
    new = db.parent / "advisories.db.new-999999"
    download = db.parent / "advisories.db.download-999999"
    new.write_bytes(b"partial")
    download.mkdir()
    assert sorted(update_module.clean_stale(db)) == [download, new]
    assert update_module.clean_stale(db) == []


def test_a_leftover_that_cannot_be_removed_does_not_stop_the_update(db: Path) -> None:
    """A stale download directory that is a read-only mount (a real tmpfs): its removal fails, quietly,
    and the update goes on."""
    stuck = db.parent / "advisories.db.download-999999"
    with tmpfs(stuck, size="1m") as mounted:
        if not mounted:
            pytest.skip("needs root and mount(8) for a real tmpfs")
        (stuck / "page.json").write_text("{}", encoding="utf-8")
        subprocess.run(["mount", "-o", "remount,ro", str(stuck)], check=True, capture_output=True, timeout=30)
        report = update(db, rec.sources(2), None)  # type: ignore[arg-type]
        assert [s.name for s in report.sources] == list(rec.SOURCE_ORDER)
        assert (stuck / "page.json").read_text(encoding="utf-8") == "{}"


def test_a_first_update_makes_the_missing_parent_directories(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "c" / "advisories.db"
    update(db, rec.sources(1), None)  # type: ignore[arg-type]
    with Store.open(db) as store:
        assert {s.name for s in store.status()} == set(rec.SOURCE_ORDER)
