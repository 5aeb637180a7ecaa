"""The registry transport against a real docker-registry on loopback (anonymous, htpasswd, bearer
tokens), plus a loopback stand-in server for the failures a real registry cannot be made to produce
(429/503 with Retry-After, dropped connections, redirects to another host, lying headers).
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpinist.errors import AuthError, BadReference, DigestMismatch, ManifestError, NotFound, RegistryError
from alpinist.images.cache import BlobCache
from alpinist.images.manifest import (
    DOCKER_MANIFEST,
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    OCI_MANIFEST,
)
from alpinist.images.registry import RegistrySource, RetryPolicy, parse_retry_after
from alpinist.images.source import VerifyingReader
from alpinist.models import Descriptor, Platform
from tests.conftest import EXPECTED, OCI_LAYOUT, expected_dir, read_tsv
from tests.registry_server import (  # noqa: F401 - the *_fixture imports register pytest fixtures
    REGISTRY_USER,
    RunningRegistry,
    fresh_registry_fixture,
    registry_fixture,
    registry_htpasswd_fixture,
    registry_token_fixture,
    serve_loopback,
)

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")
INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}


def expected_layers(tag: str) -> list[tuple[str, int]]:
    return [(r["digest"], int(r["compressed_size"])) for r in read_tsv(expected_dir(tag) / "layers.tsv")]


class CountingTransport(httpx.BaseTransport):
    """The real HTTP transport, recording (method, path) of every request that goes out."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def blob_requests(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if "/blobs/" in r[1]]


def read_all(source: RegistrySource, desc: Descriptor) -> bytes:
    with VerifyingReader(source.open_blob(desc), desc.digest, desc.size) as reader:
        return reader.read()


def source_for(reg: RunningRegistry, name: str, ref: str, tmp_path: Path, **kw: Any) -> RegistrySource:
    kw.setdefault("platform", AMD64)
    kw.setdefault("cache", BlobCache(tmp_path / "cache"))
    return RegistrySource(f"{reg.host}/{name}", ref, **kw)


def check_pull(source: RegistrySource, tag: str) -> None:
    progress: list[tuple[str, int, int]] = []
    source._progress = lambda d, n, t: progress.append((d, n, t))
    resolved = source.resolve()
    assert resolved.manifest_digest == INDEX[tag]["manifest_digest"]
    assert resolved.config_digest == INDEX[tag]["config_digest"]
    assert resolved.manifest_media_type == OCI_MANIFEST
    assert resolved.platform == AMD64
    assert resolved.config["architecture"] == "amd64"
    assert [(d.digest, d.size) for d in resolved.layers] == expected_layers(tag)
    for layer in resolved.layers:
        data = read_all(source, layer)
        assert hashlib.sha256(data).hexdigest() == layer.digest.split(":")[1]
        assert (layer.digest, layer.size, layer.size) in progress
    assert sum(d.size for d in resolved.layers) == int(INDEX[tag]["compressed_layers_bytes"])


# -- the real registry -----------------------------------------------------------------------------
@pytest.mark.registry
@pytest.mark.parametrize("tag", ["alpine:3.20.3", "python-app:alpine"])
def test_pull_anonymous(registry: RunningRegistry, tmp_path: Path, tag: str) -> None:
    name, _, image_tag = tag.partition(":")
    with source_for(registry, f"library/{name}", image_tag, tmp_path) as source:
        check_pull(source, tag)


