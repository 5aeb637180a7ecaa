"""The content-addressed blob cache: layout, verified atomic writes, concurrent writers."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from alpinist.errors import BlobError, DigestMismatch
from alpinist.images.cache import BlobCache, default_cache_dir
from tests.conftest import EXPECTED, OCI_LAYOUT, read_tsv

# the only layer of alpine:3.20.3 (expected/alpine_3.20.3/layers.tsv)
LAYER = read_tsv(EXPECTED / "alpine_3.20.3" / "layers.tsv")[0]
LAYER_DIGEST = LAYER["digest"]
LAYER_SIZE = int(LAYER["compressed_size"])


def layer_bytes() -> bytes:
    return (OCI_LAYOUT / "blobs" / "sha256" / LAYER_DIGEST.split(":")[1]).read_bytes()


def leftovers(cache: BlobCache) -> list[Path]:
    base = cache.root / "blobs" / "sha256"
    return sorted(p for p in base.iterdir() if p.name.startswith(".")) if base.is_dir() else []


def test_path_layout_and_digest_validation(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    hexpart = "ab" * 32
    assert cache.path_for(f"sha256:{hexpart}") == tmp_path / "blobs" / "sha256" / hexpart
    for bad in ("sha256:../../etc/passwd", "md5:" + "0" * 32, "sha256:" + "A" * 64, "nodigest"):
        with pytest.raises(BlobError):
            cache.path_for(bad)


def test_default_cache_dir_env_and_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALPINIST_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("ALPINIST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "alpinist"


def test_put_stream_real_layer_with_progress(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    data = layer_bytes()
    calls: list[tuple[str, int, int]] = []
    assert not cache.has(LAYER_DIGEST)
    path = cache.put_stream(
        LAYER_DIGEST, LAYER_SIZE, io.BytesIO(data), lambda d, n, t: calls.append((d, n, t))
    )
    assert path == cache.path_for(LAYER_DIGEST)
    assert cache.has(LAYER_DIGEST)
    assert path.read_bytes() == data
    assert calls[0] == (LAYER_DIGEST, 0, LAYER_SIZE)
    assert calls[-1] == (LAYER_DIGEST, LAYER_SIZE, LAYER_SIZE)
    done = [n for _, n, _ in calls]
    assert done == sorted(done)
    fh = cache.open(LAYER_DIGEST)
    assert fh is not None
    with fh:
        assert hashlib.sha256(fh.read()).hexdigest() == LAYER_DIGEST.split(":")[1]
    assert leftovers(cache) == []


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b[:1000] + bytes([b[1000] ^ 0xFF]) + b[1001:], "hashes to"),
        (lambda b: b[:-10], "truncated"),
        (lambda b: b + b"extra", "larger than"),
    ],
    ids=["flipped-byte", "truncated", "oversize"],
)
def test_put_stream_rejects_bad_bytes_and_leaves_nothing(
    tmp_path: Path, mutate: Callable[[bytes], bytes], reason: str
) -> None:
    cache = BlobCache(tmp_path)
    with pytest.raises(DigestMismatch) as err:
        cache.put_stream(LAYER_DIGEST, LAYER_SIZE, io.BytesIO(mutate(layer_bytes())))
    assert LAYER_DIGEST in str(err.value)
    assert reason in str(err.value)
    assert not cache.has(LAYER_DIGEST)
    assert leftovers(cache) == []


def test_put_bytes_verifies(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    data = b'{"hello": "world"}'
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    cache.put_bytes(digest, data)
    assert cache.read_bytes(digest, 1024) == data
    other = "sha256:" + hashlib.sha256(b"other").hexdigest()
    with pytest.raises(DigestMismatch):
        cache.put_bytes(other, data)
    assert not cache.has(other)
    assert leftovers(cache) == []


def test_read_bytes_drops_a_corrupt_copy(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    data = b"some config bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    cache.put_bytes(digest, data)
    cache.path_for(digest).write_bytes(b"some config byteZ")  # on-disk corruption
    assert cache.read_bytes(digest, 1024) is None
    assert not cache.has(digest)
    cache.put_bytes(digest, data)
    assert cache.read_bytes(digest, 5) is None  # larger than the caller's limit: not returned
    assert cache.has(digest)


def test_concurrent_writers_of_one_blob(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    data = layer_bytes()
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer() -> None:
        try:
            barrier.wait()
            cache.put_stream(LAYER_DIGEST, LAYER_SIZE, io.BytesIO(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.path_for(LAYER_DIGEST).read_bytes() == data
    assert leftovers(cache) == []


def test_a_failed_writer_does_not_disturb_a_good_one(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    data = layer_bytes()
    cache.put_stream(LAYER_DIGEST, LAYER_SIZE, io.BytesIO(data))
    with pytest.raises(DigestMismatch):
        cache.put_stream(LAYER_DIGEST, LAYER_SIZE, io.BytesIO(b"\0" * LAYER_SIZE))
    assert cache.path_for(LAYER_DIGEST).read_bytes() == data
