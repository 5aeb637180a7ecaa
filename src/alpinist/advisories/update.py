"""Atomic updates of the advisory database, and its export and import.

An update never writes the live file. Under an exclusive lock on ``<db>.lock`` it

1. removes what a killed earlier run left beside the database (``<db>.new-*``, ``<db>.download-*``);
2. downloads every selected feed into ``<db>.download-<pid>/`` (nothing else is touched yet);
3. copies the current database (if any) to ``<db>.new-<pid>`` in the same directory;
4. replaces, source by source and in one transaction each, the rows of the updated feeds in that copy
   (the other feeds' rows stay as they were);
5. checks the copy: ``PRAGMA integrity_check``, schema version, every updated feed holds the rows it
   produced (and some, unless the feed really was empty);
6. fsyncs it, renames it over the database (``os.replace``: atomic on POSIX) and fsyncs the directory.

Whatever fails or whoever kills the process before step 6, the database is the previous one, byte for
byte; after the rename it is the complete new one. A feed that fails names its upstream URL (a page's query
included, an archive member after a colon), never the downloaded file, which is gone by then. A first
``scan`` (``if_missing``) that waited for the lock uses the database the holder built instead of repeating it. A scan never takes the lock: it opens whichever file
the name points to at that moment and keeps reading that inode until it closes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlencode

from alpinist.advisories.feed import Source
from alpinist.advisories.model import SourceStatus
from alpinist.advisories.store import Store, StoreWriter, validate_database
from alpinist.errors import DatabaseError, FeedError

if TYPE_CHECKING:
    from alpinist.advisories.download import Fetcher


Phase = Literal["wait", "download", "parse", "index", "check", "install"]


@dataclass(frozen=True)
class UpdateProgress:
    """One step of an update, for a progress display. ``source`` is empty for whole-database steps."""

    source: str
    phase: Phase
    done: int = 0  # records parsed so far (parse)
    total: int | None = None


ProgressCallback = Callable[[UpdateProgress], None]


@dataclass(frozen=True)
class SourceReport:
    name: str
    records: int  # distinct advisory ids the feed now holds in the database
    affected_rows: int  # rows inserted by this update
    vulnerability_rows: int
    incremental: bool  # only records modified since the last update were fetched
    files: int  # files downloaded


@dataclass(frozen=True)
class UpdateReport:
    db_path: Path
    sources: tuple[SourceReport, ...]
    updated_at: datetime
    # ``if_missing`` and another run built the database while this one waited for the lock: nothing was
    # downloaded, ``sources`` is empty
    reused: bool = False


@dataclass(frozen=True)
class ImportReport:
    db_path: Path
    sha256: str
    checksum_verified: bool  # a FILE.sha256 sidecar was present and matched
    sources: tuple[SourceStatus, ...]


# Test hook: called with the name of each step ("locked", "lock-busy", "downloaded", "inserting",
# "checked", "replaced"). The crash tests set it, in a subprocess, to something that SIGKILLs the process.
def _no_checkpoint(name: str) -> None:
    return None


_checkpoint: Callable[[str], None] = _no_checkpoint


def _step(name: str) -> None:
    _checkpoint(name)


def temp_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.new-{os.getpid()}")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.lock")


def clean_stale(db_path: Path) -> list[Path]:
    """Remove the temporary files and download directories of earlier, killed runs.

    Only call this holding the lock: then no other process is using any of them.
    """
    removed: list[Path] = []
    if not db_path.parent.is_dir():
        return removed
    name = glob.escape(db_path.name)
    for pattern in (f"{name}.new-*", f"{name}.download-*"):
        for stale in db_path.parent.glob(pattern):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


@contextlib.contextmanager
def db_lock(
    db_path: Path, timeout: float | None, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on ``<db>.lock``: wait for it (forever with ``timeout=None``), or raise
    DatabaseError after ``timeout`` seconds. The kernel releases the lock if the holder dies."""
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _step("lock-busy")
            if on_wait is not None:
                on_wait()
            if timeout is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                # flock has no timeout of its own; poll rather than use SIGALRM (not ours to take).
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise DatabaseError(
                                f"{db_path}: another update or import holds {path}; gave up after "
                                f"{timeout:g} s (see --lock-timeout)"
                            ) from None
                        time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _install(tmp: Path, db_path: Path) -> None:
    """fsync ``tmp``, rename it over ``db_path``, fsync the directory."""
    _fsync_file(tmp)
    _step("checked")
    os.replace(tmp, db_path)
    _step("replaced")
    _fsync_dir(db_path.parent)


