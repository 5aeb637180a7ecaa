"""Stream image layers into the merged ``FileView``: verified, bounded, never extracted to disk.

One layer is read on its own (``read_layer``) so that layers can be read in parallel: the expensive
steps (file reads, sha256 of the blob, isal/zstd decompression, sha256 of the tar) run in C with the
GIL released (measured: two threads decompress or hash two layers in half the time of one). Tar
headers are parsed by ``tarstream.TarReader`` rather than the standard library's ``tarfile``, whose
per-member header handling (pure Python, holding the GIL) was three quarters of a layer's time and
serialised the threads (figures in ``tarstream``). Even so, on an image of tens of thousands of files
the per-member Python work (headers, path checks, one ``FileEntry`` each: 20-25 us a member) is most of
the time, and threads run it one at a time. So the layers of a local image (``oci:``, ``oci-archive:``,
``docker-archive:``: a worker opens its blob itself, nothing is copied through a pipe) are read in
forked worker processes when there is enough to parse (``PROCESS_MIN_BYTES``), the entries sent back
as plain tuples, while the parent reads the largest layer itself; registry blobs stay in threads (an
HTTP client must not cross a fork). Within a layer, decompression runs one chunk ahead of the parsing
in a thread of its own (``_Prefetch``) and the diff_id's hash in another (``_Hasher``). Figures in
``bench/README.md``. ``merge_layers`` then applies the layers bottom to top with overlayfs/OCI
semantics (whiteouts, opaque directories, a non-directory replacing a directory).

Every blob is checked against its digest and size (``VerifyingReader``), the uncompressed stream
against the config's diff_id, and every member against hostile tricks: absolute or escaping paths,
escaping hardlinks, oversize selected files, decompression bombs, truncated members, too many members.

A decompression bomb is bounded by what it costs, not by its compression ratio: content nobody reads
(a 300 MB ``/var/log/lastlog`` of zeros grown by ``useradd`` with a high uid, hadolint's DL3046) is
streamed through the hashes and dropped, so it costs time and no memory. One layer may produce at most
``Limits.max_layer_bytes`` uncompressed bytes (16 GiB) and spend at most ``Limits.max_layer_seconds``
(600 s) decompressing, hashing and parsing, not counting the time spent waiting for its compressed
bytes (a slow disk or network has its own bounds); beyond either the layer is refused with one line.

Selected files come in two kinds (``PathSelector``): essential ones are kept whole and one above
``Limits.max_file_bytes`` refuses the layer; evidence selected with a ``truncate`` cap keeps only its
first bytes (``FileEntry.truncated``), and the rest of the member is skipped like unselected data: the
decompressed chunks flow through the hashes and are dropped, nothing of them is kept.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import gzip
import hashlib
import io
import itertools
import os
import posixpath
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

import zstandard
from isal import igzip, isal_zlib

from alpinist.errors import AlpinistError, BlobError, CorruptLayer, DigestMismatch, ManifestError, UnsafeLayer
from alpinist.images.source import ImageSource, ResolvedImage, VerifyingReader, split_digest
from alpinist.images.tarstream import TarMember, TarReader
from alpinist.images.view import CompiledSelector, FileEntry, FileView, PathSelector
from alpinist.images.view import normalize_member_path as _normalize
from alpinist.models import Descriptor, LayerInfo

__all__ = ["LayerResult", "Limits", "build_view", "merge_layers", "read_layer"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

_new_tuple = tuple.__new__
_CHUNK = 1 << 20  # uncompressed bytes produced per step: large enough that hashlib/isal release the GIL
_RAW_BUFFER = 1 << 18  # compressed bytes read from the source per call
# isal's stub declares IsalError as an instance; at run time it is the exception class.
_ISAL_ERROR = cast("type[Exception]", isal_zlib.IsalError)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 64 * 1024 * 1024  # cap on one selected file's content; larger -> UnsafeLayer
    max_layer_bytes: int = 16 * 1024**3  # uncompressed bytes of one layer (read or not); more -> UnsafeLayer
    # seconds one layer may spend decompressing, hashing and parsing (not waiting for its compressed
    # bytes); about 20 times what max_layer_bytes of zeros takes on one core. More -> UnsafeLayer
    max_layer_seconds: float = 600.0
    max_members: int = 2_000_000
    max_path_bytes: int = 4096
    # members of all layers together: each becomes a FileEntry (about 300 bytes) held until the merge,
    # so without an image-wide cap many small layers of max_members each would exhaust memory
    max_image_members: int = 2_000_000


@dataclass(frozen=True)
class LayerResult:
    """One layer, read on its own."""

    index: int
    digest: str
    compressed_size: int
    uncompressed_size: int
    diff_id: str  # digest of the uncompressed tar, computed while reading
    entries: dict[str, FileEntry]
    whiteouts: frozenset[str]  # paths this layer deletes from the layers below
    opaque_dirs: frozenset[str]  # directories whose lower-layer contents this layer hides
    members: int = 0  # tar members read (headers), for the image-wide bound


class _LayerTarReader(TarReader):
    """``TarReader`` that can also read only the first bytes of a member's data."""

    def read_head(self, member: TarMember, size: int) -> bytes:
        """The first ``size`` bytes of the current regular member (at most once); the iterator then skips
        the rest of its data without keeping it."""
        if member is not self._current or self._data_read:
            raise RuntimeError("only the current member's data can be read, and only once")
        if not member.is_regular:
            raise RuntimeError(f"member {member.name!r} is not a regular file")
        self._data_read = True
        want = min(size, member.size)
        data = self._take(want)
        if len(data) != want:
            raise self._corrupt(
                f"truncated: member {member.name!r} claims {member.size} bytes but the stream "
                f"ends after {len(data)}"
            )
        return data