@pytest.mark.registry
@pytest.mark.parametrize("tag", ["alpine:3.20.3", "python-app:alpine"])
def test_pull_htpasswd_with_docker_config(
    registry_htpasswd: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    import base64

    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    auth = base64.b64encode(f"{REGISTRY_USER[0]}:{REGISTRY_USER[1]}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {registry_htpasswd.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    name, _, image_tag = tag.partition(":")
    with source_for(registry_htpasswd, f"library/{name}", image_tag, tmp_path) as source:
        check_pull(source, tag)


@pytest.mark.registry
def test_htpasswd_wrong_or_missing_credentials(
    registry_htpasswd: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with (
        source_for(
            registry_htpasswd, "library/alpine", "3.20.3", tmp_path, credentials=(REGISTRY_USER[0], "wrong")
        ) as source,
        pytest.raises(AuthError) as err,
    ):
        source.resolve()
    assert f"registry {registry_htpasswd.host}" in str(err.value)
    assert "the credentials given were rejected" in str(err.value)
    with (
        source_for(registry_htpasswd, "library/alpine", "3.20.3", tmp_path) as source,
        pytest.raises(AuthError, match="requires credentials"),
    ):
        source.resolve()


@pytest.mark.registry
def test_pull_with_bearer_tokens(registry_token: RunningRegistry, tmp_path: Path) -> None:
    tokens = registry_token.token_server
    assert tokens is not None
    before = len(tokens.token_requests())
    with source_for(
        registry_token, "library/alpine", "3.20.3", tmp_path, credentials=REGISTRY_USER
    ) as source:
        check_pull(source, "alpine:3.20.3")
    # one token for the repository's pull scope serves the manifest, the config and the layer
    assert len(tokens.token_requests()) - before == 1
    with source_for(registry_token, "library/alpine", "3.20.3", tmp_path / "anon") as source:
        check_pull(source, "alpine:3.20.3")  # anonymous pull is allowed by this token server


@pytest.mark.registry
def test_bearer_wrong_password(registry_token: RunningRegistry, tmp_path: Path) -> None:
    with (
        source_for(
            registry_token, "library/alpine", "3.20.3", tmp_path, credentials=(REGISTRY_USER[0], "bad")
        ) as source,
        pytest.raises(AuthError) as err,
    ):
        source.resolve()
    assert registry_token.host in str(err.value)


@pytest.mark.registry
def test_unknown_tag_repository_and_digest(registry: RunningRegistry, tmp_path: Path) -> None:
    with (
        source_for(registry, "library/alpine", "9.9.9", tmp_path) as source,
        pytest.raises(NotFound, match=r"library/alpine:9\.9\.9"),
    ):
        source.resolve()
    with source_for(registry, "library/nothing-here", "latest", tmp_path) as source, pytest.raises(NotFound):
        source.resolve()
    with (
        source_for(registry, "library/alpine", "sha256:" + "0" * 64, tmp_path) as source,
        pytest.raises(NotFound),
    ):
        source.resolve()
    with source_for(registry, "library/alpine", "3.20.3", tmp_path) as source:
        missing = Descriptor(OCI_MANIFEST, "sha256:" + "1" * 64, 10)
        with pytest.raises(NotFound, match="blob sha256:1111"):
            source.open_blob(missing)


@pytest.mark.registry
def test_platform_selection_in_an_oci_index(registry: RunningRegistry, tmp_path: Path) -> None:
    for platform, tag in (
        (AMD64, "alpine:3.20.3"),
        (ARM64, "alpine:3.18.9"),
        (Platform("linux", "arm64"), "alpine:3.18.9"),
    ):
        with source_for(registry, "library/multi", "latest", tmp_path, platform=platform) as source:
            resolved = source.resolve()
        assert resolved.manifest_digest == INDEX[tag]["manifest_digest"]
        assert resolved.config_digest == INDEX[tag]["config_digest"]
        assert [(d.digest, d.size) for d in resolved.layers] == expected_layers(tag)
        assert resolved.platform is not None and resolved.platform.architecture == platform.architecture
    index_digest = registry.pushed["library/multi:latest"]
    with source_for(registry, "library/multi", index_digest, tmp_path, platform=ARM64) as source:
        assert source.resolve().manifest_digest == INDEX["alpine:3.18.9"]["manifest_digest"]
    with (
        source_for(
            registry, "library/multi", "latest", tmp_path, platform=Platform("linux", "s390x")
        ) as source,
        pytest.raises(NotFound) as err,
    ):
        source.resolve()
    assert "linux/s390x" in str(err.value) and "linux/amd64, linux/arm64/v8" in str(err.value)


@pytest.mark.registry
def test_platform_selection_in_a_docker_manifest_list(registry: RunningRegistry, tmp_path: Path) -> None:
    with source_for(registry, "library/multi-docker", "list", tmp_path, platform=ARM64) as source:
        resolved = source.resolve()
        assert resolved.manifest_digest == registry.pushed["library/multi-docker:list/arm64"]
        assert resolved.manifest_media_type == DOCKER_MANIFEST
        assert resolved.config_digest == INDEX["alpine:3.18.9"]["config_digest"]
        # Docker's schema 2 renames the layer media type; the blob is the same
        assert [(d.digest, d.size) for d in resolved.layers] == expected_layers("alpine:3.18.9")
        assert resolved.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"
        assert read_all(source, resolved.layers[0])


@pytest.mark.registry
def test_second_run_uses_the_cache(registry: RunningRegistry, tmp_path: Path) -> None:
    cache = BlobCache(tmp_path / "cache")
    first = CountingTransport()
    with source_for(
        registry, "library/python-app", "alpine", tmp_path, cache=cache, transport=first
    ) as source:
        resolved = source.resolve()
        for layer in resolved.layers:
            read_all(source, layer)
    assert len(first.blob_requests()) == 1 + len(resolved.layers)  # config + layers
    # pinned by digest: everything, manifest included, comes from the cache
    second = CountingTransport()
    with source_for(
        registry, "library/python-app", resolved.manifest_digest, tmp_path, cache=cache, transport=second
    ) as source:
        again = source.resolve()
        for layer in again.layers:
            read_all(source, layer)
    assert again == dataclasses.replace(resolved, name=again.name)
    assert second.requests == []
    # by tag: the tag is looked up (tags move), the blobs are not fetched
    third = CountingTransport()
    with source_for(
        registry, "library/python-app", "alpine", tmp_path, cache=cache, transport=third
    ) as source:
        source.resolve()
        for layer in resolved.layers:
            read_all(source, layer)
    assert third.requests == [("GET", "/v2/library/python-app/manifests/alpine")]
    # ... and the manifest it answers with, already cached, is not written again (same file, same inode)
    manifest_file = cache.path_for(resolved.manifest_digest)
    before = manifest_file.stat()
    with source_for(registry, "library/python-app", "alpine", tmp_path, cache=cache) as source:
        source.resolve()
    after = manifest_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.registry
def test_tampered_blob_on_the_registry_disk(fresh_registry: RunningRegistry, tmp_path: Path) -> None:
    ((layer_digest, size),) = expected_layers("alpine:3.20.3")
    data_file = fresh_registry.blob_data_path(layer_digest)
    data = bytearray(data_file.read_bytes())
    assert len(data) == size
    data[size // 2] ^= 0x01
    data_file.write_bytes(bytes(data))
    cache = BlobCache(tmp_path / "cache")
    with source_for(fresh_registry, "library/alpine", "3.20.3", tmp_path, cache=cache) as source:
        resolved = source.resolve()
        with pytest.raises(DigestMismatch) as err:
            read_all(source, resolved.layers[0])
    assert layer_digest in str(err.value)
    assert not cache.has(layer_digest)
    assert [p.name for p in cache.path_for(layer_digest).parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.registry
def test_tampered_config_on_the_registry_disk(fresh_registry: RunningRegistry, tmp_path: Path) -> None:
    config_digest = INDEX["alpine:3.20.3"]["config_digest"]
    data_file = fresh_registry.blob_data_path(config_digest)
    data_file.write_bytes(data_file.read_bytes().replace(b"amd64", b"arm64"))
    cache = BlobCache(tmp_path / "cache")
    with (
        source_for(fresh_registry, "library/alpine", "3.20.3", tmp_path, cache=cache) as source,
        pytest.raises(DigestMismatch, match=config_digest),
    ):
        source.resolve()
    assert not cache.has(config_digest)


# -- a loopback stand-in for failures --------------------------------------------------------------
Action = tuple[Any, ...]


@dataclass
class StandIn:
    """A small HTTP server speaking just enough of the distribution API, from the corpus layout.

    ``script[path]`` is a list of actions used (and removed) one per request to that path before the
    normal answer: ("status", code, headers), ("drop",), ("truncate",), ("redirect", url),
    ("body", bytes, headers), ("chunked", bytes, headers), ("flood", status, headers, size): a chunked
    body of ``size`` bytes, the path recorded in ``floods_sent`` only once all of it was written.
    """

    basic: tuple[str, str] | None = None
    script: dict[str, list[Action]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    port: int = 0
    floods_sent: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def blob_file(digest: str) -> Path:
    return OCI_LAYOUT / "blobs" / "sha256" / digest.split(":", 1)[1]


def tag_digest(repo: str, tag: str) -> str | None:
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    for entry in index["manifests"]:
        if entry["annotations"]["org.opencontainers.image.ref.name"] == f"{repo.split('/')[-1]}:{tag}":
            return str(entry["digest"])
    return None


def make_handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    import base64

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            state.requests.append(("GET", path, self.headers.get("Authorization")))
            if path.startswith("/storage/"):
                self.send(200, blob_file(path.rsplit("/", 1)[1]).read_bytes())
                return
            if state.basic is not None:
                want = "Basic " + base64.b64encode(f"{state.basic[0]}:{state.basic[1]}".encode()).decode()
                if self.headers.get("Authorization") != want:
                    self.send(401, b"{}", {"WWW-Authenticate": 'Basic realm="stand-in"'})
                    return
            actions = state.script.get(path)
            if actions:
                action = actions.pop(0)
                kind = action[0]
                if kind == "status":
                    self.send(
                        action[1], b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', action[2]
                    )
                    return
                if kind == "drop":
                    self.close_connection = True
                    return
                if kind == "redirect":
                    self.send(307, b"", {"Location": action[1]})
                    return
                if kind == "body":
                    self.send(200, action[1], action[2])
                    return
                if kind == "chunked":
                    self.send_response(200)
                    for k, v in action[2].items():
                        self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    body = action[1]
                    for i in range(0, len(body), 1 << 16):
                        part = body[i : i + (1 << 16)]
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if kind == "flood":
                    self.send_response(action[1])
                    for k, v in action[2].items():
                        self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    part = b"x" * (1 << 20)
                    try:
                        for _ in range(action[3] >> 20):
                            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:  # the client hung up, as it should
                        self.close_connection = True
                        return
                    state.floods_sent.append(path)
                    return
                if kind == "truncate":
                    data = self.resolve_body(path)
                    assert data is not None
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
            data = self.resolve_body(path)
            if data is None:
                self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                return
            headers = {}
            if "/manifests/" in path:
                doc = json.loads(data)
                headers["Content-Type"] = doc.get("mediaType", OCI_MANIFEST)
                headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
            self.send(200, data, headers)

        def resolve_body(self, path: str) -> bytes | None:
            parts = path.split("/")
            if len(parts) < 5 or parts[1] != "v2":
                return None
            kind, ref = parts[-2], parts[-1]
            repo = "/".join(parts[2:-2])
            digest = (
                ref if ref.startswith("sha256:") else tag_digest(repo, ref) if kind == "manifests" else None
            )
            if digest is None or not blob_file(digest).is_file():
                return None
            return blob_file(digest).read_bytes()

    return Handler


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    state = StandIn()
    with serve_loopback(make_handler(state)) as state.port:
        yield state


second_stand_in = stand_in


def stand_in_source(
    state: StandIn, tmp_path: Path, ref: str = "3.20.3", name: str = "library/alpine", **kw: Any
) -> tuple[RegistrySource, list[float]]:
    sleeps: list[float] = []
    kw.setdefault("platform", AMD64)
    kw.setdefault("cache", BlobCache(tmp_path / "cache"))
    source = RegistrySource(f"{state.host}/{name}", ref, sleep=sleeps.append, **kw)
    return source, sleeps


MANIFEST_PATH = "/v2/library/alpine/manifests/3.20.3"
LAYER_DIGEST = INDEX["alpine:3.20.3"] and expected_layers("alpine:3.20.3")[0][0]
LAYER_PATH = f"/v2/library/alpine/blobs/{LAYER_DIGEST}"


def test_429_with_retry_after_seconds(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("status", 429, {"Retry-After": "2"})]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source:
        assert source.resolve().manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    assert sleeps == [2.0]
    assert [r[1] for r in stand_in.requests].count(MANIFEST_PATH) == 2


def test_429_with_retry_after_http_date(stand_in: StandIn, tmp_path: Path) -> None:
    # an hour ahead (no slow runner or clock tick matters at that scale): the date is read, and a wait
    # longer than the policy's longest single wait is refused rather than slept
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    stand_in.script[MANIFEST_PATH] = [("status", 429, {"Retry-After": when})]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(RegistryError, match=r"told to retry after 3[56]\d\ds; giving up"):
        source.resolve()
    assert sleeps == []
    # a date already past: retry at once
    stand_in.script[MANIFEST_PATH] = [
        ("status", 429, {"Retry-After": email.utils.formatdate(0, usegmt=True)})
    ]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source:
        source.resolve()
    assert sleeps == [0.0]


def test_503_twice_then_ok_on_a_layer(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[LAYER_PATH] = [("status", 503, {}), ("status", 503, {})]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source:
        layer = source.resolve().layers[0]
        assert hashlib.sha256(read_all(source, layer)).hexdigest() == LAYER_DIGEST.split(":")[1]
    # exponential backoff with jitter: base 0.5 s then 1 s, each scaled by a factor in [0.5, 1]
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_retries_are_bounded(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("status", 502, {}), ("status", 504, {})] * 5
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(RegistryError, match="gave up after 5 attempts"):
        source.resolve()
    assert len(sleeps) == 4
    # a bounded total wait stops earlier than the attempt bound
    stand_in.script[MANIFEST_PATH] = [("status", 503, {"Retry-After": "20"})] * 5
    source, sleeps = stand_in_source(stand_in, tmp_path, retry=RetryPolicy(max_total_wait=45))
    with source, pytest.raises(RegistryError, match="HTTP 503"):
        source.resolve()
    assert sleeps == [20.0, 20.0]
    # a Retry-After beyond the longest single wait is not waited for at all
    stand_in.script[MANIFEST_PATH] = [("status", 429, {"Retry-After": "3600"})]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(RegistryError, match="retry after 3600s"):
        source.resolve()
    assert sleeps == []


def test_dropped_connection_and_truncated_body_are_retried(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("drop",)]
    stand_in.script[LAYER_PATH] = [("truncate",)]
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source:
        layer = source.resolve().layers[0]
        read_all(source, layer)
    assert len(sleeps) == 2
    assert source.cache.has(LAYER_DIGEST)
    assert [r[1] for r in stand_in.requests].count(LAYER_PATH) == 2


def test_a_cached_blob_of_the_wrong_size_is_fetched_again(stand_in: StandIn, tmp_path: Path) -> None:
    source, _ = stand_in_source(stand_in, tmp_path)
    good = blob_file(LAYER_DIGEST).read_bytes()
    path = source.cache.path_for(LAYER_DIGEST)
    path.parent.mkdir(parents=True)
    path.write_bytes(good[:1000])  # e.g. a disk that lost the end of the file
    with source:
        layer = source.resolve().layers[0]
        assert read_all(source, layer) == good
    assert path.read_bytes() == good
    assert [r[1] for r in stand_in.requests].count(LAYER_PATH) == 1


def test_redirect_to_another_host_drops_authorization(
    stand_in: StandIn, second_stand_in: StandIn, tmp_path: Path
) -> None:
    assert stand_in is not second_stand_in
    stand_in.basic = ("user", "pw")
    storage = f"http://localhost:{second_stand_in.port}/storage/{LAYER_DIGEST}"
    stand_in.script[LAYER_PATH] = [("redirect", storage)]
    source, _ = stand_in_source(stand_in, tmp_path, credentials=("user", "pw"))
    with source:
        layer = source.resolve().layers[0]
        read_all(source, layer)
    registry_auth = [auth for _, path, auth in stand_in.requests if path == LAYER_PATH]
    assert registry_auth and all(a is not None and a.startswith("Basic ") for a in registry_auth)
    assert second_stand_in.requests == [("GET", f"/storage/{LAYER_DIGEST}", None)]


def test_manifest_that_is_not_json(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("body", b"<html>proxy login</html>", {"Content-Type": OCI_MANIFEST})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with (
        source,
        pytest.raises(ManifestError, match=r"manifest 127\.0\.0\.1:\d+/library/alpine:3\.20\.3 is not JSON"),
    ):
        source.resolve()


def test_oversized_manifest_without_content_length(stand_in: StandIn, tmp_path: Path) -> None:
    body = b'{"schemaVersion": 2, "pad": "' + b"x" * MAX_MANIFEST_BYTES + b'"}'
    stand_in.script[MANIFEST_PATH] = [("chunked", body, {"Content-Type": OCI_MANIFEST})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(ManifestError, match="exceeds the 4194304-byte limit"):
        source.resolve()


def test_manifest_digest_header_must_match(stand_in: StandIn, tmp_path: Path) -> None:
    other = blob_file(INDEX["alpine:3.18.9"]["manifest_digest"]).read_bytes()
    claimed = INDEX["alpine:3.20.3"]["manifest_digest"]
    stand_in.script[MANIFEST_PATH] = [("body", other, {"Docker-Content-Digest": claimed})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(DigestMismatch, match=claimed):
        source.resolve()
    # pinned by digest: the reference's digest is what the bytes must match, whatever the header says
    path = f"/v2/library/alpine/manifests/{claimed}"
    stand_in.script[path] = [
        ("body", other, {"Docker-Content-Digest": INDEX["alpine:3.18.9"]["manifest_digest"]})
    ]
    source, _ = stand_in_source(stand_in, tmp_path, ref=claimed)
    with source, pytest.raises(DigestMismatch, match=claimed):
        source.resolve()
    assert not source.cache.has(claimed)


def test_config_larger_than_the_bound_is_refused_before_download(stand_in: StandIn, tmp_path: Path) -> None:
    doc = json.loads(blob_file(INDEX["alpine:3.20.3"]["manifest_digest"]).read_bytes())
    doc["config"]["size"] = MAX_CONFIG_BYTES + 1
    stand_in.script[MANIFEST_PATH] = [("body", json.dumps(doc).encode(), {"Content-Type": OCI_MANIFEST})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(ManifestError, match="exceeds the 16777216-byte limit"):
        source.resolve()
    assert not any("/blobs/" in p for _, p, _ in stand_in.requests)


def test_server_error_names_the_registry_and_code(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("status", 500, {})] * 5
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(RegistryError) as err:
        source.resolve()
    assert f"registry {stand_in.host}" in str(err.value) and "HTTP 500" in str(err.value)
    assert "TOOMANYREQUESTS: slow down" in str(err.value)
    assert len(sleeps) == 4  # 500 is retried like 502/503/504 (issue 12), a bounded number of times


def test_unsupported_manifest_media_type(stand_in: StandIn, tmp_path: Path) -> None:
    schema1 = json.dumps({"schemaVersion": 1, "name": "library/alpine", "fsLayers": []}).encode()
    ctype = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    stand_in.script[MANIFEST_PATH] = [("body", schema1, {"Content-Type": ctype})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(ManifestError, match="unsupported media type"):
        source.resolve()


# -- pure helpers -----------------------------------------------------------------------------------
def test_scheme_host_and_name_normalization(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    cases = [
        ("127.0.0.1:5000/a/b", frozenset(), "http://127.0.0.1:5000", "a/b"),
        ("localhost:5000/a", frozenset(), "http://localhost:5000", "a"),
        ("[::1]:5000/a", frozenset(), "http://[::1]:5000", "a"),
        ("registry.example.org/team/app", frozenset(), "https://registry.example.org", "team/app"),
        (
            "registry.example.org:8443/app",
            frozenset({"registry.example.org:8443"}),
            "http://registry.example.org:8443",
            "app",
        ),
        (
            "registry.example.org/app",
            frozenset({"registry.example.org"}),
            "http://registry.example.org",
            "app",
        ),
        ("docker.io/alpine", frozenset(), "https://registry-1.docker.io", "library/alpine"),
        ("index.docker.io/library/alpine", frozenset(), "https://registry-1.docker.io", "library/alpine"),
        ("alpine", frozenset(), "https://registry-1.docker.io", "library/alpine"),
    ]
    for name, insecure, base, repo in cases:
        source = RegistrySource(name, "latest", platform=AMD64, cache=cache, insecure_hosts=insecure)
        assert (source.base_url, source.repository) == (base, repo), name
        source.close()
    source = RegistrySource("alpine", "3.20", platform=AMD64, cache=cache)
    assert source.reference == "docker.io/library/alpine:3.20"
    source.close()


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("example.org/UPPER", "latest"),
        ("example.org/a", "bad tag"),
        ("example.org/a", "sha256:1234"),
        ("example.org/a", "md5:" + "0" * 32),
        ("example.org/a", ".hidden"),
    ],
)
def test_bad_references(tmp_path: Path, name: str, ref: str) -> None:
    with pytest.raises(BadReference):
        RegistrySource(name, ref, platform=AMD64, cache=BlobCache(tmp_path))


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- bodies httpx would read whole on its own -------------------------------------------------------
FLOOD = 256 << 20  # far more than socket buffers hold: all of it is sent only if the client reads it all


def _bearer(state: StandIn) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="http://{state.host}/token",service="s",scope="x"'}


def test_huge_401_body_is_not_read_whole(stand_in: StandIn, tmp_path: Path) -> None:
    """httpx reads a 401's body itself before the auth flow retries: a registry could send gigabytes."""
    stand_in.script[MANIFEST_PATH] = [("flood", 401, _bearer(stand_in), FLOOD)]
    stand_in.script["/token?service=s&scope=x"] = [("body", b'{"token": "t"}', {})]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source:
        assert source.resolve().manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    assert stand_in.floods_sent == []


def test_huge_redirect_body_is_not_read_whole(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("flood", 307, {"Location": MANIFEST_PATH}, FLOOD)]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source:
        assert source.resolve().manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    assert stand_in.floods_sent == []


def test_huge_token_response_is_refused_without_reading_it_whole(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.script[MANIFEST_PATH] = [("status", 401, _bearer(stand_in))]
    stand_in.script["/token?service=s&scope=x"] = [("flood", 200, {}, FLOOD)]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(AuthError, match="oversized response"):
        source.resolve()
    assert stand_in.floods_sent == []
