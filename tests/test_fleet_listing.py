"""Which images a fleet run scans (``fleet.listing``): the ``--images FILE`` list (a file, or standard
input as ``-``) and ``--catalog REGISTRY[/PREFIX]`` against the real docker-registry on loopback
(``catalog_registry.py``: its own token server for the repository a user may not read)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from alpinist.errors import EXIT_USAGE, BadReference, RegistryError
from alpinist.fleet import listing
from alpinist.fleet.listing import Catalog, ImageList, ImageListError, catalog_references, read_image_list
from alpinist.images.open import PullOptions
from tests.catalog_registry import (  # noqa: F401 - the fixtures register by import
    APP_TAGS,
    CatalogTokens,
    catalog_registry_fixture,
    catalog_token_registry_fixture,
)
from tests.conftest import OCI_LAYOUT
from tests.registry_server import REGISTRY_USER, RunningRegistry
from tests.scan_fixtures import scan_db  # noqa: F401 - fixture


def write(tmp_path: Path, text: str | bytes, name: str = "images.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- the list file -------------------------------------------------------------------------------------
def test_every_transport_one_a_line(tmp_path: Path) -> None:
    lines = [
        "registry:127.0.0.1:5000/team/app:v1",
        "docker://ghcr.io/org/tool@sha256:" + "a" * 64,
        "docker-archive:/images/app.tar",
        "oci-archive:/images/app-oci.tar:1.0",
        f"oci:{OCI_LAYOUT}:alpine:3.20.3",
        "dir:/srv/rootfs",
        "python:3.11-slim",
        str(OCI_LAYOUT),  # a plain path to an OCI layout
    ]
    assert read_image_list(write(tmp_path, "\n".join(lines) + "\n")) == ImageList(tuple(lines), ())


def test_comments_blank_lines_and_spaces(tmp_path: Path) -> None:
    text = (
        "\ufeff# the platform team's images\r\n"
        "\r\n"
        "   alpine:3.20   \r\n"
        "\t# indented comment\n"
        "   \n"
        "\tdebian:12-slim\n"
        "registry.example.com/team/app:1#not-a-comment"  # a # inside a line is the reference's: here a bad tag
    )
    with pytest.raises(ImageListError, match=r"images\.txt:7: invalid tag"):
        read_image_list(write(tmp_path, text))
    assert read_image_list(write(tmp_path, text.rsplit("\n", 1)[0])).references == (
        "alpine:3.20",
        "debian:12-slim",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Alpine:3.20", "invalid repository name"),
        ("alpine:-bad", "invalid tag"),
        ("alpine@sha256:1234", "invalid digest"),
        ("docker-daemon:alpine:3.20", "transport 'docker-daemon' is not supported"),
        ("./no-such-image.tar", "no such file or directory"),
        ("oci:", "oci: needs a path"),
    ],
)
def test_a_bad_line_names_the_file_and_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, f"alpine:3.20\n\n# comment\n{line}\ndebian:12\n")
    with pytest.raises(ImageListError) as err:
        read_image_list(path)
    assert str(err.value).startswith(f"{path}:4: ")
    assert message in str(err.value)
    assert err.value.exit_code == EXIT_USAGE


def test_duplicates_are_kept_once_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alpine:3.20\n"
        "debian:12\n"
        "alpine:3.20\n"
        "docker.io/library/alpine:3.20\n"
        "docker://index.docker.io/library/debian:12\n"
        "alpine:3.18\n"
        f"oci:{OCI_LAYOUT}:alpine:3.20.3\n"
        f"oci:{OCI_LAYOUT}:alpine:3.18.9\n"
        f"  oci:{OCI_LAYOUT}:alpine:3.20.3\n",
    )
    found = read_image_list(path)
    assert found.references == (
        "alpine:3.20",
        "debian:12",
        "alpine:3.18",
        f"oci:{OCI_LAYOUT}:alpine:3.20.3",
        f"oci:{OCI_LAYOUT}:alpine:3.18.9",
    )
    assert found.warnings == (
        f"{path}:3: 'alpine:3.20' is listed at line 1; kept once",
        f"{path}:4: 'docker.io/library/alpine:3.20' is the same image as 'alpine:3.20' at line 1; kept once",
        f"{path}:5: 'docker://index.docker.io/library/debian:12' is the same image as 'debian:12' at line 2; "
        "kept once",
        f"{path}:9: 'oci:{OCI_LAYOUT}:alpine:3.20.3' is listed at line 7; kept once",
    )


def test_standard_input_is_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("# from a pipe\nalpine:3.20\nalpine:3.20\n"))
    found = read_image_list(Path("-"))
    assert found.references == ("alpine:3.20",)
    assert found.warnings == ("<stdin>:3: 'alpine:3.20' is listed at line 2; kept once",)
    monkeypatch.setattr(sys, "stdin", io.StringIO("alpine:3.20\nnot a reference\n"))
    with pytest.raises(ImageListError, match=r"^<stdin>:2: "):
        read_image_list(Path("-"))


def test_the_file_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert listing.MAX_LIST_BYTES == 16 * 1024 * 1024
    monkeypatch.setattr(listing, "MAX_LIST_BYTES", 24)
    exactly = "alpine:3.20\ndebian:12\n#\n"  # 24 bytes: at the bound is read
    assert read_image_list(write(tmp_path, exactly)).references == ("alpine:3.20", "debian:12")
    path = write(tmp_path, exactly + "\n")
    with pytest.raises(ImageListError) as err:
        read_image_list(path)
    assert str(err.value) == f"{path}: larger than 24 bytes; split the list"
    monkeypatch.setattr(sys, "stdin", io.StringIO("alpine:3.20\n" * 3))
    with pytest.raises(ImageListError, match=r"^<stdin>: larger than 24 bytes"):
        read_image_list(Path("-"))


def test_unreadable_empty_or_not_utf8(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(ImageListError) as err:
        read_image_list(missing)
    assert str(err.value) == f"{missing}: cannot read it (No such file or directory)"
    with pytest.raises(ImageListError, match=r"cannot read it \(Is a directory\)"):
        read_image_list(tmp_path)
    empty = write(tmp_path, "# nothing yet\n\n")
    with pytest.raises(ImageListError) as err:
        read_image_list(empty)
    assert str(err.value) == f"{empty}: no image reference in it (only blank lines and # comments)"
    latin = write(tmp_path, b"alpine:3.20\n# caf\xe9\n")
    with pytest.raises(ImageListError) as err:
        read_image_list(latin)
    assert str(err.value) == f"{latin}:2: not UTF-8 text (byte 17)"


# -- the catalog ---------------------------------------------------------------------------------------
def test_every_tag_under_a_prefix(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    host = catalog_registry.host
    found = catalog_references(f"{host}/team", PullOptions(cache_dir=tmp_path))
    assert found == Catalog(
        (
            f"{host}/team/api:3.20.3",
            *(f"{host}/team/app:{tag}" for tag in APP_TAGS),
            f"{host}/team/sub/worker:3.20.3",
        ),
        (),
    )
    everything = catalog_references(f"registry:{host}", PullOptions(cache_dir=tmp_path))
    assert len(everything.references) == 8 and everything.references == tuple(sorted(everything.references))
    assert f"{host}/teamx/app:3.20.3" in everything.references
    assert f"{host}/teamx/app:3.20.3" not in found.references


def test_through_a_mirror(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    """A mirrored registry's images are named as on that registry (and pulled through the mirror)."""
    options = PullOptions(
        cache_dir=tmp_path, mirrors=(("registry.example.com", f"{catalog_registry.host}/ops"),)
    )
    assert catalog_references("registry.example.com", options).references == (
        "registry.example.com/cache:3.20.3",
        "registry.example.com/db:3.20.3",
    )