class _Cancelled(Exception):
    """Another layer failed: stop reading this one (never escapes ``build_view``)."""


# --------------------------------------------------------------------------------------------------
# decompression


class _ZstdFrameWalker:
    """Follow the frame and block structure of the compressed zstd bytes as they stream past.

    Hand-written because python-zstandard's streaming readers return a clean EOF when the input ends
    in the middle of a frame (``stream_reader``, ``read_to_iter``), and its ``decompressobj``, which
    does report ``eof``, cannot bound its output (a bomb would be materialised in one call). Walking
    the block headers (RFC 8878 section 3.1) costs a few operations per 128 KiB block and tells
    whether the stream ended on a frame boundary. Decoding itself stays in libzstd.
    """

    _ZSTD_FRAME = 0xFD2FB528
    _SKIPPABLE_MASK = 0xFFFFFFF0
    _SKIPPABLE = 0x184D2A50

    def __init__(self, digest: str, index: int) -> None:
        self._digest = digest
        self._index = index
        self._pending = bytearray()  # bytes of the header being assembled
        self._need = 4  # header bytes wanted in state
        self._skip = 0  # payload bytes to pass over
        self._state = "magic"
        self._checksum = False
        self.frames = 0

    @property
    def at_boundary(self) -> bool:
        return self._state == "magic" and self._skip == 0 and not self._pending

    def feed(self, data: bytes) -> None:
        pos = 0
        n = len(data)
        while pos < n:
            if self._skip:
                step = min(self._skip, n - pos)
                self._skip -= step
                pos += step
                continue
            take = min(self._need - len(self._pending), n - pos)
            self._pending += data[pos : pos + take]
            pos += take
            if len(self._pending) == self._need:
                header = bytes(self._pending)
                self._pending.clear()
                self._advance(header)

    def _advance(self, header: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(header, "little")
            if magic == self._ZSTD_FRAME:
                self._state, self._need = "descriptor", 1
            elif magic & self._SKIPPABLE_MASK == self._SKIPPABLE:
                self._state, self._need = "skippable", 4
            else:
                raise CorruptLayer(
                    self._digest, f"layer {self._index}: zstd stream holds data that is not a zstd frame"
                )
        elif state == "skippable":
            self._skip = int.from_bytes(header, "little")
            self._state, self._need = "magic", 4
            self.frames += 1
        elif state == "descriptor":
            fhd = header[0]
            fcs_flag, single_segment = fhd >> 6, (fhd >> 5) & 1
            if (fhd >> 3) & 1:
                raise CorruptLayer(
                    self._digest, f"layer {self._index}: zstd frame header has its reserved bit set"
                )
            self._checksum = bool((fhd >> 2) & 1)
            fcs_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 3] + fcs_size
            self._skip = rest
            self._state, self._need = "block", 3
        elif state == "block":
            value = int.from_bytes(header, "little")
            last, block_type, size = value & 1, (value >> 1) & 3, value >> 3
            if block_type == 3:
                raise CorruptLayer(self._digest, f"layer {self._index}: zstd block of the reserved type")
            self._skip = 1 if block_type == 1 else size
            if last:
                self._skip += 4 if self._checksum else 0
                self._state, self._need = "magic", 4
                self.frames += 1


