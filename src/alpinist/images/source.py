"""The one interface every transport implements, and the digest checks they all share.

A transport (registry, oci, oci-archive, docker-archive) resolves a reference to one image manifest
for one platform and hands out blob streams. It never interprets layers: ``layers.py`` does.
Every blob is verified against its digest before anything derived from it is used: small blobs
(manifests, configs) as bytes, layers while they stream (``VerifyingReader`` raises at EOF).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from alpinist.errors import BlobError, DigestMismatch
from alpinist.models import Descriptor, Platform

SUPPORTED_ALGORITHMS = ("sha256", "sha512")


def split_digest(digest: str) -> tuple[str, str]:
    algo, sep, hexpart = digest.partition(":")
    if not sep or algo not in SUPPORTED_ALGORITHMS:
        raise BlobError(digest, "unsupported or malformed digest")
    expected_len = 64 if algo == "sha256" else 128
    if len(hexpart) != expected_len or any(c not in "0123456789abcdef" for c in hexpart):
        raise BlobError(digest, "malformed digest")
    return algo, hexpart


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_bytes(data: bytes, digest: str, size: int | None = None) -> bytes:
    """Return ``data`` if it hashes to ``digest`` (and has ``size`` bytes when given)."""
    algo, _ = split_digest(digest)
    if size is not None and len(data) != size:
        raise DigestMismatch(digest, f"size {len(data)} does not match the descriptor's {size}")
    actual = digest_of(data, algo)
    if actual != digest:
        raise DigestMismatch(digest, f"content hashes to {actual}")
    return data


class VerifyingReader(io.RawIOBase):
    """Wrap a blob stream; hash and count as it is read; check digest and size at EOF.

    Reading past the declared size raises at once (a blob cannot grow), so a hostile source cannot
    feed unbounded data through a descriptor.

    A stream that checks the same digest itself says so with ``checked_digest`` (a registry download
    entering the cache: it reports its end only after its own check, and raises after a failure); its
    bytes are then counted and bounded here, not hashed a second time.
    """

    def __init__(self, raw: BinaryIO, digest: str, size: int | None) -> None:
        super().__init__()
        algo, _ = split_digest(digest)
        self._raw = raw
        self._digest = digest
        self._size = size
        checked = getattr(raw, "checked_digest", None) == digest
        self._hash: Any = None if checked else hashlib.new(algo)
        self._count = 0
        self._verified = False

    @property
    def bytes_read(self) -> int:
        return self._count

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        limit = len(view)
        if self._size is not None:
            limit = min(limit, self._size - self._count + 1)  # one extra byte detects an oversize blob
        if limit <= 0:
            limit = 1
        data = self._raw.read(limit)
        n = len(data)
        if n == 0:
            self._finish()
            return 0
        self._count += n
        if self._size is not None and self._count > self._size:
            raise DigestMismatch(self._digest, f"blob is larger than its descriptor's {self._size} bytes")
        if self._hash is not None:
            self._hash.update(data)
        view[:n] = data
        return n

    def _finish(self) -> None:
        if self._verified:
            return
        if self._size is not None and self._count != self._size:
            raise DigestMismatch(self._digest, f"blob is truncated: {self._count} of {self._size} bytes")
        if self._hash is not None:  # else the stream checked the digest before it reported its end
            actual = f"{self._hash.name}:{self._hash.hexdigest()}"
            if actual != self._digest:
                raise DigestMismatch(self._digest, f"content hashes to {actual}")
        self._verified = True

    def verify_rest(self) -> None:
        """Drain what is left of the stream and check the digest (after a tar ended early)."""
        while True:
            data = self._raw.read(1 << 20)
            if not data:
                break
            self._count += len(data)
            if self._size is not None and self._count > self._size:
                raise DigestMismatch(self._digest, f"blob is larger than its descriptor's {self._size} bytes")
            if self._hash is not None:
                self._hash.update(data)
        self._finish()

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


@dataclass(frozen=True)
class ResolvedImage:
    """One image manifest for one platform, with its verified config."""

    name: str | None  # normalized name where the transport has one
    manifest_digest: str
    manifest_media_type: str
    config_digest: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]
    platform: Platform | None


class ImageSource(Protocol):
    """A transport that can resolve an image and stream its blobs."""

    transport: str
    reference: str

    def resolve(self) -> ResolvedImage:
        """Find the manifest (choosing the platform in an index) and fetch + verify the config."""
        ...

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        """A raw stream of the blob's bytes. The caller wraps it in ``VerifyingReader``."""
        ...

    def close(self) -> None: ...
