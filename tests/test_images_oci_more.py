"""More of ``images/oci.py``: layouts and archives that are missing, oversized, nested or malformed, each
refused with the line the user reads; and the layouts real tools write that the corpus lacks (one name
for several platforms, an index blob under ``index.json``, docker 25's ``blobs/sha256`` archives).

Layouts and archives are built in tmp_path from the corpus' own blobs or from small hand-made images.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from alpinist.errors import BadReference, DigestMismatch, ImageError, ManifestError, NotFound
from alpinist.images.manifest import MAX_MANIFEST_BYTES, OCI_INDEX
from alpinist.images.oci import DockerArchiveSource, OCILayoutSource
from alpinist.models import Descriptor, Platform

from .conftest import EXPECTED, OCI_LAYOUT, read_tsv

INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}
REF_NAME = "org.opencontainers.image.ref.name"
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- OCI layouts -----------------------------------------------------------------------------------
def source(path: Path, ref: str | None, platform: Platform = AMD64, archive: bool = False) -> OCILayoutSource:
    prefix = "oci-archive" if archive else "oci"
    return OCILayoutSource(
        str(path), ref, archive=archive, platform=platform, reference=f"{prefix}:{path}:{ref or ''}"
    )


def corpus_entry(tag: str) -> dict[str, Any]:
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    return next(m for m in index["manifests"] if m["annotations"][REF_NAME] == tag)


def new_layout(tmp_path: Path, *tags: str) -> Path:
    """A writable layout with the manifests and configs of the corpus ``tags`` (no layers) and an
    empty index.json."""
    dest = tmp_path / "oci"
    (dest / "blobs" / "sha256").mkdir(parents=True)
    shutil.copy(OCI_LAYOUT / "oci-layout", dest / "oci-layout")
    for tag in tags:
        digest = corpus_entry(tag)["digest"]
        manifest = json.loads((OCI_LAYOUT / "blobs" / "sha256" / digest[7:]).read_text())
        for blob in (digest, manifest["config"]["digest"]):
            shutil.copy(OCI_LAYOUT / "blobs" / "sha256" / blob[7:], dest / "blobs" / "sha256" / blob[7:])
    write_index(dest, [])
    return dest


def write_index(layout: Path, entries: list[dict[str, Any]]) -> None:
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))


def put_blob(layout: Path, data: bytes) -> str:
    digest = sha256(data)
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def entry(tag: str, platform: Platform | None = None, ref: str | None = None) -> dict[str, Any]:
    """The corpus index entry of ``tag``, with a platform and another ref name if given."""
    found = dict(corpus_entry(tag))
    if ref is not None:
        found["annotations"] = {REF_NAME: ref}
    if platform is not None:
        found["platform"] = {"os": platform.os, "architecture": platform.architecture}
        if platform.variant:
            found["platform"]["variant"] = platform.variant
    return found


def index_blob(layout: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """An image index blob in ``layout`` holding ``entries``; returns its descriptor."""
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    return {"mediaType": OCI_INDEX, "digest": put_blob(layout, data), "size": len(data)}


def test_a_layout_path_that_is_not_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(b"")
    with pytest.raises(NotFound) as err:
        source(path, "x")
    assert str(err.value) == f"{path}: not an OCI layout directory"


@pytest.mark.parametrize("archive", [True, False], ids=["oci-archive", "docker-archive"])
def test_an_archive_that_does_not_exist(tmp_path: Path, archive: bool) -> None:
    path = tmp_path / "missing.tar"
    with pytest.raises(NotFound) as err:
        if archive:
            source(path, None, archive=True)
        else:
            DockerArchiveSource(str(path), None, reference=f"docker-archive:{path}")
    assert str(err.value) == f"{path}: no such archive"


def test_a_layout_without_index_json(tmp_path: Path) -> None:
    layout = new_layout(tmp_path, "alpine:3.20.3")
    (layout / "index.json").unlink()
    with pytest.raises(NotFound) as err:
        source(layout, "alpine:3.20.3").resolve()
    assert str(err.value) == f"{layout}: no regular file index.json"


def test_an_index_json_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    """A layout's files are read only as regular files: a symlink could point anywhere on the disk."""
    layout = new_layout(tmp_path, "alpine:3.20.3")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"schemaVersion": 2, "manifests": [entry("alpine:3.20.3")]}))
    (layout / "index.json").unlink()
    (layout / "index.json").symlink_to(elsewhere)
    with pytest.raises(NotFound) as err:
        source(layout, "alpine:3.20.3").resolve()
    assert str(err.value) == f"{layout}: no regular file index.json"