class _WalkingReader:
    """Raw compressed bytes for libzstd, shown to the frame walker on the way."""

    def __init__(self, read: Callable[[int], bytes], walker: _ZstdFrameWalker) -> None:
        self._read = read
        self._walker = walker

    def read(self, size: int = -1) -> bytes:
        data = self._read(size if size and size > 0 else _RAW_BUFFER)
        self._walker.feed(data)
        return data


class _Prefixed(io.RawIOBase):
    """The magic bytes already read to choose the decompressor, then the rest of the blob."""

    def __init__(self, head: bytes, rest: VerifyingReader) -> None:
        super().__init__()
        self._head = head
        self._rest = rest
        self.waited = 0.0  # seconds spent waiting for the source's bytes (not the layer's own work)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            view = memoryview(buffer).cast("B")
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        start = time.monotonic()
        try:
            return self._rest.readinto(buffer)
        finally:
            self.waited += time.monotonic() - start


class _Producer:
    """Uncompressed chunks of one layer: hashed (diff_id), counted and bounded as they are made."""

    def __init__(
        self,
        verifying: VerifyingReader,
        descriptor: Descriptor,
        index: int,
        limits: Limits,
        diff_algorithm: str,
        cancel: threading.Event | None,
        blob_is_diff: bool = False,
    ) -> None:
        self._digest = descriptor.digest
        self._index = index
        self._limits = limits
        self._cancel = cancel
        self.hash: Any = hashlib.new(diff_algorithm)
        self.total = 0
        self._walker: _ZstdFrameWalker | None = None
        head = b""
        try:
            while len(head) < 4:  # a network stream may hand out fewer bytes than asked
                more = verifying.read(4 - len(head))
                if not more:
                    break
                head += more
        except AlpinistError:
            raise
        except OSError as exc:
            raise BlobError(self._digest, f"layer {index}: read failed: {exc}") from None
        self._started = time.monotonic()
        self._raw = _Prefixed(head, verifying)
        buffered = io.BufferedReader(self._raw, _RAW_BUFFER)
        self._read: Callable[[int], bytes]
        if head[:2] == GZIP_MAGIC:
            # isal's C reader handles multi-member gzip and zero padding after the last member.
            self._read = igzip.IGzipFile(fileobj=buffered, mode="rb").read  # type: ignore[no-untyped-call]
        elif head == ZSTD_MAGIC:
            self._walker = _ZstdFrameWalker(self._digest, index)
            reader = zstandard.ZstdDecompressor().stream_reader(
                cast(IO[bytes], _WalkingReader(buffered.read, self._walker)),
                read_size=_RAW_BUFFER,
                read_across_frames=True,
            )
            self._read = reader.read
        else:
            # Docker archives carry uncompressed layers whatever the media type says.
            self._read = buffered.read
            if blob_is_diff:
                # The blob digest is the diff_id and VerifyingReader already hashes these very bytes:
                # hashing them a second time would only double the cost of an uncompressed layer.
                self.hash = None

    def next_chunk(self) -> bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise _Cancelled
        try:
            chunk = self._read(_CHUNK)
        except AlpinistError:
            raise
        except EOFError:
            raise CorruptLayer(
                self._digest, f"layer {self._index}: gzip stream is truncated (or followed by garbage)"
            ) from None
        except (gzip.BadGzipFile, _ISAL_ERROR) as exc:
            raise CorruptLayer(self._digest, f"layer {self._index}: gzip stream is corrupt: {exc}") from None
        except zstandard.ZstdError as exc:
            raise CorruptLayer(self._digest, f"layer {self._index}: zstd stream is corrupt: {exc}") from None
        except OSError as exc:
            raise BlobError(self._digest, f"layer {self._index}: read failed: {exc}") from None
        if not chunk:
            if self._walker is not None and not (self._walker.at_boundary and self._walker.frames):
                raise CorruptLayer(self._digest, f"layer {self._index}: zstd stream is truncated")
            return b""
        if self.hash is not None:
            self.hash.update(chunk)
        self.total += len(chunk)
        limits = self._limits
        if self.total > limits.max_layer_bytes:
            raise UnsafeLayer(
                self._digest,
                f"layer {self._index}: decompression bomb: more than {limits.max_layer_bytes} "
                "uncompressed bytes (the size bound of one layer)",
            )
        busy = time.monotonic() - self._started - self._raw.waited
        if busy > limits.max_layer_seconds:
            raise UnsafeLayer(
                self._digest,
                f"layer {self._index}: decompression bomb: still unpacking after {limits.max_layer_seconds:g} s "
                f"of work ({self.total} uncompressed bytes so far; the time bound of one layer)",
            )
        return chunk


