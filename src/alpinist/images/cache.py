"""A content-addressed blob cache: ``<root>/blobs/sha256/<hex>``, written atomically, never trusted blindly.

A blob enters the cache only through ``put_stream``/``put_bytes``: the bytes go to a uniquely named
temporary file in the destination directory while they are hashed, the file is fsynced, and it is
renamed into place (``os.replace`` is atomic on one filesystem) only if the digest and size match.
Several processes may download the same blob at once: each writes its own temporary file and the
last rename wins with identical content. The path name is the only thing trusted on read; consumers
still wrap what ``open`` returns in ``VerifyingReader``, which catches on-disk corruption cheaply.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import platformdirs

from alpinist.errors import BlobError
from alpinist.images.source import VerifyingReader, split_digest, verify_bytes

CACHE_ENV = "ALPINIST_CACHE_DIR"
CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]  # (digest, bytes done, bytes total)


def default_cache_dir() -> Path:
    """``$ALPINIST_CACHE_DIR`` if set, else the platform's per-user cache directory for alpinist."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("alpinist"))


class BlobCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, digest: str) -> Path:
        algo, hexpart = split_digest(digest)  # validates: a digest can never name a path outside root
        return self.root / "blobs" / algo / hexpart

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def open(self, digest: str) -> BinaryIO | None:
        try:
            return self.path_for(digest).open("rb")
        except FileNotFoundError:
            return None

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
        if len(data) > limit:
            return None
        try:
            return verify_bytes(data, digest)
        except BlobError:
            self.discard(digest)
            return None

    def discard(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_for(digest).unlink()

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
        final = self.path_for(digest)
        reader = VerifyingReader(stream, digest, size)
        total = size if size is not None else -1
        try:
            with _atomic_file(final) as out:
                if progress is not None:
                    progress(digest, 0, total)
                while True:
                    chunk = reader.read(CHUNK)
                    if not chunk:  # VerifyingReader checks digest and size at EOF (raises on mismatch)
                        break
                    out.write(chunk)
                    if progress is not None:
                        progress(digest, reader.bytes_read, total)
        finally:
            reader.close()
        return final

    def put_bytes(self, digest: str, data: bytes) -> Path:
        """Store ``data`` (already in memory) under ``digest`` after checking that it hashes to it."""
        verify_bytes(data, digest)
        final = self.path_for(digest)
        with _atomic_file(final) as out:
            out.write(data)
        return final


@contextlib.contextmanager
def _atomic_file(final: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``final`` to write: fsynced and renamed to ``final`` (durably) when the
    block ends, removed when it raises."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name[:16]}-", suffix=".part", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