def test_an_archive_without_index_json(tmp_path: Path) -> None:
    archive = tmp_path / "layout.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(OCI_LAYOUT / "oci-layout", "oci-layout")
    with pytest.raises(NotFound) as err:
        source(archive, None, archive=True).resolve()
    assert str(err.value) == f"{archive}: no index.json in the archive"


def test_an_index_json_over_the_manifest_limit(tmp_path: Path) -> None:
    layout = new_layout(tmp_path, "alpine:3.20.3")
    (layout / "index.json").write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ManifestError) as err:
        source(layout, "alpine:3.20.3").resolve()
    assert str(err.value) == f"{layout}: index.json is larger than {MAX_MANIFEST_BYTES} bytes"


def test_an_image_named_by_its_digest(tmp_path: Path) -> None:
    layout = new_layout(tmp_path, "alpine:3.20.3", "alpine:3.18.9")
    write_index(layout, [entry("alpine:3.20.3"), entry("alpine:3.18.9")])
    digest = INDEX["alpine:3.18.9"]["manifest_digest"]
    resolved = source(layout, digest).resolve()
    assert (resolved.manifest_digest, resolved.config_digest) == (
        digest,
        INDEX["alpine:3.18.9"]["config_digest"],
    )
    absent = "sha256:" + "0" * 64
    with pytest.raises(NotFound) as err:
        source(layout, absent).resolve()
    assert str(err.value) == (
        f"oci:{layout}:{absent}: no image {absent!r} in the layout (has: alpine:3.18.9, alpine:3.20.3)"
    )


@pytest.mark.parametrize("ref", ["multi:1", None])
def test_one_name_for_several_platforms_picks_the_wanted_one(tmp_path: Path, ref: str | None) -> None:
    """What ``docker buildx --output type=oci`` writes: index.json entries of one name, one per
    platform; ``--platform`` chooses (with or without the name given)."""
    layout = new_layout(tmp_path, "alpine:3.20.3", "alpine:3.18.9")
    write_index(layout, [entry("alpine:3.20.3", AMD64, "multi:1"), entry("alpine:3.18.9", ARM64, "multi:1")])
    assert source(layout, ref, AMD64).resolve().manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    assert source(layout, ref, ARM64).resolve().manifest_digest == INDEX["alpine:3.18.9"]["manifest_digest"]
    with pytest.raises(NotFound, match=r"no manifest for platform linux/s390x \(available: linux/amd64, "):
        source(layout, ref, Platform("linux", "s390x")).resolve()


def test_an_index_blob_under_index_json_is_followed(tmp_path: Path) -> None:
    """What ``skopeo copy --all`` writes: index.json names an image index blob, which names the
    per-platform manifests."""
    layout = new_layout(tmp_path, "alpine:3.20.3", "alpine:3.18.9")
    inner = index_blob(layout, [entry("alpine:3.20.3", AMD64), entry("alpine:3.18.9", ARM64)])
    write_index(layout, [{**inner, "annotations": {REF_NAME: "multi:1"}}])
    resolved = source(layout, "multi:1", ARM64).resolve()
    assert resolved.manifest_digest == INDEX["alpine:3.18.9"]["manifest_digest"]
    assert resolved.name == "multi:1"
    resolved = source(layout, "multi:1", AMD64).resolve()
    assert resolved.manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]


