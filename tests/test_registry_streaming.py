"""Issue 15: registry layers are read while they download, not after.

The real ``docker-registry`` (``registry_server.py``) sits behind ``StreamingProxy``, the fault proxy of
``fault_proxy.py`` with each request's ``Range`` header recorded and three more behaviours: ``hold``
(the body stops half-way until the test lets it go), ``flip`` (one byte of the body changed) and
``strip_range`` (the ``Range`` header dropped, so that the registry answers 200 with the whole blob).
What is pinned:

* the SBOM of a registry image is the ``oci:`` SBOM; the blobs land in the cache, and a second run
  sends no blob request;
* a layer's reader takes the bytes that arrived while the rest is still held by the proxy (and the
  other layers are read meanwhile): nothing waits for a whole download;
* a connection that breaks mid-body goes on with ``Range: bytes=N-`` from the first byte not yet
  read (the real registry answers 206), or skips N bytes of a 200; the SBOM is the same;
* a corrupted body is a digest error, and leaves neither a ``.part`` nor a cache entry;
* a cancel (Ctrl-C) or a close in the middle of a layer leaves no ``.part``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx
import pytest

from alpinist import net
from alpinist.cli.app import main
from alpinist.errors import BlobError, DigestMismatch
from alpinist.images.cache import BlobCache
from alpinist.images.layers import build_view
from alpinist.images.registry import RegistrySource
from alpinist.images.source import VerifyingReader
from alpinist.images.view import PathSelector
from alpinist.models import Descriptor, Platform
from tests.conftest import OCI_LAYOUT, oci_ref
from tests.fault_proxy import Fault, FaultProxy, _read_head, wait_until
from tests.registry_server import RunningRegistry, registry_fixture  # noqa: F401 - registers the fixture

AMD64 = Platform("linux", "amd64")
APP_TAG = "python-app:alpine"  # pushed by the session's ``registry`` fixture
APP = f"library/{APP_TAG}"
ALPINE_TAG = "alpine:3.20.3"
ALPINE = f"library/{ALPINE_TAG}"
HOLD_BOUND = 20.0  # seconds a held body waits at most: a client that never reads cannot hang the test
SELECTOR = PathSelector(exact=frozenset({"/lib/apk/db/installed"}))


def layers_of(tag: str) -> list[Descriptor]:
    """The layer descriptors of a corpus image, from its OCI layout."""
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    (entry,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest = json.loads((OCI_LAYOUT / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    return [Descriptor(d["mediaType"], d["digest"], d["size"]) for d in manifest["layers"]]


def blob_bytes(digest: str) -> bytes:
    return (OCI_LAYOUT / "blobs" / "sha256" / digest[7:]).read_bytes()


BIG = max(layers_of(APP_TAG), key=lambda d: d.size)  # python-app:alpine's 10 MB layer
ALPINE_LAYER = layers_of(ALPINE_TAG)[0]


class _RecordingSocket:
    """The client's side of one proxied connection as ``FaultProxy._serve`` uses it: the request's
    head is read first, its path and ``Range`` header recorded (and the header dropped when the proxy
    says so); then everything is passed through."""

    def __init__(self, sock: socket.socket, proxy: StreamingProxy) -> None:
        self._sock = sock
        self._proxy = proxy
        self._buffer: bytes | None = None

    def __enter__(self) -> _RecordingSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._buffer is None:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            self._buffer = self._proxy.record(data)
        if self._buffer:
            piece, self._buffer = self._buffer[:size], self._buffer[size:]
            return piece
        return self._sock.recv(size, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class StreamingProxy(FaultProxy):
    """``FaultProxy`` with ``requests`` (path, Range header or None) and the kinds ``hold`` (the
    headers and ``after`` body bytes, then nothing until ``release`` is set, then the rest) and ``flip``
    (the body byte at offset ``after`` XOR 1). ``strip_range`` drops every request's Range header."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.requests: list[tuple[str, str | None]] = []
        self.strip_range = False
        self.held = threading.Event()  # a hold has sent its ``after`` bytes and waits
        self.release = threading.Event()

    def stop(self) -> None:
        self.release.set()
        super().stop()

    def record(self, head: bytes) -> bytes:
        lines = head.split(b"\r\n")
        words = lines[0].split(b" ")
        path = words[1].decode("latin-1") if len(words) > 1 else "/"
        ranges = [line for line in lines[1:] if line.lower().startswith(b"range:")]
        with self._lock:
            self.requests.append((path, ranges[0].split(b":", 1)[1].strip().decode() if ranges else None))
        if self.strip_range and ranges:
            head = b"\r\n".join(line for line in lines if line not in ranges)
        return head

    def blob_requests(self, digest: str) -> list[str | None]:
        """The Range header of each request for the blob ``digest`` (None: none sent)."""
        return [ranged for path, ranged in self.requests if path.endswith(f"/blobs/{digest}")]

    def _serve(self, client: socket.socket) -> None:
        super()._serve(cast(socket.socket, _RecordingSocket(client, self)))

    def _relay(self, upstream: socket.socket, client: socket.socket, fault: Fault | None) -> None:
        if fault is None or fault.kind not in ("hold", "flip"):
            super()._relay(upstream, client, fault)
            return
        head, pending = _read_head(upstream)
        if head is None:
            return
        client.sendall(head + b"\r\n\r\n")
        sent = 0
        held = fault.kind != "hold"
        while True:
            if not pending:
                pending = upstream.recv(65536)
                if not pending:
                    return
            if not held and sent + len(pending) >= fault.after:
                cut = fault.after - sent
                client.sendall(pending[:cut])
                sent, pending, held = fault.after, pending[cut:], True
                self.held.set()
                self.release.wait(HOLD_BOUND)
                continue
            if fault.kind == "flip" and sent <= fault.after < sent + len(pending):
                i = fault.after - sent
                pending = pending[:i] + bytes([pending[i] ^ 0x01]) + pending[i + 1 :]
            client.sendall(pending)
            sent += len(pending)
            pending = b""