class _Prefetch:
    """The producer's chunks made ahead in a thread of their own, so that decompressing (C, without the
    GIL) runs beside the tar parsing of the chunks before (Python, with it) instead of between them. A
    layer's reader otherwise alternates the two on one core: the many-file bench image's largest layer
    spent 0.22 s of its 0.49 s in isal and sha256 (the hash now has a thread of its own, ``_Hasher``).
    At most ``DEPTH`` chunks wait (1 MiB each). The producer's errors come out in stream order, where its
    chunk would have. ``close()`` stops the thread and waits for it: nothing reads the blob after it returns."""

    DEPTH = 2

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self._next = next_chunk
        self._queue: queue.SimpleQueue[bytes | BaseException] = queue.SimpleQueue()
        self._room = threading.Semaphore(self.DEPTH)
        self._stop = False
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="alpinist-inflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._room.acquire()
                if self._stop:
                    return
                chunk = self._next()
                self._queue.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reading thread, which raises it
            self._queue.put(exc)

    def next_chunk(self) -> bytes:
        if self._ended:  # the end stays the end (a reader may ask again)
            return b""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        self._room.release()
        self._ended = not item
        return item

    def close(self) -> None:
        self._stop = True
        self._room.release()  # wake a producer waiting for room: it sees the stop and ends
        self._thread.join()


