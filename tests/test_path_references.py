"""Issue 14, item 2: plain paths are images, as ``trivy --input`` and grype read them.

An existing OCI layout directory, docker-archive and oci-archive tarballs and a root filesystem
directory are recognised by their contents; syft's ``oci-dir:`` is ``oci:``; a layout given without
``:REF`` that holds several images names them. All on the real corpus images, through the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from alpinist.errors import BadReference
from alpinist.images.reference import parse_reference
from tests.conftest import CORPUS, OCI_LAYOUT
from tests.test_cli_conventions import run

ARCHIVES = CORPUS / "images" / "archives"
DOCKER_TAR = ARCHIVES / "alpine-3.20.3.docker.tar"
OCI_TAR = ARCHIVES / "alpine-3.20.3.oci.tar"
LAYOUT_NAMES = ("alpine:3.18.9", "alpine:3.20.3", "debian:12-slim", "python-app:alpine", "python-app:debian")


def sbom_json(argv_image: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = run(["sbom", "-f", "json", argv_image], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def test_plain_paths_are_recognised_by_their_contents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ./app.tar used to be "invalid repository name" and ../…/oci "invalid registry host '..'"
    shutil.copy(DOCKER_TAR, tmp_path / "app.tar")
    shutil.copy(OCI_TAR, tmp_path / "app-oci.tar")
    rootfs = tmp_path / "rootfs" / "etc"
    rootfs.mkdir(parents=True)
    (rootfs / "alpine-release").write_text("3.20.3\n")
    (rootfs / "os-release").write_text('ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n')
    monkeypatch.chdir(tmp_path)
    layout = os.path.relpath(OCI_LAYOUT, tmp_path)  # ../…/images/oci
    assert layout.startswith("..")

    assert parse_reference("./app.tar").transport == "docker-archive"
    assert parse_reference("app.tar").transport == "docker-archive"  # exists, ends in .tar
    assert parse_reference(str(tmp_path / "app-oci.tar")).transport == "oci-archive"
    assert parse_reference(layout).transport == "oci"
    assert parse_reference("./rootfs").transport == "dir"
    # a bare word stays a registry name even beside a directory of that name
    (tmp_path / "python").mkdir()
    assert parse_reference("python").transport == "registry"

    docker = sbom_json("./app.tar", capsys)
    oci = sbom_json("./app-oci.tar", capsys)
    rootdir = sbom_json("./rootfs", capsys)
    for doc, transport in ((docker, "docker-archive"), (oci, "oci-archive"), (rootdir, "dir")):
        image = doc["image"]
        assert isinstance(image, dict) and image["transport"] == transport
    assert docker["packages"] == oci["packages"]  # one image, two archive formats
    assert docker["packages"]

    # a missing path is named as such, not parsed as a registry name
    code, _, err = run(["sbom", "./missing.tar"], capsys)
    assert code == 1
    assert err.strip() == "alpinist: error: ./missing.tar: no such file or directory"
    # a file that is no image archive says what it is not (and that it is compressed)
    (tmp_path / "app.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(600))
    with pytest.raises(BadReference, match=r"neither a docker-archive .* compressed"):
        parse_reference("./app.tar.gz")


def test_oci_dir_is_syfts_spelling_of_oci(capsys: pytest.CaptureFixture[str]) -> None:
    ref = parse_reference(f"oci-dir:{OCI_LAYOUT}:alpine:3.20.3")
    assert (ref.transport, ref.path, ref.ref) == ("oci", str(OCI_LAYOUT), "alpine:3.20.3")
    via_dir = sbom_json(f"oci-dir:{OCI_LAYOUT}:alpine:3.20.3", capsys)
    via_oci = sbom_json(f"oci:{OCI_LAYOUT}:alpine:3.20.3", capsys)
    assert via_dir["packages"] == via_oci["packages"]


def test_a_layout_of_several_images_without_ref_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    # before: "no manifest for platform linux/amd64 (available: none)"
    for image in (str(OCI_LAYOUT), f"oci:{OCI_LAYOUT}"):
        code, out, err = run(["sbom", image], capsys)
        assert code == 1 and out == ""
        line = err.strip()
        assert "\n" not in line
        assert f"the layout holds {len(LAYOUT_NAMES)} images" in line
        assert f"oci:{OCI_LAYOUT}:REF" in line
        assert line.endswith("REF one of: " + ", ".join(LAYOUT_NAMES))