@pytest.mark.parametrize(("depth", "resolves"), [(3, True), (4, False)])
def test_index_nesting_is_bounded(tmp_path: Path, depth: int, resolves: bool) -> None:
    layout = new_layout(tmp_path, "alpine:3.20.3")
    desc = entry("alpine:3.20.3")
    for _ in range(depth):
        desc = index_blob(layout, [desc])
    write_index(layout, [{**desc, "annotations": {REF_NAME: "deep:1"}}])
    src = source(layout, "deep:1")
    if resolves:
        assert src.resolve().manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    else:
        with pytest.raises(ManifestError) as err:
            src.resolve()
        assert str(err.value) == f"oci:{layout}:deep:1: index nesting too deep"


# -- docker archives -------------------------------------------------------------------------------
def layer_tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


LAYER = layer_tar({"etc/os-release": b"ID=alpine\nVERSION_ID=3.20.3\n"})
CONFIG = json.dumps(
    {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha256(LAYER)]}}
).encode()


def write_archive(tmp_path: Path, members: dict[str, bytes], manifest: Any = None) -> Path:
    """A docker-archive of ``members`` with ``manifest`` (JSON) as manifest.json, written first."""
    path = tmp_path / "image.docker.tar"
    parts = {} if manifest is None else {"manifest.json": json.dumps(manifest).encode()}
    path.write_bytes(layer_tar({**parts, **members}))
    return path


def docker(path: Path, ref: str | None = None) -> DockerArchiveSource:
    return DockerArchiveSource(str(path), ref, reference=f"docker-archive:{path}{':' + ref if ref else ''}")


def image(config: str, layers: list[str], tags: list[str] | None = None) -> dict[str, Any]:
    return {"Config": config, "RepoTags": tags or [], "Layers": layers}


def test_names_that_carry_no_digest(tmp_path: Path) -> None:
    """``config.json`` and ``layer.tar`` say nothing of their content: the image ID is the config's
    sha256 and the layer is known by its diff_id; its bytes stream as stored."""
    archive = write_archive(
        tmp_path,
        {"config.json": CONFIG, "layer.tar": LAYER},
        [image("config.json", ["layer.tar"], ["app:1"])],
    )
    src = docker(archive)
    resolved = src.resolve()
    assert (resolved.name, resolved.manifest_digest, resolved.config_digest) == (
        "app:1",
        sha256(CONFIG),
        sha256(CONFIG),
    )
    assert resolved.layers == (
        Descriptor("application/vnd.docker.image.rootfs.diff.tar", sha256(LAYER), len(LAYER)),
    )
    assert resolved.platform == AMD64
    with src.open_blob(resolved.layers[0]) as fh:
        assert fh.read() == LAYER
    other = Descriptor("application/vnd.docker.image.rootfs.diff.tar", "sha256:" + "1" * 64, 5)
    with pytest.raises(NotFound) as err:
        src.open_blob(other)
    assert str(err.value) == f"{archive}: no layer {other.digest}"


def test_docker_25_archives_name_blobs_by_digest(tmp_path: Path) -> None:
    """docker 25+ saves ``blobs/sha256/<hex>`` members: the config is verified against its name and
    each layer is known by the digest its name carries."""
    config_name = f"blobs/sha256/{sha256(CONFIG)[7:]}"
    layer_name = f"blobs/sha256/{sha256(LAYER)[7:]}"
    archive = write_archive(
        tmp_path, {config_name: CONFIG, layer_name: LAYER}, [image(config_name, [layer_name], ["app:1"])]
    )
    resolved = docker(archive, "app:1").resolve()
    assert resolved.config_digest == sha256(CONFIG)
    assert [d.digest for d in resolved.layers] == [sha256(LAYER)]
    tampered = CONFIG.replace(b"amd64", b"arm64")
    archive = write_archive(
        tmp_path, {config_name: tampered, layer_name: LAYER}, [image(config_name, [layer_name])]
    )
    with pytest.raises(DigestMismatch, match=sha256(CONFIG)):
        docker(archive).resolve()


def test_manifest_json_naming_a_member_the_archive_lacks(tmp_path: Path) -> None:
    archive = write_archive(tmp_path, {"config.json": CONFIG}, [image("config.json", ["layer.tar"])])
    with pytest.raises(ManifestError) as err:
        docker(archive).resolve()
    assert str(err.value) == f"{archive}: manifest.json names 'layer.tar', which the archive lacks"