def test_a_repository_whose_tags_cannot_be_listed_is_an_error_not_a_gap(
    catalog_token_registry: RunningRegistry, tmp_path: Path
) -> None:
    """team/secret is in the catalog, but the token server grants this user nothing on it."""
    tokens = catalog_token_registry.token_server
    assert isinstance(tokens, CatalogTokens)
    host = catalog_token_registry.host
    options = PullOptions(cache_dir=tmp_path, credentials=REGISTRY_USER)
    tokens.denied = {"team/secret"}
    try:
        found = catalog_references(host, options)
    finally:
        tokens.denied = set()
    assert found.references == (f"{host}/other/tool:3.20.3", f"{host}/team/app:3.20.3")
    assert [repository for repository, _ in found.errors] == [f"{host}/team/secret"]
    message = found.errors[0][1]
    assert message.startswith(f"registry {host}: tags of {host}/team/secret: authentication failed")
    assert "\n" not in message
    assert catalog_references(host, options).errors == ()  # allowed again: listed again


def test_more_images_than_max_images(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    host = catalog_registry.host
    assert (
        len(catalog_references(f"{host}/team", PullOptions(cache_dir=tmp_path), max_images=5).references) == 5
    )
    with pytest.raises(RegistryError) as err:
        catalog_references(f"{host}/team", PullOptions(cache_dir=tmp_path), max_images=4)
    assert str(err.value) == (
        f"catalog of {host}/team: more than 4 images; stopped there "
        "(narrow it with REGISTRY/PREFIX, or list the images in a file for --images FILE)"
    )


def test_an_empty_prefix_is_an_empty_catalog(catalog_registry: RunningRegistry, tmp_path: Path) -> None:
    assert catalog_references(f"{catalog_registry.host}/nobody", PullOptions(cache_dir=tmp_path)) == Catalog(
        ()
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("team/app", "a registry name has a '.' or a ':port'"),
        ("127.0.0.1:5000/Team", "'Team' is not a repository path prefix"),
        ("http://127.0.0.1:5000", "is not a registry HOST"),
    ],
)
def test_a_spec_that_is_no_registry(spec: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(BadReference, match=message):
        catalog_references(spec, PullOptions(cache_dir=tmp_path))


def test_docker_hub_has_no_catalog(tmp_path: Path) -> None:
    with pytest.raises(
        RegistryError, match=r"Docker Hub does not offer the catalog API .* use --images FILE"
    ):
        catalog_references("docker.io/library", PullOptions(cache_dir=tmp_path))


def test_fleet_scan_exits_1_when_a_repository_could_not_be_listed(
    catalog_token_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The images that were listed are scanned; the repository whose tags could not be listed is a warning and
    the exit code is 1 (the run did not see every image), not 0."""
    from tests.cli_run import run_cli

    tokens = catalog_token_registry.token_server
    assert isinstance(tokens, CatalogTokens)
    host = catalog_token_registry.host
    tokens.denied = {"team/secret"}
    try:
        code, out, err = run_cli(
            capsys, "fleet", "scan", "--catalog", f"{host}/team", "--creds", ":".join(REGISTRY_USER),
            "--store", f"sqlite://{tmp_path / 'fleet.db'}", "--db", str(scan_db), "--format", "json",
        )  # fmt: skip
    finally:
        tokens.denied = set()
    assert code == 1, err
    assert f"{host}/team/secret: tags not listed: registry {host}: tags of {host}/team/secret: authentication" in err
    assert json.loads(out)["by_status"]["scanned"] == 1  # team/app:3.20.3