class _Hasher:
    """The diff_id's hash of the uncompressed chunks, in a thread of its own: a chunk is immutable, so
    it is hashed while the producer decompresses the next one and the parser reads it. In the producer
    the hash came between two decompressions (python-app:debian's largest layer, 250 MB uncompressed:
    0.19 s of sha256 in a 0.63 s chain). ``update`` waits when ``DEPTH`` chunks are queued;
    ``hexdigest`` waits for the last one. ``close()`` ends the thread (once no more ``update`` comes)."""

    DEPTH = 4

    def __init__(self, hash: Any) -> None:
        self._hash = hash
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._room = threading.Semaphore(self.DEPTH)
        self._thread = threading.Thread(target=self._run, name="alpinist-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        update = self._hash.update
        while (chunk := self._queue.get()) is not None:
            update(chunk)
            self._room.release()

    def update(self, chunk: bytes) -> None:
        self._room.acquire()
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return str(self._hash.hexdigest())


# --------------------------------------------------------------------------------------------------
# one layer


def read_layer(
    raw: BinaryIO,
    descriptor: Descriptor,
    index: int,
    selector: CompiledSelector,
    limits: Limits,
    expected_diff_id: str | None = None,
) -> LayerResult:
    """Read one layer blob: every member as a ``FileEntry``, selected contents kept, digests checked."""
    return _read_layer(raw, descriptor, index, selector, limits, expected_diff_id, None, None)


def _read_layer(
    raw: BinaryIO,
    descriptor: Descriptor,
    index: int,
    selector: CompiledSelector,
    limits: Limits,
    expected_diff_id: str | None,
    cancel: threading.Event | None,
    image_members: Iterator[int] | None,
) -> LayerResult:
    """``image_members`` counts members across the layers of one image (shared by the threads)."""
    digest = descriptor.digest
    algorithm = "sha256"
    if expected_diff_id is not None:
        try:
            algorithm, _ = split_digest(expected_diff_id)
        except BlobError:
            raise DigestMismatch(
                digest, f"layer {index}: the config's diff_id {expected_diff_id!r} is malformed"
            ) from None
    verifying = VerifyingReader(raw, digest, descriptor.size)

    def unsafe(reason: str) -> UnsafeLayer:
        return UnsafeLayer(digest, f"layer {index}: {reason}")

    entries: dict[str, FileEntry] = {}
    whiteouts: set[str] = set()
    opaque: set[str] = set()
    count = 0
    try:
        # Two threads besides this one, decompressing and hashing the tar: each stops (and is waited for)
        # at the end of this block, before anything reads the blob again; the last registered stops
        # first: the decompressing one, which feeds the hashing one.
        with ExitStack() as threads:
            producer = _Producer(
                verifying,
                descriptor,
                index,
                limits,
                algorithm,
                cancel,
                blob_is_diff=expected_diff_id == digest,
            )
            if producer.hash is not None:
                producer.hash = hasher = _Hasher(producer.hash)  # what the producer updates, in a thread
                threads.callback(hasher.close)
            prefetch = _Prefetch(producer.next_chunk)
            threads.callback(prefetch.close)
            reader = _LayerTarReader(
                prefetch.next_chunk,
                digest,
                f"layer {index}",
                max_members=limits.max_members,
                max_path_bytes=limits.max_path_bytes,
            )
            for member in reader:
                count += 1
                if image_members is not None and next(image_members) > limits.max_image_members:
                    raise unsafe(_too_many_members(limits))
                _member(member, reader, index, selector, limits, entries, whiteouts, opaque, unsafe)
        verifying.verify_rest()
    except CorruptLayer:
        # A blob damaged in transit is a digest mismatch, not a hostile layer: say so when the rest of
        # the blob (bounded by its descriptor's size) shows it.
        verifying.verify_rest()
        raise
    # without a hash of its own, the tar is the blob, whose digest verify_rest has just checked
    diff_id = digest if producer.hash is None else f"{algorithm}:{producer.hash.hexdigest()}"
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise DigestMismatch(
            digest,
            f"layer {index}: uncompressed content hashes to {diff_id}, the config's diff_id is "
            f"{expected_diff_id}",
        )
    return LayerResult(
        index=index,
        digest=digest,
        compressed_size=verifying.bytes_read,
        uncompressed_size=producer.total,
        diff_id=diff_id,
        entries=entries,
        whiteouts=frozenset(whiteouts),
        opaque_dirs=frozenset(opaque),
        members=count,
    )


def _too_many_members(limits: Limits) -> str:
    return f"more than {limits.max_image_members} tar members in the image's layers"


def _member(
    member: TarMember,
    reader: _LayerTarReader,
    index: int,
    selector: CompiledSelector,
    limits: Limits,
    entries: dict[str, FileEntry],
    whiteouts: set[str],
    opaque: set[str],
    unsafe: Callable[[str], UnsafeLayer],
) -> None:
    name = member.name  # the reader has refused negative sizes
    # a character takes at most 4 bytes in UTF-8 (a surrogate-escaped byte 1): most names need no encoding
    if len(name) * 4 > limits.max_path_bytes and len(name.encode("utf-8", "surrogateescape")) > (
        limits.max_path_bytes
    ):
        raise unsafe(f"member path of {len(name)} characters is longer than {limits.max_path_bytes} bytes")
    try:
        path = _normalize(name)
    except ValueError as exc:
        raise unsafe(str(exc)) from None
    if path is None:
        return  # the root directory itself
    slash = path.rfind("/")  # path is absolute and normalized: posixpath.split without its generality
    base = path[slash + 1 :]
    if base.startswith(WHITEOUT_PREFIX):
        parent = path[:slash] or "/"
        if base == OPAQUE_MARKER:
            opaque.add(parent)
        elif not base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) and len(base) > len(WHITEOUT_PREFIX):
            whiteouts.add(posixpath.join(parent, base[len(WHITEOUT_PREFIX) :]))
        # other ".wh..wh.*" names are aufs bookkeeping (hardlink dirs), not part of the filesystem
        return
    kind = member.kind  # regular, contiguous and (as POSIX says) unknown types are "file"
    linkname: str | None = None
    content: bytes | None = None
    truncated = False
    size = member.size
    if kind in ("symlink", "hardlink") and len(member.linkname.encode("utf-8", "surrogateescape")) > (
        limits.max_path_bytes
    ):
        raise unsafe(f"link target of {name!r} is longer than {limits.max_path_bytes} bytes")
    if kind == "symlink":
        linkname = member.linkname  # as written: FileView.realpath clamps it to the image root
        size = 0
    elif kind == "hardlink":
        try:
            linkname = _normalize(member.linkname)
        except ValueError as exc:
            raise unsafe(f"hardlink {name!r}: {exc}") from None
        if linkname is None:
            raise unsafe(f"hardlink {name!r} points at the image root")
        target = entries.get(linkname)
        size = target.size if target is not None else 0
        if target is not None and target.content is not None and selector.wants(path):
            cap = selector.cap(path)
            if cap is None:
                # an essential path gets whole contents or none (as if the target were not selected)
                content = None if target.truncated else target.content
            else:
                content = target.content[: min(cap, limits.max_file_bytes)]
                truncated = target.truncated or len(content) < len(target.content)
    elif kind == "file":
        # an unknown type's data has no known meaning: recorded, never read
        if member.is_regular and selector.wants(path):
            cap = selector.cap(path)
            if cap is None:
                if size > limits.max_file_bytes:
                    raise unsafe(
                        f"selected file {path} is {size} bytes, above the {limits.max_file_bytes} limit"
                    )
                content = reader.read_data(member, limits.max_file_bytes)
            else:
                keep = min(cap, limits.max_file_bytes)
                content = reader.read_head(member, keep)
                truncated = size > keep
    else:
        size = 0  # directories and device nodes: never read
    # FileEntry's fields in order, built by tuple.__new__ (what FileEntry._make does): the named tuple's
    # own __new__ is a Python function, 1.0 us a call with keywords against 0.17 us (one per member)
    entries[path] = _new_tuple(
        FileEntry,
        (path, kind, size, member.mode, index, linkname, content, member.uid, member.gid, truncated),
    )