def test_manifest_json_over_the_manifest_limit(tmp_path: Path) -> None:
    archive = tmp_path / "big.docker.tar"
    archive.write_bytes(layer_tar({"manifest.json": b" " * (MAX_MANIFEST_BYTES + 1)}))
    with pytest.raises(ManifestError) as err:
        docker(archive).resolve()
    assert str(err.value) == f"{archive}: manifest.json is larger than {MAX_MANIFEST_BYTES} bytes"


def test_an_archive_cut_short_after_it_was_opened(tmp_path: Path) -> None:
    """The archive is indexed when opened and read later: a file truncated in between (a copy still
    being written) is one line saying how much of which member was there."""
    manifest = json.dumps([image("config.json", ["layer.tar"])]).encode()
    archive = write_archive(tmp_path, {"manifest.json": manifest, "config.json": CONFIG, "layer.tar": LAYER})
    src = docker(archive)
    with archive.open("r+b") as fh:
        fh.truncate(512 + 10)  # the first header and 10 bytes of manifest.json
    with pytest.raises(ImageError) as err:
        src.resolve()
    assert str(err.value) == f"{archive}: manifest.json is truncated (10 of {len(manifest)} bytes)"


@pytest.mark.parametrize(
    ("manifest", "ref", "error", "message"),
    [
        pytest.param([], None, ManifestError, "{path}: manifest.json lists no image", id="empty"),
        pytest.param(
            {"Config": "c"}, None, ManifestError, "{path}: manifest.json is not a list", id="object"
        ),
        pytest.param(
            [image("config.json", []), image("config.json", [])],
            None,
            BadReference,
            "{path}: holds 2 images; name one as :TAG or :@N",
            id="two-images-no-ref",
        ),
        pytest.param(
            [image("config.json", [])],
            "@1",
            NotFound,
            "docker-archive:{path}:@1: no image at index @1",
            id="@1",
        ),
        pytest.param(
            [image("config.json", [])],
            "@x",
            NotFound,
            "docker-archive:{path}:@x: no image at index @x",
            id="@x",
        ),
        pytest.param(
            [{"Config": 5, "Layers": []}],
            None,
            ManifestError,
            "{path}: manifest.json entry lacks Config or Layers",
            id="config-not-a-string",
        ),
        pytest.param(
            [{"Config": "config.json", "Layers": "layer.tar"}],
            None,
            ManifestError,
            "{path}: manifest.json entry lacks Config or Layers",
            id="layers-not-a-list",
        ),
        pytest.param(
            [image("config.json", ["layer.tar", "layer.tar"])],
            None,
            ManifestError,
            "{path}: config lists 1 diff_ids for 2 layers",
            id="more-layers-than-diff-ids",
        ),
        pytest.param(
            [{"Config": "config.json", "Layers": [5]}],
            None,
            ManifestError,
            "{path}: bad layer entry 5",
            id="layer-not-a-string",
        ),
    ],
)
def test_malformed_manifest_json(
    tmp_path: Path, manifest: Any, ref: str | None, error: type[Exception], message: str
) -> None:
    archive = write_archive(tmp_path, {"config.json": CONFIG, "layer.tar": LAYER}, manifest)
    with pytest.raises(error) as err:
        docker(archive, ref).resolve()
    assert type(err.value) is error
    assert str(err.value) == message.format(path=archive)


def test_the_second_image_by_index_and_by_tag(tmp_path: Path) -> None:
    other = json.dumps({"os": "linux", "architecture": "arm64", "rootfs": {"diff_ids": []}}).encode()
    archive = write_archive(
        tmp_path,
        {"config.json": CONFIG, "other.json": other, "layer.tar": LAYER},
        [image("config.json", ["layer.tar"], ["app:1"]), image("other.json", [], ["app:2", "app:latest"])],
    )
    for ref in ("@1", "app:latest"):
        resolved = docker(archive, ref).resolve()
        assert (resolved.name, resolved.config_digest, resolved.layers) == ("app:2", sha256(other), ())
        assert resolved.platform == Platform("linux", "arm64")