@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[StreamingProxy]:
    fault_proxy = StreamingProxy(int(registry.host.rsplit(":", 1)[1]))
    with fault_proxy:
        yield fault_proxy


@pytest.fixture(autouse=True)
def _no_cancel_left() -> Iterator[None]:
    yield
    net.reset_cancel()


def cache_dir() -> Path:
    return Path(os.environ["ALPINIST_CACHE_DIR"])


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.part")) if root.exists() else []


def sbom(capsys: pytest.CaptureFixture[str], image: str) -> tuple[int, dict[str, Any], str]:
    """``alpinist sbom IMAGE -f json --no-cache`` in-process: (exit code, the document, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(["sbom", image, "-f", "json", "--no-cache"])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), (json.loads(out) if out.strip() else {}), err


def transport_free(doc: dict[str, Any]) -> dict[str, Any]:
    """The SBOM without what names the transport (the reference, the transport, the image's name)."""
    image = {k: v for k, v in doc["image"].items() if k not in ("reference", "transport", "name")}
    return {**doc, "image": image}


@pytest.fixture(scope="module")
def oci_sbom() -> dict[str, Any]:
    """The ``oci:`` SBOM of python-app:alpine (a run of the CLI, outside pytest's capture)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "ALPINIST_CACHE_DIR": cache}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
        proc = subprocess.run(
            [sys.executable, "-m", "alpinist.cli", "sbom", oci_ref(APP_TAG), "-f", "json", "--no-cache"],
            capture_output=True,
            env=env,
            timeout=300,
            check=True,
        )
    return transport_free(json.loads(proc.stdout))


def app_source(proxy: StreamingProxy, cache: BlobCache, **kw: Any) -> RegistrySource:
    return RegistrySource(f"{proxy.host}/library/python-app", "alpine", platform=AMD64, cache=cache, **kw)


# -- the registry itself --------------------------------------------------------------------------------


@pytest.mark.registry
def test_the_real_registry_answers_a_range_request_with_206(registry: RunningRegistry) -> None:
    """What resuming relies on: ``Range: bytes=N-`` on a blob gets 206, its Content-Range and the
    blob's bytes from N on."""
    data = blob_bytes(ALPINE_LAYER.digest)
    offset = 1_234_567
    answer = httpx.get(
        f"{registry.url}/v2/library/alpine/blobs/{ALPINE_LAYER.digest}",
        headers={"Range": f"bytes={offset}-", "Accept-Encoding": "identity"},
        timeout=30,
    )
    assert answer.status_code == 206
    assert answer.headers["content-range"] == f"bytes {offset}-{len(data) - 1}/{len(data)}"
    assert answer.content == data[offset:]


# -- (a) the same SBOM, and the cache -------------------------------------------------------------------


@pytest.mark.registry
def test_registry_sbom_equals_the_oci_sbom_and_a_second_run_sends_no_blob_request(
    proxy: StreamingProxy, oci_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = sbom(capsys, f"{proxy.host}/{APP}")
    assert code == 0, err
    assert transport_free(doc) == oci_sbom
    cache = BlobCache(cache_dir())
    for layer in layers_of(APP_TAG):
        assert cache.path_for(layer.digest).read_bytes() == blob_bytes(layer.digest)
    assert parts(cache_dir()) == []
    assert all(proxy.blob_requests(layer.digest) == [None] for layer in layers_of(APP_TAG))
    proxy.requests.clear()
    code, again, err = sbom(capsys, f"{proxy.host}/{APP}")
    assert code == 0, err
    assert again == doc
    assert [path for path, _ in proxy.requests if "/blobs/" in path] == []
    assert [path for path, _ in proxy.requests if "/manifests/" in path] == [
        "/v2/library/python-app/manifests/alpine"
    ]


@pytest.mark.registry
def test_a_cached_layer_that_went_bad_on_disk_is_fetched_again_in_the_same_run(
    proxy: StreamingProxy, oci_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The cache does not fsync: a power cut may leave a renamed blob torn at its full size. The read
    finds the digest wrong, drops the copy and downloads that blob again, once, in the same run."""
    code, doc, err = sbom(capsys, f"{proxy.host}/{APP}")
    assert code == 0, err
    path = BlobCache(cache_dir()).path_for(BIG.digest)
    path.write_bytes(bytes(BIG.size))  # the right size, nothing but zeros
    proxy.requests.clear()
    code, again, err = sbom(capsys, f"{proxy.host}/{APP}")
    assert code == 0, err
    assert again == doc and transport_free(again) == oci_sbom
    assert path.read_bytes() == blob_bytes(BIG.digest)
    assert [path for path, _ in proxy.requests if "/blobs/" in path] == [f"/v2/{APP.split(':')[0]}/blobs/{BIG.digest}"]


# -- (b) read while it downloads ------------------------------------------------------------------------


class _Counting(io.RawIOBase):
    """A blob stream that counts the bytes its reader took (what the test observes, nothing more)."""

    def __init__(self, raw: BinaryIO, taken: dict[str, int], digest: str) -> None:
        super().__init__()
        self._raw = raw
        self._taken = taken
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        self._taken[self._digest] = self._taken.get(self._digest, 0) + len(data)
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class CountingSource(RegistrySource):
    """A ``RegistrySource`` whose blob streams count what ``build_view``'s layer readers take."""

    taken: dict[str, int]

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        return cast(BinaryIO, _Counting(super().open_blob(descriptor), self.taken, descriptor.digest))


@pytest.mark.registry
def test_a_layer_is_read_while_the_rest_of_it_is_still_on_the_wire(
    proxy: StreamingProxy, tmp_path: Path
) -> None:
    """The proxy holds the big layer's body after 4 MB: by then its reader has taken those 4 MB (the
    blob is neither whole nor cached), and the other layers were read and cached meanwhile. Once let
    go, the view is whole and the layer is cached."""
    half = 4_000_000
    proxy.faults = [Fault("hold", f"/blobs/{BIG.digest}", after=half)]
    cache = BlobCache(tmp_path / "cache")
    source = CountingSource(f"{proxy.host}/library/python-app", "alpine", platform=AMD64, cache=cache)
    source.taken = {}
    results: list[Any] = []

    def pull() -> None:
        try:
            results.append(build_view(source, resolved, SELECTOR, workers=2))
        except BaseException as exc:
            results.append(exc)

    with source:
        resolved = source.resolve()
        others = [d for d in resolved.layers if d.digest != BIG.digest]
        thread = threading.Thread(target=pull)
        thread.start()
        try:
            assert wait_until(lambda: source.taken.get(BIG.digest, 0) == half, 15), source.taken
            assert wait_until(lambda: all(cache.has(d.digest) for d in others), 15)
            assert thread.is_alive() and not proxy.release.is_set()
            assert not cache.has(BIG.digest)
            assert len(parts(tmp_path / "cache")) == 1  # the big layer's, being written as it is read
        finally:
            proxy.release.set()
            thread.join(60)
    ((view, infos),) = results
    assert "\nP:musl\n" in (view.read_text("/lib/apk/db/installed") or "")
    assert source.taken[BIG.digest] == BIG.size
    assert cache.path_for(BIG.digest).read_bytes() == blob_bytes(BIG.digest)
    assert [i.digest for i in infos] == [d.digest for d in resolved.layers]
    assert parts(tmp_path / "cache") == []


# -- (c) a broken connection is resumed -----------------------------------------------------------------


@pytest.mark.registry
@pytest.mark.parametrize("kind", ["truncate", "reset"])
def test_a_connection_broken_mid_layer_resumes_with_a_range_request(
    proxy: StreamingProxy, oci_sbom: dict[str, Any], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """The big layer's connection ends (a clean close, or a TCP reset) after 3 MB: the second request
    asks for the rest only (``Range: bytes=N-``, N the bytes the reader took, at most 3 MB) and the
    SBOM is the ``oci:`` one, the blob cached whole."""
    after = 3_000_000
    proxy.faults = [Fault(kind, f"/blobs/{BIG.digest}", times=1, after=after)]
    code, doc, err = sbom(capsys, f"{proxy.host}/{APP}")
    assert code == 0, err
    assert transport_free(doc) == oci_sbom
    first, second = proxy.blob_requests(BIG.digest)
    assert first is None
    assert second is not None and second.startswith("bytes=") and second.endswith("-")
    resumed_at = int(second[len("bytes=") : -1])
    if kind == "truncate":
        assert resumed_at == after  # every byte sent before the close arrived
    else:
        assert 0 < resumed_at <= after  # a reset may drop what had not been read yet
    assert BlobCache(cache_dir()).path_for(BIG.digest).read_bytes() == blob_bytes(BIG.digest)
    assert parts(cache_dir()) == []


@pytest.mark.registry
def test_a_200_answer_to_the_range_request_has_its_first_bytes_skipped(
    proxy: StreamingProxy, tmp_path: Path
) -> None:
    """A registry (or a proxy in front of it) that ignores Range answers 200 with the whole blob: the
    bytes already read are skipped, the blob comes out whole, byte for byte, and is cached."""
    after = 1_500_000
    proxy.strip_range = True
    cache = BlobCache(tmp_path / "cache")
    sleeps: list[float] = []
    with app_source(proxy, cache, sleep=sleeps.append) as source:
        source.resolve()
        proxy.faults = [Fault("truncate", f"/blobs/{ALPINE_LAYER.digest}", times=1, after=after)]
        with VerifyingReader(
            source.open_blob(ALPINE_LAYER), ALPINE_LAYER.digest, ALPINE_LAYER.size
        ) as reader:
            data = reader.read()
    assert data == blob_bytes(ALPINE_LAYER.digest)
    assert proxy.blob_requests(ALPINE_LAYER.digest) == [None, f"bytes={after}-"]  # sent, then dropped
    assert len(sleeps) == 1
    assert cache.path_for(ALPINE_LAYER.digest).read_bytes() == data
    assert parts(tmp_path / "cache") == []


@pytest.mark.registry
def test_resuming_keeps_the_retry_bound(proxy: StreamingProxy, tmp_path: Path) -> None:
    """Every resumed request breaks again: five requests in all (the first included), four waits, one
    line naming the blob and the break, and no ``.part``."""
    from alpinist.errors import RegistryError

    cache = BlobCache(tmp_path / "cache")
    sleeps: list[float] = []
    with app_source(proxy, cache, sleep=sleeps.append) as source:
        source.resolve()
        proxy.faults = [Fault("truncate", f"/blobs/{ALPINE_LAYER.digest}", after=100_000)]
        stream = source.open_blob(ALPINE_LAYER)
        with stream, pytest.raises(RegistryError) as err:
            stream.read()
    message = str(err.value)
    assert message.startswith(f"registry {proxy.host}: blob {ALPINE_LAYER.digest} of ")
    assert "connection broke: " in message and message.endswith("(gave up after 5 attempts)")
    assert proxy.blob_requests(ALPINE_LAYER.digest) == [None] + [f"bytes={n * 100_000}-" for n in range(1, 5)]
    assert len(sleeps) == 4
    assert not cache.has(ALPINE_LAYER.digest)
    assert parts(tmp_path / "cache") == []


# -- (d) a corrupted body ---------------------------------------------------------------------------------


@pytest.mark.registry
def test_a_flipped_byte_is_a_digest_error_and_nothing_is_cached(
    proxy: StreamingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.faults = [Fault("flip", f"/blobs/{ALPINE_LAYER.digest}", after=ALPINE_LAYER.size // 2)]
    code, _, err = sbom(capsys, f"{proxy.host}/{ALPINE}")
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("alpinist: error:")]
    assert errors == [
        f"alpinist: error: blob {ALPINE_LAYER.digest}: content hashes to "
        f"sha256:{hashlib.sha256(flipped(blob_bytes(ALPINE_LAYER.digest))).hexdigest()}"
    ]
    assert not BlobCache(cache_dir()).has(ALPINE_LAYER.digest)
    assert parts(cache_dir()) == []


@pytest.mark.registry
def test_a_download_checks_its_digest_once_and_never_ends_quietly_after_a_failure(
    proxy: StreamingProxy, tmp_path: Path
) -> None:
    """A registry download is hashed by the cache's writer only: the ``VerifyingReader`` over it counts and
    bounds its bytes but does not hash them again, which is safe because the stream reports its end only
    after the writer's check, and a read after a failed check raises instead of ending the blob."""
    proxy.faults = [Fault("flip", f"/blobs/{ALPINE_LAYER.digest}", after=ALPINE_LAYER.size // 2)]
    cache = BlobCache(tmp_path / "cache")
    with app_source(proxy, cache) as source:
        source.resolve()
        reader = VerifyingReader(source.open_blob(ALPINE_LAYER), ALPINE_LAYER.digest, ALPINE_LAYER.size)
        with reader:
            assert reader._hash is None  # the stream checks this digest itself
            with pytest.raises(DigestMismatch, match="content hashes to"):
                reader.read()
            with pytest.raises(BlobError, match="read again after the download failed"):
                reader.read(1)
            with pytest.raises(BlobError, match="read again after the download failed"):
                reader.verify_rest()
        assert not cache.has(ALPINE_LAYER.digest)
        proxy.faults = []
        with VerifyingReader(source.open_blob(ALPINE_LAYER), ALPINE_LAYER.digest, ALPINE_LAYER.size) as fresh:
            assert fresh.read() == blob_bytes(ALPINE_LAYER.digest)
            assert fresh.read() == b""  # the end, once checked, stays the end
        with VerifyingReader(source.open_blob(ALPINE_LAYER), ALPINE_LAYER.digest, ALPINE_LAYER.size) as cached:
            assert cached._hash is not None  # a cached file is hashed as it is read
            assert cached.read() == blob_bytes(ALPINE_LAYER.digest)


def flipped(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


# -- (e) a cancel or a close in the middle ---------------------------------------------------------------


@pytest.mark.registry
def test_cancel_while_a_layer_is_read_leaves_no_part(proxy: StreamingProxy, tmp_path: Path) -> None:
    """Ctrl-C (``net.cancel``) while the reader waits for the held rest of a layer: the blocked read
    is woken, the pull ends with ``Cancelled`` and the ``.part`` (which existed) is gone."""
    proxy.faults = [Fault("hold", f"/blobs/{ALPINE_LAYER.digest}", after=1_000_000)]
    cache = BlobCache(tmp_path / "cache")
    outcome: list[BaseException | None] = []
    with app_source(proxy, cache) as source:
        source.resolve()
        stream = source.open_blob(ALPINE_LAYER)

        def read() -> None:
            try:
                with stream:
                    stream.read()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=read)
        thread.start()
        try:
            assert wait_until(proxy.held.is_set, 15)
            assert wait_until(lambda: len(parts(tmp_path / "cache")) == 1, 15)
            net.cancel()
            thread.join(15)
        finally:
            proxy.release.set()
            thread.join(30)
    (error,) = outcome
    assert isinstance(error, net.Cancelled)
    assert parts(tmp_path / "cache") == []
    assert not cache.has(ALPINE_LAYER.digest)


@pytest.mark.registry
def test_a_stream_closed_before_its_end_caches_nothing(proxy: StreamingProxy, tmp_path: Path) -> None:
    """A reader that stops early (a layer refused half-way) closes the stream: no ``.part``, no cache
    entry; the next open downloads it again from the start."""
    cache = BlobCache(tmp_path / "cache")
    with app_source(proxy, cache) as source:
        source.resolve()
        with source.open_blob(ALPINE_LAYER) as stream:
            assert len(stream.read(100_000)) > 0
            assert len(parts(tmp_path / "cache")) == 1
        assert parts(tmp_path / "cache") == []
        assert not cache.has(ALPINE_LAYER.digest)
        with pytest.raises(ValueError):
            stream.read(1)
        with VerifyingReader(
            source.open_blob(ALPINE_LAYER), ALPINE_LAYER.digest, ALPINE_LAYER.size
        ) as reader:
            assert reader.read() == blob_bytes(ALPINE_LAYER.digest)
    assert proxy.blob_requests(ALPINE_LAYER.digest) == [None, None]
    assert cache.has(ALPINE_LAYER.digest)


def test_the_cache_writer_refuses_bytes_that_do_not_match_the_descriptor(tmp_path: Path) -> None:
    """What the stream relies on at a layer's end, without a ``VerifyingReader`` around it: the
    cache's ``BlobWriter`` refuses bytes that do not hash to the digest, or more bytes than the size
    (``DigestMismatch``, no ``.part``, no entry), and commits the right ones."""
    cache = BlobCache(tmp_path)
    data = blob_bytes(ALPINE_LAYER.digest)
    writer = cache.writer(ALPINE_LAYER.digest, ALPINE_LAYER.size)
    writer.write(flipped(data))
    with pytest.raises(DigestMismatch, match="content hashes to"):
        writer.commit()
    assert not cache.has(ALPINE_LAYER.digest) and parts(tmp_path) == []
    writer = cache.writer(ALPINE_LAYER.digest, ALPINE_LAYER.size)
    with pytest.raises(DigestMismatch, match="larger than its descriptor"):
        writer.write(data + b"x")
    assert parts(tmp_path) == []
    writer = cache.writer(ALPINE_LAYER.digest, ALPINE_LAYER.size)
    writer.write(data)
    assert writer.commit() == cache.path_for(ALPINE_LAYER.digest)
    assert cache.path_for(ALPINE_LAYER.digest).read_bytes() == data and parts(tmp_path) == []
