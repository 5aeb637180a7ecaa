"""The layer reader decompresses one step ahead in a thread of its own (``layers._Prefetch``) and hashes
the uncompressed chunks in another (``layers._Hasher``): chunks and the producer's errors come out in
stream order, the read-ahead is bounded, the diff_id is the hash of every chunk, and no thread outlives
the layer, whether it was read to the end or refused half-way."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
from collections.abc import Callable

import pytest

from alpinist.errors import CorruptLayer, UnsafeLayer
from alpinist.images.layers import Limits, _Hasher, _Prefetch, read_layer
from alpinist.images.view import PathSelector

from .test_layers_hostile import desc, member, raw_tar


def _inflate_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("alpinist-inflate", "alpinist-hash")]


def _counting(chunks: list[bytes | Exception]) -> tuple[Callable[[], bytes], list[int]]:
    calls = [0]

    def next_chunk() -> bytes:
        item = chunks[min(calls[0], len(chunks) - 1)]
        calls[0] += 1
        if isinstance(item, Exception):
            raise item
        return item

    return next_chunk, calls


def test_chunks_come_out_in_order_then_the_end() -> None:
    next_chunk, _ = _counting([b"a", b"b", b"c", b""])
    prefetch = _Prefetch(next_chunk)
    assert [prefetch.next_chunk() for _ in range(4)] == [b"a", b"b", b"c", b""]
    prefetch.close()
    assert not _inflate_threads()


def test_an_error_comes_out_where_its_chunk_would_have() -> None:
    error = CorruptLayer("sha256:x", "layer 0: gzip stream is corrupt")
    next_chunk, _ = _counting([b"a", b"b", error])
    prefetch = _Prefetch(next_chunk)
    assert prefetch.next_chunk() == b"a"
    assert prefetch.next_chunk() == b"b"
    with pytest.raises(CorruptLayer) as info:
        prefetch.next_chunk()
    assert info.value is error
    prefetch.close()
    assert not _inflate_threads()


def test_read_ahead_is_bounded_and_close_stops_an_endless_producer() -> None:
    next_chunk, calls = _counting([b"x"])  # never ends
    prefetch = _Prefetch(next_chunk)
    assert prefetch.next_chunk() == b"x"
    prefetch.close()
    assert not _inflate_threads()
    # one chunk taken, DEPTH waiting, and at most one more made while close() was on its way
    assert calls[0] <= 1 + _Prefetch.DEPTH + 1


def test_a_layer_refused_half_way_leaves_no_thread() -> None:
    # the bad member comes first, with 5 MiB after it: the thread is ahead, waiting for room, when it is refused
    after = [member(f"usr/lib/f{i}", bytes(5000)) for i in range(1000)]
    blob = gzip.compress(raw_tar(member("/etc/passwd", b"x"), *after))
    with pytest.raises(UnsafeLayer, match="absolute member path"):
        read_layer(io.BytesIO(blob), desc(blob), 0, PathSelector().compile(), Limits())
    assert not _inflate_threads()


def test_a_layer_read_to_the_end_leaves_no_thread() -> None:
    blob = gzip.compress(raw_tar(*(member(f"usr/lib/f{i}", bytes(3000)) for i in range(500))))
    result = read_layer(io.BytesIO(blob), desc(blob), 0, PathSelector().compile(), Limits())
    assert len(result.entries) == 500
    assert result.uncompressed_size == len(gzip.decompress(blob))
    assert result.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    assert not _inflate_threads()


def test_the_hasher_hashes_every_chunk_in_order_with_bounded_room() -> None:
    chunks = [bytes([i]) * (i * 1000 + 1) for i in range(40)]
    hasher = _Hasher(hashlib.sha256())
    for chunk in chunks:
        hasher.update(chunk)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert not _inflate_threads()
    hasher.close()  # a second close does nothing


def test_a_truncated_gzip_stream_is_the_same_error_through_the_thread() -> None:
    blob = gzip.compress(raw_tar(*(member(f"f{i}", bytes(3000)) for i in range(500))))
    cut = blob[: len(blob) // 2]
    with pytest.raises(CorruptLayer, match="gzip stream is truncated"):
        read_layer(io.BytesIO(cut), desc(cut), 0, PathSelector().compile(), Limits())
    assert not _inflate_threads()


def test_the_end_stays_the_end() -> None:
    """A reader may ask again after the end: it gets the end again, not a wait for ever."""
    next_chunk, calls = _counting([b"a", b""])
    prefetch = _Prefetch(next_chunk)
    assert [prefetch.next_chunk() for _ in range(4)] == [b"a", b"", b"", b""]
    assert calls[0] == 2
    prefetch.close()
