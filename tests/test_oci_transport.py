from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from alpinist.errors import DigestMismatch, ManifestError, NotFound
from alpinist.images.manifest import host_platform
from alpinist.images.oci import DockerArchiveSource, OCILayoutSource
from alpinist.models import Platform

from .conftest import CORPUS, EXPECTED, OCI_LAYOUT, TAGS, read_tsv

INDEX = {row["tag"]: row for row in read_tsv(EXPECTED / "INDEX.tsv")}


def layout(tag: str | None, path: Path = OCI_LAYOUT, archive: bool = False) -> OCILayoutSource:
    return OCILayoutSource(
        str(path), tag, archive=archive, platform=host_platform(), reference=f"oci:{path}:{tag}"
    )


@pytest.mark.parametrize("tag", TAGS)
def test_layout_resolves_every_tag(tag: str) -> None:
    resolved = layout(tag).resolve()
    assert resolved.manifest_digest == INDEX[tag]["manifest_digest"]
    assert resolved.config_digest == INDEX[tag]["config_digest"]
    assert len(resolved.layers) == int(INDEX[tag]["layers"])
    assert sum(d.size for d in resolved.layers) == int(INDEX[tag]["compressed_layers_bytes"])
    assert resolved.platform == Platform("linux", "amd64")


def test_layout_without_tag_and_several_images_needs_a_platform_match() -> None:
    # five images, all linux/amd64 without platform in the index: ambiguous -> clear error
    with pytest.raises(NotFound):
        layout(None).resolve()


def test_unknown_tag_lists_what_exists() -> None:
    with pytest.raises(NotFound, match="python-app:debian"):
        layout("nope:1").resolve()


def test_oci_archive_from_corpus() -> None:
    src = layout(None, CORPUS / "images" / "archives" / "alpine-3.20.3.oci.tar", archive=True)
    resolved = src.resolve()
    assert resolved.manifest_digest == INDEX["alpine:3.20.3"]["manifest_digest"]
    with src.open_blob(resolved.layers[0]) as fh:
        blob = fh.read()
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == resolved.layers[0].digest


def test_docker_archive_from_corpus() -> None:
    src = DockerArchiveSource(
        str(CORPUS / "images" / "archives" / "alpine-3.20.3.docker.tar"), None, reference="x"
    )
    resolved = src.resolve()
    layers = read_tsv(EXPECTED / "alpine_3.20.3" / "layers.tsv")
    assert resolved.config_digest == INDEX["alpine:3.20.3"]["config_digest"]
    assert [d.digest for d in resolved.layers] == [row["diff_id"] for row in layers]


def _copy_layout(tmp_path: Path, tag: str) -> tuple[Path, dict[str, str]]:
    """A writable layout holding only ``tag``'s manifest and config (layers are not needed here)."""
    dest = tmp_path / "oci"
    (dest / "blobs" / "sha256").mkdir(parents=True)
    shutil.copy(OCI_LAYOUT / "oci-layout", dest / "oci-layout")
    index = json.loads((OCI_LAYOUT / "index.json").read_text())
    entry = next(
        m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    )
    manifest_path = OCI_LAYOUT / "blobs" / "sha256" / entry["digest"][7:]
    manifest = json.loads(manifest_path.read_text())
    for digest in (entry["digest"], manifest["config"]["digest"]):
        shutil.copy(OCI_LAYOUT / "blobs" / "sha256" / digest[7:], dest / "blobs" / "sha256" / digest[7:])
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return dest, {"manifest": entry["digest"], "config": manifest["config"]["digest"]}


def test_tampered_manifest_is_refused(tmp_path: Path) -> None:
    dest, digests = _copy_layout(tmp_path, "alpine:3.20.3")
    blob = dest / "blobs" / "sha256" / digests["manifest"][7:]
    data = blob.read_bytes()
    blob.write_bytes(data.replace(b"vnd.oci", b"vnd.OCI", 1))  # same size, other bytes
    assert blob.read_bytes() != data
    with pytest.raises(DigestMismatch, match=digests["manifest"]):
        layout("alpine:3.20.3", dest).resolve()


