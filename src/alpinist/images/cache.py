"""A content-addressed blob cache: ``<root>/blobs/sha256/<hex>``, written atomically, never trusted blindly.

A blob enters the cache only through a ``BlobWriter`` (``writer``; ``put_stream`` and ``put_bytes``
use one too): the bytes go to a uniquely named
temporary file in the destination directory while they are hashed, and it is renamed into place
(``os.replace`` is atomic on one filesystem) only if the digest and size match. Nothing is fsynced: a
cache needs no durability, only never to be trusted blindly, and every read checks the digest (a file
that a power cut left empty or torn is a mismatch, discarded and fetched again). An fsync cost 0.14 s
per 100 MB blob on the bench machine, at the end of each layer of a registry pull.
Several processes may download the same blob at once: each writes its own temporary file and the
last rename wins with identical content. The path name is the only thing trusted on read; consumers
still wrap what ``open`` returns in ``VerifyingReader``, which catches on-disk corruption cheaply.

``writer`` serves a blob whose bytes arrive while someone reads them (the registry's layers, parsed as
they download): a ``BlobWriter`` takes each piece as it goes by, and ``commit`` checks the digest and
size and renames the ``.part`` into place; ``abort`` (or any failure) removes it.

Temporary files (``blobs/sha256/.<hex>-XXXX.part``) are locked (``fcntl.flock``) by their writer for as
long as it writes. A killed process leaves its ``.part`` behind, unlocked: the first ``BlobCache`` of
a later process over the same root removes every unlocked ``.part`` (one directory listing), never a
live download of another process. An interrupted or failed write removes its own.

A cache that cannot be written (no space, no permission, a read-only file system) is an ``ImageError``
naming the cache directory and saying that the cache is the problem (``ALPINIST_CACHE_DIR``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import platformdirs

from alpinist.errors import BlobError, DigestMismatch, ImageError
from alpinist.images.source import split_digest, verify_bytes

log = logging.getLogger(__name__)
CACHE_ENV = "ALPINIST_CACHE_DIR"
CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]  # (digest, bytes done, bytes total)

# errors of the cache's own disk, as opposed to the data being written
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO})
_swept: set[Path] = set()  # roots whose stale .part files this process has removed already
_swept_lock = threading.Lock()


def default_cache_dir() -> Path:
    """``$ALPINIST_CACHE_DIR`` if set, else the platform's per-user cache directory for alpinist."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("alpinist"))


def cache_error(path: Path, exc: OSError, doing: str = "cannot write") -> ImageError:
    """The one-line error of a cache that cannot be used, naming its path and the way out."""
    reason = exc.strerror or type(exc).__name__
    return ImageError(
        f"blob cache {path}: {doing}: {reason}; the blob cache is the problem: free space or fix the "
        f"permissions there, or point {CACHE_ENV} at another directory"
    )


def writable_cache(root: Path) -> BlobCache:
    """The blob cache at ``root`` when blobs can be written there; else (a read-only or full disk, no
    permission) a cache in a fresh temporary directory for this process only, removed at exit, with
    one warning naming ``root``: the cache is an optimisation, a pull must not fail for it."""
    probe = root / "blobs" / f".probe-{os.getpid()}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
        return BlobCache(root)
    except OSError as exc:
        import atexit
        import shutil
        import tempfile

        temp = Path(tempfile.mkdtemp(prefix="alpinist-blobs-"))
        atexit.register(shutil.rmtree, temp, True)
        log.warning(
            "blob cache %s cannot be written (%s): blobs of this run are kept in %s and removed at exit "
            "(set %s to a writable directory)",
            root,
            exc.strerror or exc,
            temp,
            CACHE_ENV,
        )
        return BlobCache(temp)


class BlobCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        with _swept_lock:
            first = self.root not in _swept
            _swept.add(self.root)
        if first:
            self.remove_stale_parts()

    def remove_stale_parts(self) -> list[Path]:
        """Remove the ``.part`` files no live writer holds (left by a killed process); return them."""
        removed: list[Path] = []
        blobs = self.root / "blobs"
        try:
            algos = [entry.path for entry in os.scandir(blobs) if entry.is_dir(follow_symlinks=False)]
        except OSError:
            return removed  # no cache yet, or unreadable: the writes say so when they matter
        for algo in algos:
            try:
                names = [
                    e.name for e in os.scandir(algo) if e.name.startswith(".") and e.name.endswith(".part")
                ]
            except OSError:
                continue
            for name in names:
                path = Path(algo) / name
                if _remove_if_unlocked(path):
                    removed.append(path)
        return removed

    def path_for(self, digest: str) -> Path:
        algo, hexpart = split_digest(digest)  # validates: a digest can never name a path outside root
        return self.root / "blobs" / algo / hexpart

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def open(self, digest: str) -> BinaryIO | None:
        path = self.path_for(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise cache_error(path, exc, "cannot read") from None

    def read_bytes(self, digest: str, limit: int) -> bytes | None:
        """The cached blob's bytes, verified, or None when it is absent, too large or corrupt.

        A corrupt cached copy is removed so that the next fetch replaces it.
        """
        path = self.path_for(digest)
        try:
            with path.open("rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise cache_error(path, exc, "cannot read") from None
        if len(data) > limit:
            return None
        try:
            return verify_bytes(data, digest)
        except BlobError:
            self.discard(digest)
            return None

    def discard(self, digest: str) -> None:
        path = self.path_for(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise cache_error(path, exc, "cannot remove a bad copy") from None

    def put_stream(
        self,
        digest: str,
        size: int | None,
        stream: BinaryIO,
        progress: Progress | None = None,
    ) -> Path:
        """Copy ``stream`` into the cache, verifying digest and size; raise DigestMismatch on a mismatch.

        Nothing is left behind unless the whole blob verified. ``stream`` is closed on return.
        ``progress`` gets (digest, bytes so far, size or -1 when unknown).
        """
        writer = self.writer(digest, size)  # checks size as it goes, digest and size at commit
        total = size if size is not None else -1
        try:
            with contextlib.closing(stream):
                if progress is not None:
                    progress(digest, 0, total)
                while chunk := stream.read(CHUNK):
                    writer.write(chunk)
                    if progress is not None:
                        progress(digest, writer.written, total)
            return writer.commit()
        finally:
            writer.abort()  # nothing to do once committed

    def writer(self, digest: str, size: int | None) -> BlobWriter:
        """A ``BlobWriter`` for ``digest``: its ``.part`` is created (and locked) at once."""
        return BlobWriter(self.path_for(digest), digest, size)

    def put_bytes(self, digest: str, data: bytes) -> Path:
        """Store ``data`` (already in memory) under ``digest`` after checking that it hashes to it."""
        writer = self.writer(digest, None)
        try:
            writer.write(data)
            return writer.commit()
        finally:
            writer.abort()  # nothing to do once committed


class BlobWriter:
    """One blob entering the cache piece by piece: a locked ``.part`` beside its final path, hashed and
    counted as it is written. A piece beyond the declared size is refused at once (``DigestMismatch``).
    ``commit()`` checks digest and size and renames the file into place; ``abort()`` removes
    it. Any failure of ``write`` or ``commit`` aborts; once ended, ``abort`` does nothing.
    """

    def __init__(self, final: Path, digest: str, size: int | None) -> None:
        algo, _ = split_digest(digest)
        self.final = final
        self.digest = digest
        self.size = size
        self.written = 0
        self._hash = hashlib.new(algo)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, self.part = _locked_part(final)
        except OSError as exc:
            raise cache_error(final.parent, exc) from None
        try:
            self._out = os.fdopen(fd, "wb")  # closing it releases the lock
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()
            raise
        self._open = True

    @property
    def open(self) -> bool:
        """Neither committed nor aborted yet."""
        return self._open

    def write(self, data: bytes) -> None:
        if not self._open:
            raise ValueError("write to an ended BlobWriter")
        if self.size is not None and self.written + len(data) > self.size:
            self.abort()
            raise DigestMismatch(self.digest, f"blob is larger than its descriptor's {self.size} bytes")
        try:
            self._out.write(data)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
                raise cache_error(self.final.parent, exc) from None
            raise
        self._hash.update(data)
        self.written += len(data)

    def commit(self) -> Path:
        """Check the bytes written against the digest and size, then rename them into the cache."""
        if not self._open:
            raise ValueError("commit of an ended BlobWriter")
        try:
            if self.size is not None and self.written != self.size:
                raise DigestMismatch(self.digest, f"blob is truncated: {self.written} of {self.size} bytes")
            actual = f"{self._hash.name}:{self._hash.hexdigest()}"
            if actual != self.digest:
                raise DigestMismatch(self.digest, f"content hashes to {actual}")
            self._out.flush()
            os.replace(self.part, self.final)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
                raise cache_error(self.final.parent, exc) from None
            raise
        self._open = False
        with contextlib.suppress(OSError):
            self._out.close()  # after the rename: the lock is held until the file has its name
        return self.final

    def abort(self) -> None:
        """Remove the ``.part`` (nothing enters the cache); nothing to do once ended."""
        if not self._open:
            return
        self._open = False
        try:
            with contextlib.suppress(OSError):
                self.part.unlink()  # while still locked: no sweeper sees it unlocked in between
        finally:
            with contextlib.suppress(OSError):
                self._out.close()


def _locked_part(final: Path) -> tuple[int, Path]:
    """A new ``.part`` beside ``final``, created and exclusively locked. A sweeper of another process
    may remove the file between its creation and the lock: then it is made again."""
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{final.name[:16]}-", suffix=".part", dir=final.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.stat(name).st_ino == os.fstat(fd).st_ino:
                return fd, Path(name)
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        os.close(fd)


def _remove_if_unlocked(path: Path) -> bool:
    """Remove ``path`` if no process holds its lock (a writer that died); False when it is live."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # the lock goes with it
