"""More of ``images/registry.py``: indexes the client will not follow, answers it must not retry, a body
that stalls half-way, headers it must not trust, and a blob gone from the cache under its feet.

The real ``docker-registry`` stores the indexes here (it accepts nested and oversized entries), the fault
proxy stands in front of it for statuses and stalls; the loopback stand-in of ``test_registry.py`` plays
what no real registry does on its own (a redirect loop, a malformed ``Docker-Content-Digest``).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpinist.errors import ManifestError, NotFound, RegistryError
from alpinist.images.cache import BlobCache
from alpinist.images.manifest import OCI_INDEX, OCI_MANIFEST
from alpinist.images.registry import RegistrySource, _ResponseStream
from alpinist.models import Platform
from alpinist.net import Deadlines, RateGuard, parse_timeout
from tests.fault_proxy import Fault, FaultProxy
from tests.registry_server import RunningRegistry, serve_loopback
from tests.test_registry import MANIFEST_PATH, StandIn, blob_file, make_handler, stand_in_source

from .conftest import EXPECTED, read_tsv

INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}
AMD64 = Platform("linux", "amd64")
REPOSITORY = "images-more/alpine"
ALPINE_MANIFEST = INDEX["alpine:3.20.3"]["manifest_digest"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def new_source(host: str, ref: str, tmp_path: Path) -> RegistrySource:
    return RegistrySource(f"{host}/{REPOSITORY}", ref, platform=AMD64, cache=BlobCache(tmp_path / "cache"))


# -- indexes a real registry stores but the client does not follow ---------------------------------
@pytest.fixture(scope="module")
def indexes(registry: RunningRegistry) -> dict[str, str]:
    """``images-more/alpine`` on the session registry: alpine:3.20.3, and OCI indexes under the tags
    ``inner`` (the manifest for linux/amd64), ``nested`` (``inner`` as an index entry for linux/amd64),
    ``untyped`` (the same entry without a mediaType) and ``big`` (the manifest, its size claimed 5 MiB).
    Returns tag -> digest."""
    manifest = registry.push("alpine:3.20.3", REPOSITORY)
    amd64 = {"os": "linux", "architecture": "amd64"}
    size = len(blob_file(manifest).read_bytes())

    def put(tag: str, entry: dict[str, object]) -> tuple[str, int]:
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}).encode()
        response = registry.put_manifest(REPOSITORY, tag, body, OCI_INDEX)
        return response.headers["docker-content-digest"], len(body)

    inner, inner_size = put(
        "inner", {"mediaType": OCI_MANIFEST, "digest": manifest, "size": size, "platform": amd64}
    )
    digests = {"manifest": manifest, "inner": inner}
    digests["nested"], _ = put(
        "nested", {"mediaType": OCI_INDEX, "digest": inner, "size": inner_size, "platform": amd64}
    )
    digests["untyped"], _ = put("untyped", {"digest": inner, "size": inner_size, "platform": amd64})
    digests["big"], _ = put(
        "big", {"mediaType": OCI_MANIFEST, "digest": manifest, "size": 5 << 20, "platform": amd64}
    )
    return digests


@pytest.mark.registry
def test_an_index_through_the_registry_resolves(
    registry: RunningRegistry, indexes: dict[str, str], tmp_path: Path
) -> None:
    with new_source(registry.host, "inner", tmp_path) as source:
        assert source.resolve().manifest_digest == indexes["manifest"] == ALPINE_MANIFEST


@pytest.mark.registry
def test_an_index_entry_that_is_an_index_is_refused(
    registry: RunningRegistry, indexes: dict[str, str], tmp_path: Path
) -> None:
    with new_source(registry.host, "nested", tmp_path) as source, pytest.raises(ManifestError) as err:
        source.resolve()
    assert str(err.value) == (
        f"manifest {registry.host}/{REPOSITORY}:nested: entry {indexes['inner']} "
        f"has unsupported media type {OCI_INDEX}"
    )


@pytest.mark.registry
def test_an_untyped_index_entry_that_turns_out_an_index_is_refused(
    registry: RunningRegistry, indexes: dict[str, str], tmp_path: Path
) -> None:
    with new_source(registry.host, "untyped", tmp_path) as source, pytest.raises(ManifestError) as err:
        source.resolve()
    assert str(err.value) == (
        f"manifest {indexes['inner']} ({registry.host}/{REPOSITORY}:untyped, linux/amd64): "
        f"unsupported media type {OCI_INDEX}"
    )


@pytest.mark.registry
def test_an_index_entry_claiming_an_oversized_manifest_is_not_fetched(
    registry: RunningRegistry, indexes: dict[str, str], tmp_path: Path
) -> None:
    with new_source(registry.host, "big", tmp_path) as source, pytest.raises(ManifestError) as err:
        source.resolve()
    assert str(err.value) == (
        f"manifest {indexes['manifest']} ({registry.host}/{REPOSITORY}:big, linux/amd64): "
        f"size {5 << 20} exceeds the 4194304-byte limit"
    )
    assert not source.cache.has(indexes["manifest"])


# -- answers that are not retried, through the fault proxy ----------------------------------------
@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[FaultProxy]:
    with FaultProxy(int(registry.host.rsplit(":", 1)[1])) as fault_proxy:
        yield fault_proxy


@pytest.mark.registry
def test_an_unexpected_status_is_one_line_with_the_registry_error(proxy: FaultProxy, tmp_path: Path) -> None:
    body = b'{"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]}'
    proxy.faults = [Fault("status", "/manifests/", status=400, body=body)]
    sleeps: list[float] = []
    source = RegistrySource(
        f"{proxy.host}/library/alpine",
        "3.20.3",
        platform=AMD64,
        cache=BlobCache(tmp_path),
        sleep=sleeps.append,
    )
    with source, pytest.raises(RegistryError) as err:
        source.resolve()
    assert str(err.value) == (
        f"registry {proxy.host}: manifest {proxy.host}/library/alpine:3.20.3: "
        "HTTP 400 [NAME_INVALID: invalid repository name]"
    )
    assert sleeps == [] and len(proxy.log) == 1  # a 400 is not worth another try


@pytest.mark.registry
@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "no such thing"}',
        b'{"errors": []}',
        b'{"errors": ["text"]}',
        b'{"errors": [{"code": 5}]}',
    ],
)
def test_a_404_without_a_distribution_error_adds_no_detail(
    proxy: FaultProxy, tmp_path: Path, body: bytes
) -> None:
    proxy.faults = [Fault("status", "/manifests/", status=404, body=body)]
    source = RegistrySource(
        f"{proxy.host}/library/alpine", "3.20.3", platform=AMD64, cache=BlobCache(tmp_path)
    )
    with source, pytest.raises(NotFound) as err:
        source.resolve()
    assert str(err.value) == f"manifest {proxy.host}/library/alpine:3.20.3: not found"


@pytest.mark.registry
@pytest.mark.parametrize("mirrored", [False, True], ids=["direct", "through-a-mirror"])
def test_a_manifest_body_that_stalls_half_way_names_the_registry(
    proxy: FaultProxy, tmp_path: Path, mirrored: bool
) -> None:
    """The headers and 100 bytes arrive, then nothing: one line naming the registry (the mirror, when
    one serves the image), the manifest and the stall rule, as for a stall before the headers; no retry."""
    proxy.faults = [Fault("stall", "/manifests/", after=100)]
    name = "docker.io/library/alpine" if mirrored else f"{proxy.host}/library/alpine"
    source = RegistrySource(
        name,
        "3.20.3",
        platform=AMD64,
        cache=BlobCache(tmp_path),
        deadlines=parse_timeout("1s"),
        mirrors=(("docker.io", proxy.host),),
    )
    server = f"{proxy.host} (mirror of docker.io)" if mirrored else proxy.host
    image = "docker.io/library/alpine:3.20.3" if mirrored else f"{proxy.host}/library/alpine:3.20.3"
    with source, pytest.raises(RegistryError) as err:
        source.resolve()
    assert str(err.value) == (
        f"registry {server}: manifest {image}: "
        "stalled: no data for 1s (the stall timeout; --timeout / ALPINIST_TIMEOUT)"
    )
    assert len(proxy.log) == 1


# -- what no real registry does on its own: the loopback stand-in ----------------------------------
@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    state = StandIn()
    with serve_loopback(make_handler(state)) as state.port:
        yield state


def test_a_redirect_loop_is_one_line_and_not_retried(stand_in: StandIn, tmp_path: Path) -> None:
    """A front proxy redirecting to itself (an http -> https -> http loop, say)."""
    stand_in.script[MANIFEST_PATH] = [("redirect", MANIFEST_PATH)] * 50
    source, sleeps = stand_in_source(stand_in, tmp_path)
    with source, pytest.raises(RegistryError) as err:
        source.resolve()
    assert str(err.value) == (
        f"registry {stand_in.host}: manifest {stand_in.host}/library/alpine:3.20.3: "
        "Exceeded maximum allowed redirects."
    )
    assert sleeps == []
    assert len(stand_in.requests) == 21  # the first request and httpx's 20 redirects


@pytest.mark.parametrize("header", ["sha256:not-hex", "garbage", "md5:" + "0" * 32])
def test_a_malformed_content_digest_header_is_ignored(stand_in: StandIn, tmp_path: Path, header: str) -> None:
    """The bytes then name themselves: the manifest's digest is their sha256, as without the header."""
    data = blob_file(ALPINE_MANIFEST).read_bytes()
    stand_in.script[MANIFEST_PATH] = [
        ("body", data, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": header})
    ]
    source, _ = stand_in_source(stand_in, tmp_path)
    with source:
        resolved = source.resolve()
    assert resolved.manifest_digest == ALPINE_MANIFEST == sha256(data)
    assert source.cache.has(ALPINE_MANIFEST)


@pytest.mark.registry
def test_the_response_stream_reads_a_blob_whole_in_small_reads(registry: RunningRegistry) -> None:
    """Behind a ``BufferedReader`` (which asks ``readable()``) and reads smaller than the network's
    pieces, the raw body comes out byte for byte, leftovers of a piece first."""
    manifest = json.loads(blob_file(ALPINE_MANIFEST).read_bytes())
    layer = manifest["layers"][0]
    with httpx.Client(timeout=30) as client:
        request = client.build_request("GET", f"{registry.url}/v2/library/alpine/blobs/{layer['digest']}")
        response = client.send(request, stream=True)
        raw = _ResponseStream(response, RateGuard(Deadlines()))
        reader = io.BufferedReader(raw, buffer_size=1000)
        pieces = []
        while piece := reader.read(777):
            pieces.append(piece)
        reader.close()
    assert len(pieces) > 2
    assert sha256(b"".join(pieces)) == layer["digest"]
    assert len(b"".join(pieces)) == layer["size"]
    assert response.is_closed