def test_tampered_config_is_refused(tmp_path: Path) -> None:
    dest, digests = _copy_layout(tmp_path, "alpine:3.20.3")
    blob = dest / "blobs" / "sha256" / digests["config"][7:]
    data = bytearray(blob.read_bytes())
    data[10] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch, match=digests["config"]):
        layout("alpine:3.20.3", dest).resolve()


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    dest, _ = _copy_layout(tmp_path, "alpine:3.20.3")
    garbage = b"<html>not a manifest</html>"
    digest = "sha256:" + hashlib.sha256(garbage).hexdigest()
    (dest / "blobs" / "sha256" / digest[7:]).write_bytes(garbage)
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": len(garbage),
        "annotations": {"org.opencontainers.image.ref.name": "bad:1"},
    }
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    with pytest.raises(ManifestError, match=f"manifest {digest} is not JSON"):
        layout("bad:1", dest).resolve()


def test_index_json_that_is_not_json(tmp_path: Path) -> None:
    dest, _ = _copy_layout(tmp_path, "alpine:3.20.3")
    (dest / "index.json").write_text("{")
    with pytest.raises(ManifestError, match=r"index\.json is not JSON"):
        layout("alpine:3.20.3", dest).resolve()


def test_docker_archive_made_by_skopeo_with_several_layers(tmp_path: Path) -> None:
    archive = tmp_path / "app.tar"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            f"oci:{OCI_LAYOUT}:python-app:alpine",
            f"docker-archive:{archive}:python-app:alpine",
        ],
        check=True,
    )
    src = DockerArchiveSource(str(archive), "docker.io/library/python-app:alpine", reference="x")
    resolved = src.resolve()
    assert resolved.config_digest == INDEX["python-app:alpine"]["config_digest"]
    assert resolved.name == "docker.io/library/python-app:alpine"
    rows = read_tsv(EXPECTED / "python-app_alpine" / "layers.tsv")
    assert [d.digest for d in resolved.layers] == [row["diff_id"] for row in rows]
    assert [d.size for d in resolved.layers] == [int(row["uncompressed_size"]) for row in rows]


def _docker_archive(tmp_path: Path, manifest: object, config: object | None = None) -> Path:
    """A hand-made docker-archive: manifest.json and, when given, a config named by its sha256."""
    import io
    import tarfile

    archive = tmp_path / "hostile.docker.tar"
    with tarfile.open(archive, "w") as tar:
        members = {"manifest.json": json.dumps(manifest).encode()}
        if config is not None:
            data = json.dumps(config).encode()
            members[hashlib.sha256(data).hexdigest() + ".json"] = data
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.mark.parametrize("ref", [None, "@0"])
def test_docker_archive_manifest_entry_that_is_not_an_object(tmp_path: Path, ref: str | None) -> None:
    archive = _docker_archive(tmp_path, [5])
    with pytest.raises(ManifestError, match=r"manifest\.json entry is not an object"):
        DockerArchiveSource(str(archive), ref, reference="x").resolve()


def test_docker_archive_tag_lookup_passes_over_malformed_entries(tmp_path: Path) -> None:
    archive = _docker_archive(tmp_path, [5, {"RepoTags": "some:tag2"}, {"RepoTags": [1, "other:1"]}])
    with pytest.raises(NotFound, match="no image tagged 'some:tag'"):
        DockerArchiveSource(str(archive), "some:tag", reference="x").resolve()


@pytest.mark.parametrize("rootfs", [["not", "an", "object"], "text", {"diff_ids": "sha256:abc"}])
def test_docker_archive_config_with_a_malformed_rootfs(tmp_path: Path, rootfs: object) -> None:
    config = {"rootfs": rootfs}
    name = hashlib.sha256(json.dumps(config).encode()).hexdigest() + ".json"
    archive = _docker_archive(tmp_path, [{"Config": name, "Layers": []}], config)
    with pytest.raises(ManifestError, match="diff_ids"):
        DockerArchiveSource(str(archive), None, reference="x").resolve()