class _RecordingFetcher:
    """Passes every call through to the real fetcher and notes the URLs a source asked for (the mirror
    applied, without the query string), for the ``feed_urls`` column of ``sources``."""

    def __init__(self, inner: Fetcher) -> None:
        self._inner = inner
        self.urls: dict[str, None] = {}
        self.files: dict[str, str] = {}  # downloaded file -> the upstream URL it came from, query included

    def _note(self, url: str) -> None:
        self.urls[self._inner.url_for(url).split("?", 1)[0]] = None

    def get_to_file(self, url: str, dest: Path, *args: Any, **kwargs: Any) -> Any:
        self._note(url)
        params = kwargs.get("params") if "params" in kwargs else (args[0] if args else None)
        self.files[str(dest)] = f"{url}?{urlencode(params)}" if params else url
        return self._inner.get_to_file(url, dest, *args, **kwargs)

    def get_json(self, url: str, *args: Any, **kwargs: Any) -> Any:
        self._note(url)
        return self._inner.get_json(url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _feed_urls(source: Source, recorder: _RecordingFetcher) -> list[str]:
    """What the source says it read, else what it asked the fetcher for (``Source.feed_urls``)."""
    urls = source.feed_urls()
    return [str(u) for u in urls] if urls is not None else list(recorder.urls)


def _load_source(
    writer: StoreWriter | None,
    source: Source,
    workdir: Path,
    files: list[Path],
    since: str | None,
    cursor: str | None,
    urls: list[str],
    started: datetime,
    notify: ProgressCallback,
    origins: Mapping[str, str],
) -> SourceReport:
    """Parse one downloaded feed into the new database (one transaction) and check what landed."""
    assert writer is not None
    name = source.name
    writer.begin_source(name, incremental=since is not None)
    parsed = 0
    try:
        for batch in source.parse(files):
            writer.add(batch.affected, batch.vulnerabilities)
            parsed += len(batch.affected) + len(batch.vulnerabilities)
            _step("inserting")
            notify(UpdateProgress(name, "parse", parsed))
    except FeedError as exc:
        raise _name_feed(exc, name, workdir, urls, origins) from None
    records = writer.finish_source(urls, cursor, started)
    affected_rows, vuln_rows = writer.count_rows(name)
    # Every affected row inserted is there (they have no key to collapse on); every id given a
    # description has one (the same id twice from one feed collapses to one row).
    if since is None and (
        affected_rows != writer.inserted_affected
        or (vuln_rows == 0) != (writer.inserted_vulnerabilities == 0)
        or (parsed > 0 and records == 0)
    ):
        raise DatabaseError(
            f"{writer.path}: check failed for source {name}: {writer.inserted_affected} affected rows "
            f"inserted, {affected_rows} found; {writer.inserted_vulnerabilities} vulnerabilities "
            f"inserted, {vuln_rows} found; {records} records"
        )
    return SourceReport(
        name=name,
        records=records,
        affected_rows=writer.inserted_affected,
        vulnerability_rows=writer.inserted_vulnerabilities,
        incremental=since is not None,
        files=len(files),
    )


def _name_feed(
    exc: FeedError, name: str, workdir: Path, urls: Sequence[str], origins: Mapping[str, str]
) -> FeedError:
    """A parse error names the downloaded file, in a directory that is about to be removed: say which
    feed and URL it came from instead (``nvd https://…/cves/2.0?startIndex=2000&…``; a member of an
    archive keeps its name after a colon)."""
    for file, url in origins.items():
        if exc.where == file or exc.where.startswith(f"{file}:"):
            return FeedError(f"{name} {url}{exc.where[len(file) :]}", exc.reason, status=exc.status)
    prefix = f"{workdir}/"
    if not exc.where.startswith(prefix):
        return exc
    where = f"{name} {exc.where[len(prefix) :]}" + (f" from {urls[0]}" if len(urls) == 1 else "")
    return FeedError(where, exc.reason, status=exc.status)


def _is_alpinist_database(path: Path) -> bool:
    """Whether ``path`` is an SQLite file that says it is an alpinist advisory database (of any schema
    version, or damaged past its meta table): the only kind of file a full update may replace."""
    import sqlite3

    from alpinist.advisories.store import APPLICATION, sqlite_uri

    try:
        conn = sqlite3.connect(sqlite_uri(path, "ro"), uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == APPLICATION


def _usable(db_path: Path) -> bool:
    """Whether ``db_path`` is a database the store opens (of this schema version, not damaged)."""
    if not db_path.exists():
        return False
    try:
        with Store.open(db_path):
            return True
    except DatabaseError:
        return False


def _cursor_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def update(
    db_path: Path | str,
    sources: Mapping[str, Source],
    fetcher: Any,
    only: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    *,
    lock_timeout: float | None = None,
    if_missing: bool = False,
) -> UpdateReport:
    """Download the selected feeds (default: all of ``sources``) and swap in a database with their new
    rows; see the module docstring for the steps and the guarantees.

    ``if_missing``: the caller found no database (a first ``scan``); when another run built one while
    this one waited for the lock, use it (``UpdateReport.reused``) instead of downloading everything again.
    """
    db_path = Path(db_path)
    names = list(dict.fromkeys(only)) if only else list(sources)
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise DatabaseError(f"unknown advisory source {', '.join(unknown)} (known: {', '.join(sources)})")
    notify: ProgressCallback = progress or (lambda event: None)
    db_path.parent.mkdir(parents=True, exist_ok=True)

    with db_lock(db_path, lock_timeout, on_wait=lambda: notify(UpdateProgress("", "wait"))):
        _step("locked")
        clean_stale(db_path)
        if if_missing and _usable(db_path):
            return UpdateReport(db_path=db_path, sources=(), updated_at=datetime.now(UTC), reused=True)

        reuse_old = db_path.exists()
        cursors: dict[str, str | None] = {}
        if reuse_old:
            try:
                with Store.open(db_path) as old:
                    cursors = {s.name: s.last_modified_cursor for s in old.status()}
            except DatabaseError as exc:
                if not _is_alpinist_database(db_path):
                    # a mistyped --db must never cost someone their file
                    raise DatabaseError(
                        f"{exc}; refusing to replace a file that is not an alpinist advisory database: "
                        "move it away or choose another --db"
                    ) from None
                if set(names) != set(sources):
                    raise DatabaseError(
                        f"{exc}; run `alpinist db update` for all sources (no --source) to rebuild it"
                    ) from None
                reuse_old = False  # a full update replaces an alpinist database it cannot use

        tmp = temp_path(db_path)
        workdir = db_path.with_name(f"{db_path.name}.download-{os.getpid()}")
        writer: StoreWriter | None = None
        try:
            workdir.mkdir()
            started = datetime.now(UTC)
            fetched: dict[str, tuple[list[Path], str | None, str | None, list[str]]] = {}
            origins: dict[str, str] = {}  # downloaded file -> its upstream URL, for error messages
            for name in names:
                source = sources[name]
                incremental = bool(source.incremental)
                since = cursors.get(name) if incremental and reuse_old else None
                notify(UpdateProgress(name, "download"))
                cursor = _cursor_now() if incremental else None
                subdir = workdir / name
                subdir.mkdir()
                recorder = _RecordingFetcher(fetcher)
                # the recorder passes every call through: to the source it is the fetcher (None: a source
                # that fetches nothing, in tests)
                passed = cast("Fetcher", recorder if fetcher is not None else None)
                try:
                    files = source.fetch(passed, subdir, since)
                except FeedError as exc:
                    raise _name_feed(
                        exc, name, subdir, _feed_urls(source, recorder), recorder.files
                    ) from None
                origins.update(recorder.files)
                fetched[name] = (list(files), since, cursor, _feed_urls(source, recorder))
            _step("downloaded")

            if reuse_old:
                shutil.copyfile(db_path, tmp)
            writer = StoreWriter(tmp)
            # Incremental feeds first, while the indexes that find their old rows by id exist; then the
            # indexes go, the full feeds are reloaded, and the indexes are built again in one pass.
            done: dict[str, SourceReport] = {}

            def load(name: str) -> None:
                files, since, cursor, urls = fetched[name]
                done[name] = _load_source(
                    writer,
                    sources[name],
                    workdir / name,
                    files,
                    since,
                    cursor,
                    urls,
                    started,
                    notify,
                    origins,
                )

            for name in [n for n in names if fetched[n][1] is not None]:
                load(name)
            full = [n for n in names if fetched[n][1] is None]
            if full:
                writer.drop_indexes()
                for name in full:
                    load(name)
                notify(UpdateProgress("", "index"))
                writer.create_indexes()
            reports = [done[name] for name in names]
            notify(UpdateProgress("", "check"))
            from alpinist import __version__

            writer.set_meta({"updated_at": started.isoformat(), "alpinist_version": __version__})
            writer.integrity_check()
            writer.close()
            writer = None
            notify(UpdateProgress("", "install"))
            _install(tmp, db_path)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{tmp}: building the new database failed: {exc}") from None
        except OSError as exc:
            # a full or read-only disk while downloading, copying or installing: say which database and
            # where, rather than a bare "[Errno 28] No space left on device" (never the temporary file)
            raise DatabaseError(
                f"{db_path}: update failed: {exc.strerror or exc} (the update writes its downloads and the "
                f"new database beside the database, in {db_path.parent})"
            ) from None
        finally:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
            shutil.rmtree(workdir, ignore_errors=True)
    return UpdateReport(db_path=db_path, sources=tuple(reports), updated_at=started)


# --------------------------------------------------------------------------- export / import


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def export_db(db_path: Path | str, dest: Path | str) -> str:
    """Write a consistent copy of the database to ``dest`` (SQLite online backup) and its sha256 to
    ``dest.sha256`` (``sha256sum -c`` format); returns the digest."""
    db_path, dest = Path(db_path), Path(dest)
    if dest.exists() and dest.resolve() == db_path.resolve():
        raise DatabaseError(f"{dest}: is the database itself; export to another file")
    tmp = dest.with_name(f".{dest.name}.export-{os.getpid()}")
    try:
        with Store.open(db_path) as store:
            out = sqlite3.connect(str(tmp))
            try:
                store._conn.backup(out)
            finally:
                out.close()
        validate_database(tmp)
        digest = sha256_file(tmp)
        _fsync_file(tmp)
        os.replace(tmp, dest)
        side = checksum_path(dest)
        side_tmp = side.with_name(f".{side.name}.export-{os.getpid()}")
        side_tmp.write_text(f"{digest}  {dest.name}\n", encoding="utf-8")
        os.replace(side_tmp, side)
        _fsync_dir(dest.parent)
    except sqlite3.Error as exc:
        raise DatabaseError(f"{dest}: export failed: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def _read_checksum(side: Path) -> str:
    text = side.read_text(encoding="utf-8").strip()
    digest = text.split()[0].lower() if text else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DatabaseError(f"{side}: not a sha256 checksum file")
    return digest


def import_db(src: Path | str, db_path: Path | str, *, lock_timeout: float | None = None) -> ImportReport:
    """Install an exported database: copy it beside the database, check it (the sha256 of
    ``src.sha256`` when that file exists, SQLite integrity, alpinist schema version), and swap it in
    like an update. A file that fails any check leaves the current database untouched."""
    src, db_path = Path(src), Path(db_path)
    if not src.is_file():
        raise DatabaseError(f"{src}: no such file to import")
    side = checksum_path(src)
    expected = _read_checksum(side) if side.is_file() else None
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with db_lock(db_path, lock_timeout):
        clean_stale(db_path)
        tmp = temp_path(db_path)
        try:
            try:
                shutil.copyfile(src, tmp)
            except OSError as exc:  # a full disk, no permission: name the database, never the temporary copy
                raise DatabaseError(
                    f"{db_path}: import of {src} failed: {exc.strerror or exc} (the copy is written beside "
                    f"the database, in {db_path.parent})"
                ) from None
            digest = sha256_file(tmp)
            if expected is not None and digest != expected:
                raise DatabaseError(f"{src}: sha256 is {digest}, {side} says {expected}")
            try:
                statuses = validate_database(tmp)
            except DatabaseError as exc:
                raise DatabaseError(str(exc).replace(str(tmp), str(src))) from None
            _install(tmp, db_path)
        finally:
            tmp.unlink(missing_ok=True)
    return ImportReport(
        db_path=db_path, sha256=digest, checksum_verified=expected is not None, sources=tuple(statuses)
    )