# --------------------------------------------------------------------------------------------------
# merging


class _Tree:
    """The merged entries, and their paths in sorted order so that the paths under a directory are one
    slice (``bisect``): deleting a subtree costs its own size, whether or not the layer holds the
    directories in between ("a/b/c" alone is a valid tar, and deleting "/a" must reach it).

    The sorted list is made on the first deletion (a whiteout, an opaque directory, a file over a
    directory) after paths were added, not before: most layers delete nothing, and a layer is merged
    with one ``dict.update`` instead of one Python call per entry (45,000 entries took 0.16 s that way);
    one C ``sorted`` is cheaper than a Python index of parents."""

    def __init__(self) -> None:
        self.entries: dict[str, FileEntry] = {}
        self._sorted: list[str] | None = None

    def _paths(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        return self._sorted

    def add(self, path: str, entry: FileEntry) -> None:
        if self._sorted is not None and path not in self.entries:
            bisect.insort(self._sorted, path)  # one memmove: a hostile layer cannot make it re-sort each time
        self.entries[path] = entry

    def add_layer(self, entries: dict[str, FileEntry]) -> None:
        """Every entry of one layer, in the layer's order."""
        current = self.entries
        shared = entries.keys() & current.keys() if current else ()
        if any(current[p].kind == "dir" and entries[p].kind != "dir" for p in shared):
            # overlayfs: a file over a directory hides what was below it, at that point of the layer
            for path, entry in entries.items():
                old = current.get(path)
                if old is not None and old.kind == "dir" and entry.kind != "dir":
                    self.remove_below(path)
                self.add(path, entry)
            return
        if len(shared) != len(entries):
            self._sorted = None  # new paths: sorted again at the next deletion, if any
        current.update(entries)

    def remove_below(self, directory: str) -> None:
        """Delete everything under ``directory`` (not the directory itself)."""
        paths = self._paths()
        prefix = directory.rstrip("/") + "/"
        # the paths starting with "DIR/" sort between "DIR/" and "DIR0" ("0" follows "/" in ASCII)
        lo = bisect.bisect_left(paths, prefix)
        hi = bisect.bisect_left(paths, prefix[:-1] + "0", lo)
        if lo == hi:
            return
        pop = self.entries.pop
        for path in paths[lo:hi]:
            pop(path, None)
        del paths[lo:hi]

    def remove(self, path: str) -> None:
        if path == "/":
            self.remove_below("/")
            return
        if self.entries.pop(path, None) is not None and self._sorted is not None:
            i = bisect.bisect_left(self._sorted, path)
            if i < len(self._sorted) and self._sorted[i] == path:
                del self._sorted[i]
        self.remove_below(path)


def merge_layers(results: Sequence[LayerResult], selector: CompiledSelector) -> FileView:
    """Apply layers bottom to top into the final filesystem (OCI image spec "changesets")."""
    tree = _Tree()
    history: dict[str, list[FileEntry]] = {}
    keep = selector.keep_history
    for result in sorted(results, key=lambda r: r.index):
        for directory in result.opaque_dirs:
            tree.remove_below(directory)
        for path in result.whiteouts:
            tree.remove(path)
        tree.add_layer(result.entries)
        for path in keep & result.entries.keys():
            history.setdefault(path, []).append(result.entries[path])
    return FileView(entries=tree.entries, history=history)


# --------------------------------------------------------------------------------------------------
# an image


def _diff_ids(resolved: ResolvedImage) -> list[str | None]:
    count = len(resolved.layers)
    rootfs = resolved.config.get("rootfs")
    ids: Any = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if ids is None:
        return [None] * count
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ManifestError(f"config {resolved.config_digest}: rootfs.diff_ids is not a list of digests")
    if len(ids) != count:
        raise ManifestError(
            f"config {resolved.config_digest}: {len(ids)} diff_ids for the manifest's {count} layers"
        )
    return list(ids)


def _created_by(resolved: ResolvedImage) -> list[str | None]:
    count = len(resolved.layers)
    history = resolved.config.get("history")
    out: list[str | None] = []
    if isinstance(history, list):
        for item in history:
            if isinstance(item, dict) and not item.get("empty_layer"):
                created = item.get("created_by")
                out.append(created if isinstance(created, str) else None)
    if len(out) != count:
        return [None] * count  # a history that does not line up with the layers is no evidence
    return out


def _parallel_blobs(source: ImageSource) -> bool:
    """Whether ``source.open_blob`` streams can be read from several threads at once.

    Every transport here opens a file handle or a connection per blob. A source whose streams share
    one handle (and would interleave seeks) says so with ``parallel_blobs = False``; its layers are
    then read one at a time.
    """
    return getattr(source, "parallel_blobs", True) is not False


# Worker processes (see ``build_view``): worth their start-up and the copy of the results back only
# when there is enough to parse. Below this many compressed bytes of layers, threads are used.
PROCESS_MIN_BYTES = 16 * 1024 * 1024
# "threads" or "processes" forces one mode (the benchmark compares them in one run); anything else: auto
MODE_ENV = "ALPINIST_LAYER_WORKERS"

# What a forked worker reads: set in the parent just before the pool forks, inherited by the children
# (nothing of it is pickled: a source holds open files and its own state).
_FORK_JOB: tuple[Any, ...] | None = None


def _use_processes(source: ImageSource, layers: Sequence[Descriptor], workers: int) -> bool:
    """Whether to read the layers in forked worker processes rather than threads.

    The header loop is Python and holds the GIL, so threads overlap only the C parts (decompression,
    hashes); processes run the loops of two layers at once. They need a source whose blobs a child can
    open on its own (``fork_safe``: the local transports, one file handle per blob; not a registry,
    whose HTTP client must not cross a fork), ``os.fork``, several workers and enough bytes to parse, and
    a process that may have children: a daemonic one (a Dask worker, a ``multiprocessing`` pool's) may
    not, and reads with threads.
    """
    mode = os.environ.get(MODE_ENV, "auto")
    if mode == "threads" or workers < 2 or not hasattr(os, "fork"):
        return False
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return False
    if getattr(source, "fork_safe", False) is not True:
        return False
    return mode == "processes" or sum(d.size for d in layers) >= PROCESS_MIN_BYTES


def _forked_worker_init() -> None:
    """A worker leaves Ctrl-C and SIGTERM to the parent, which stops it through the shared event."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass(frozen=True)
class _Packed:
    """A ``LayerResult`` on its way back from a worker: the entries as plain tuples, which pickle in C
    (a ``FileEntry`` pickles through ``__getnewargs__``, a Python call per entry: a fifth of a
    worker's time on a 26,000-member layer, measured with py-spy)."""

    result: LayerResult  # with no entries
    rows: list[tuple[Any, ...]]

    @classmethod
    def pack(cls, result: LayerResult) -> _Packed:
        rows = list(map(tuple, result.entries.values()))
        return cls(dataclasses.replace(result, entries={}), rows)

    def unpack(self) -> LayerResult:
        make = FileEntry._make
        return dataclasses.replace(self.result, entries={row[0]: make(row) for row in self.rows})


def _read_blob(
    source: ImageSource,
    descriptor: Descriptor,
    index: int,
    selector: CompiledSelector,
    limits: Limits,
    diff_id: str | None,
    cancel: Any,
    image_members: Iterator[int] | None,
) -> LayerResult:
    """Open one layer's blob and read it (a thread's or a worker process's job)."""
    if cancel.is_set():
        raise _Cancelled
    raw = source.open_blob(descriptor)
    try:
        return _read_layer(raw, descriptor, index, selector, limits, diff_id, cancel, image_members)
    finally:
        raw.close()


def _forked_job(i: int) -> _Packed:
    assert _FORK_JOB is not None
    source, layers, compiled, limits, diff_ids, cancel = _FORK_JOB
    # the image-wide member bound is checked by the parent on the members each layer counted
    return _Packed.pack(_read_blob(source, layers[i], i, compiled, limits, diff_ids[i], cancel, None))


def build_view(
    source: ImageSource,
    resolved: ResolvedImage,
    selector: PathSelector,
    limits: Limits = Limits(),  # frozen, so one shared default is safe
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[FileView, tuple[LayerInfo, ...]]:
    """Read every layer of ``resolved`` (in parallel threads or forked processes), merge them, and
    describe them."""
    global _FORK_JOB
    layers = resolved.layers
    diff_ids = _diff_ids(resolved)
    created_by = _created_by(resolved)
    compiled = selector.compile()
    total = len(layers)
    if workers is None:
        workers = min(total, os.cpu_count() or 1) if _parallel_blobs(source) else 1
    workers = max(1, workers)
    processes = _use_processes(source, layers, workers)
    # biggest blobs first, so the longest layer is never the one left to run alone at the end
    order = sorted(range(total), key=lambda i: layers[i].size, reverse=True)
    results: list[LayerResult | None] = [None] * total
    errors: dict[int, Exception] = {}
    done = 0
    if progress is not None:
        progress(0, total)
    with ExitStack() as pools:
        futures: dict[Future[LayerResult | _Packed], int] = {}
        cancel: Any
        image_members: Iterator[int] | None
        if processes:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("fork")
            cancel = context.Event()
            image_members = None  # worker processes share no counter: checked on the results below
            _FORK_JOB = (source, layers, compiled, limits, diff_ids, cancel)
            # The children's collector would visit every object inherited from the parent and copy each
            # page it touches: frozen objects are left alone (peak memory of the many-file bench image in
            # processes, sum of PSS: 69 -> 59 MiB).
            gc.freeze()
            pools.callback(gc.unfreeze)
            # This process reads the largest layer itself, in a thread, while workers - 1 forked
            # processes read the others: the largest layer's entries (the most, usually) cross no pipe,
            # and one worker process fewer holds its own copy of the pages it touches. The first submit
            # forks every worker, before this process starts a thread of its own.
            forked = pools.enter_context(
                ProcessPoolExecutor(workers - 1, mp_context=context, initializer=_forked_worker_init)
            )
            futures.update((forked.submit(_forked_job, i), i) for i in order[1:])
            own = order[:1]
        else:
            cancel = threading.Event()
            image_members = itertools.count(1)  # next() on it is one C call: safe to share between threads
            own = order
        threads = pools.enter_context(
            ThreadPoolExecutor(
                max_workers=len(own) if processes else workers, thread_name_prefix="alpinist-layer"
            )
        )

        def job(i: int) -> LayerResult:
            return _read_blob(source, layers[i], i, compiled, limits, diff_ids[i], cancel, image_members)

        futures.update((threads.submit(job, i), i) for i in own)
        try:
            for future in as_completed(futures):
                i = futures[future]
                try:
                    done_result = future.result()
                    results[i] = done_result.unpack() if isinstance(done_result, _Packed) else done_result
                except _Cancelled:
                    continue
                except Exception as exc:  # re-raised below, once the other readers have stopped
                    errors[i] = exc
                    cancel.set()
                    continue
                done += 1
                if progress is not None:
                    progress(done, total)
        except BaseException:  # Ctrl-C, or a progress callback that failed: stop the readers too
            cancel.set()
            raise
        finally:
            _FORK_JOB = None
    if errors:
        raise errors[min(errors)]
    complete = [r for r in results if r is not None]
    counted = itertools.accumulate(r.members for r in complete)  # worker processes share no counter
    crossing = next((r for r, n in zip(complete, counted, strict=True) if n > limits.max_image_members), None)
    if crossing is not None:
        raise UnsafeLayer(crossing.digest, f"layer {crossing.index}: {_too_many_members(limits)}")
    view = merge_layers(complete, compiled)
    infos = tuple(
        LayerInfo(
            index=r.index,
            digest=r.digest,
            media_type=layers[r.index].media_type,
            compressed_size=layers[r.index].size,
            uncompressed_size=r.uncompressed_size,
            diff_id=diff_ids[r.index] or r.diff_id,
            created_by=created_by[r.index],
        )
        for r in complete
    )
    return view, infos
