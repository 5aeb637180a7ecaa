"""End to end: every corpus image, through every transport, gives exactly the expected inventory."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from alpinist.images.open import PullOptions
from alpinist.inventory.build import build_inventory
from alpinist.models import Inventory

from .conftest import EXPECTED, OCI_LAYOUT, TAGS, expected_dir, oci_ref, read_tsv
from .registry_server import REGISTRY_USER, RunningRegistry

OS_FIELDS_APK = ("name", "version", "origin", "arch")
OS_FIELDS_DEB = ("name", "version", "source_name", "source_version", "arch")


def os_rows(inv: Inventory) -> list[dict[str, str]]:
    rows = []
    for p in inv.packages:
        if p.type == "apk":
            rows.append(
                {"name": p.name, "version": p.version, "origin": p.origin or "", "arch": p.arch or ""}
            )
        elif p.type == "deb":
            rows.append(
                {
                    "name": p.name,
                    "version": p.version,
                    "source_name": p.origin or "",
                    "source_version": p.source_version or "",
                    "arch": p.arch or "",
                }
            )
    return sorted(rows, key=lambda r: r["name"])


def python_rows(inv: Inventory) -> list[dict[str, str]]:
    return sorted(
        (
            {"name": p.name, "version": p.version, "path": p.locations[0]}
            for p in inv.packages
            if p.type == "python"
        ),
        key=lambda r: (r["path"], r["name"]),
    )


def expected_python(tag: str) -> list[dict[str, str]]:
    return sorted(read_tsv(expected_dir(tag) / "python.tsv"), key=lambda r: (r["path"], r["name"]))


def expected_os(tag: str) -> list[dict[str, str]]:
    return sorted(read_tsv(expected_dir(tag) / "packages.tsv"), key=lambda r: r["name"])


@pytest.fixture(scope="module")
def inventories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Inventory]:
    cache = tmp_path_factory.mktemp("cache")
    return {tag: build_inventory(oci_ref(tag), PullOptions(cache_dir=cache)) for tag in TAGS}


@pytest.mark.parametrize("tag", TAGS)
def test_packages_equal_ground_truth(inventories: dict[str, Inventory], tag: str) -> None:
    inv = inventories[tag]
    assert os_rows(inv) == expected_os(tag)
    assert python_rows(inv) == expected_python(tag)


@pytest.mark.parametrize("tag", TAGS)
def test_os_and_image_facts(inventories: dict[str, Inventory], tag: str) -> None:
    inv = inventories[tag]
    exp = expected_dir(tag)
    os_release = dict(
        line.split("=", 1) for line in (exp / "os-release").read_text().splitlines() if "=" in line
    )
    assert inv.os is not None
    assert inv.os.id == os_release["ID"].strip('"')
    assert inv.os.version_id == os_release["VERSION_ID"].strip('"')
    assert inv.os.version == (exp / "distro-version").read_text().strip()

    config = json.loads((exp / "config.json").read_text())
    facts = inv.image
    assert facts.manifest_digest == config["manifest_digest"]
    assert facts.config_digest == config["config_digest"]
    assert facts.user == (config["user"] or "")
    assert list(facts.env) == config["env"]
    assert list(facts.cmd or []) == (config["cmd"] or [])
    assert list(facts.exposed_ports) == sorted(config["exposed_ports"] or [])
    if config["healthcheck"]:
        assert facts.healthcheck is not None
        assert list(facts.healthcheck.test) == config["healthcheck"]["Test"]
    else:
        assert facts.healthcheck is None

    layers = read_tsv(exp / "layers.tsv")
    assert [(li.digest, li.compressed_size, li.uncompressed_size, li.diff_id) for li in facts.layers] == [
        (r["digest"], int(r["compressed_size"]), int(r["uncompressed_size"]), r["diff_id"]) for r in layers
    ]
    assert [li.created_by for li in facts.layers] == [r["created_by"] for r in layers]
    sizes = read_tsv(exp / "sizes.tsv")[0]
    assert facts.compressed_size == int(sizes["compressed_layers_bytes"])
    assert facts.uncompressed_size == int(sizes["uncompressed_layers_bytes"])


def test_story_facts(inventories: dict[str, Inventory]) -> None:
    before, after = inventories["python-app:debian"], inventories["python-app:alpine"]
    assert not before.image.runs_as_root and before.image.user == "appuser"
    assert after.image.user == "nonroot:nonroot"
    assert before.image.healthcheck is not None and "curl" in before.image.healthcheck.command
    assert after.image.healthcheck is not None and "urllib" in after.image.healthcheck.command
    assert before.image.shell is not None and after.image.shell is not None
    assert "apt" in before.image.package_managers and "dpkg" in before.image.package_managers
    assert "apk" in after.image.package_managers
    assert inventories["alpine:3.20.3"].image.runs_as_root


def test_whiteout_hides_setuptools_in_venv(inventories: dict[str, Inventory]) -> None:
    inv = inventories["python-app:debian"]
    venv = [p for p in inv.packages if p.type == "python" and p.locations[0].startswith("/opt/venv/")]
    assert "setuptools" not in {p.name for p in venv}
    # the dpkg-owned setuptools in /usr/lib/python3/dist-packages is real and stays, owned by Debian
    owned = {p.name: p.owner for p in inv.packages if p.type == "python" and p.owner}
    assert owned.get("setuptools", "").startswith("deb:")
    assert owned.get("pip", "").startswith("deb:")


def test_cpython_in_usr_local(inventories: dict[str, Inventory]) -> None:
    binaries = [p for p in inventories["python-app:alpine"].packages if p.type == "binary"]
    assert [(p.name, p.version) for p in binaries] == [("python", "3.11.2")]
    assert binaries[0].purl == "pkg:generic/python@3.11.2"
    for tag in ("python-app:debian", "debian:12-slim", "alpine:3.20.3"):
        assert not [p for p in inventories[tag].packages if p.type == "binary"], tag


def test_every_package_has_purl_and_layer(inventories: dict[str, Inventory]) -> None:
    for tag, inv in inventories.items():
        diff_ids = {li.diff_id for li in inv.image.layers}
        for p in inv.packages:
            assert p.purl.startswith(
                f"pkg:{ {'apk': 'apk', 'deb': 'deb', 'python': 'pypi', 'binary': 'generic'}[p.type] }/"
            ), p
            assert p.layer in diff_ids, (tag, p.name, p.layer)
    deb = {p.name: p for p in inventories["python-app:debian"].packages if p.type == "deb"}
    assert deb["curl"].purl == "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u15?arch=amd64&distro=debian-12"
    assert (
        deb["bash"].purl
        == "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
    )
    # curl came with the apt-get layer (index 1), bash with the base layer (index 0)
    assert (deb["curl"].layer_index, deb["bash"].layer_index) == (1, 0)
    apk = {p.name: p for p in inventories["alpine:3.20.3"].packages}
    assert (
        apk["libssl3"].purl
        == "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
    )


def _skopeo(src: str, dest: str) -> None:
    subprocess.run(["skopeo", "copy", "-q", src, dest], check=True)


def _identity(inv: Inventory) -> tuple[object, ...]:
    """What must not depend on the transport: packages (with their layers), OS, config facts."""
    f = inv.image
    return (
        inv.os,
        tuple((p.type, p.name, p.version, p.purl, p.layer, p.origin, p.locations) for p in inv.packages),
        (f.config_digest, f.user, f.healthcheck, f.env, f.cmd, f.entrypoint, f.exposed_ports, f.shell),
        tuple((li.diff_id, li.uncompressed_size, li.created_by) for li in f.layers),
    )


@pytest.mark.parametrize("tag", ["python-app:alpine", "python-app:debian"])
def test_same_inventory_from_archives(tmp_path: Path, inventories: dict[str, Inventory], tag: str) -> None:
    docker_tar = tmp_path / "image.docker.tar"
    oci_tar = tmp_path / "image.oci.tar"
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"docker-archive:{docker_tar}:{tag}")
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"oci-archive:{oci_tar}:{tag}")
    want = _identity(inventories[tag])
    from_docker = build_inventory(f"docker-archive:{docker_tar}", use_cache=False)
    from_oci = build_inventory(f"oci-archive:{oci_tar}:{tag}", use_cache=False)
    assert _identity(from_docker) == want
    assert _identity(from_oci) == want
    assert from_oci.image.manifest_digest == inventories[tag].image.manifest_digest


def test_same_inventory_from_dir_rootfs(tmp_path: Path, inventories: dict[str, Inventory]) -> None:
    """dir: reads an unpacked root filesystem (unpacked here by umoci, a trusted tool, into tmp)."""
    tag = "python-app:alpine"
    work = tmp_path / "oci"
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"oci:{work}:app")
    subprocess.run(
        ["umoci", "raw", "unpack", "--rootless", "--image", f"{work}:app", str(tmp_path / "rootfs")],
        check=True,
    )
    inv = build_inventory(f"dir:{tmp_path / 'rootfs'}")
    want = inventories[tag]
    assert os_rows(inv) == os_rows(want)
    assert python_rows(inv) == python_rows(want)
    assert inv.os == want.os
    assert inv.image.shell is not None
    assert "apk" in inv.image.package_managers


def test_warm_rerun_reads_no_layer(tmp_path: Path) -> None:
    tag = "alpine:3.20.3"
    layout = tmp_path / "oci"
    _skopeo(f"oci:{OCI_LAYOUT}:{tag}", f"oci:{layout}:{tag}")
    options = PullOptions(cache_dir=tmp_path / "cache")
    first = build_inventory(f"oci:{layout}:{tag}", options)
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())
    for layer in manifest["layers"]:
        (layout / "blobs" / "sha256" / layer["digest"][7:]).unlink()  # a cold read would now fail
    second = build_inventory(f"oci:{layout}:{tag}", options)
    assert second == first
    with pytest.raises(Exception, match="no regular file"):
        build_inventory(f"oci:{layout}:{tag}", options, use_cache=False)


def test_expected_dirs_exist() -> None:
    assert {p.name for p in EXPECTED.iterdir() if p.is_dir()} >= {t.replace(":", "_") for t in TAGS}
    shutil.which("skopeo") or pytest.fail("skopeo missing: the test command installs it")


def test_same_inventory_from_a_real_registry_anonymously(
    registry: RunningRegistry, inventories: dict[str, Inventory], tmp_path: Path
) -> None:
    registry.push("python-app:debian")
    options = PullOptions(cache_dir=tmp_path / "cache")
    for tag in ("python-app:alpine", "python-app:debian"):
        inv = build_inventory(f"{registry.host}/library/{tag}", options)
        assert _identity(inv) == _identity(inventories[tag]), tag
        assert inv.image.manifest_digest == inventories[tag].image.manifest_digest
        assert inv.image.name == f"{registry.host}/library/{tag}"
        assert [li.digest for li in inv.image.layers] == [li.digest for li in inventories[tag].image.layers]


def test_same_inventory_behind_htpasswd(
    registry_htpasswd: RunningRegistry,
    inventories: dict[str, Inventory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from alpinist.cli.app import main
    from alpinist.errors import AuthError

    ref = f"registry:{registry_htpasswd.host}/library/python-app:alpine"
    with pytest.raises(AuthError):
        build_inventory(ref, PullOptions(cache_dir=tmp_path / "anon"))
    inv = build_inventory(ref, PullOptions(cache_dir=tmp_path / "c1", credentials=REGISTRY_USER))
    assert _identity(inv) == _identity(inventories["python-app:alpine"])

    # the CLI with credentials from a docker config.json, as a user has them
    user, password = REGISTRY_USER
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {registry_htpasswd.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    with pytest.raises(SystemExit) as exc:
        main(["sbom", ref, "--format", "json"])
    assert exc.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in doc["packages"]} >= {"musl", "requests", "python"}


def test_corrupted_cached_blob_is_dropped_and_refetched(
    fresh_registry: RunningRegistry, tmp_path: Path
) -> None:
    """A cached layer whose bytes went bad on disk (same size, other bytes: only the digest can tell) is
    dropped and fetched again in the same run, which gives the same inventory; the cache holds the right
    bytes afterwards."""
    ref = f"{fresh_registry.host}/library/alpine:3.20.3"
    options = PullOptions(cache_dir=tmp_path / "cache")
    first = build_inventory(ref, options, use_cache=False)
    layer = first.image.layers[0].digest
    cached = tmp_path / "cache" / "blobs" / "sha256" / layer[7:]
    good = cached.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    assert build_inventory(ref, options, use_cache=False) == first
    assert cached.read_bytes() == good


def test_progress_bar_on_a_terminal_only(registry: RunningRegistry, tmp_path: Path) -> None:
    """Pulling shows a progress bar when stderr is a terminal, and nothing when it is not."""
    import os
    import pty
    import sys

    ref = f"{registry.host}/library/alpine:3.20.3"
    cmd = [sys.executable, "-m", "alpinist.cli", "sbom", ref, "--format", "json"]
    env = dict(os.environ, ALPINIST_CACHE_DIR=str(tmp_path / "tty-cache"), TERM="xterm", COLUMNS="100")
    master, slave = pty.openpty()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, timeout=120, check=False)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.returncode == 0
    assert b"pull" in b"".join(chunks)
    json.loads(proc.stdout)

    env["ALPINIST_CACHE_DIR"] = str(tmp_path / "pipe-cache")
    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=120, check=False)
    assert piped.returncode == 0 and piped.stderr == b""


def test_cached_inventory_takes_the_image_name_of_the_transport_it_is_read_from(tmp_path: Path) -> None:
    """The layout names the image by its tag, the corpus' oci-archive of the same manifest names none:
    an inventory cached from one must not lend its name to the other."""
    archive = OCI_LAYOUT.parent / "archives" / "alpine-3.20.3.oci.tar"
    options = PullOptions(cache_dir=tmp_path / "cache")
    from_layout = build_inventory(oci_ref("alpine:3.20.3"), options)
    assert from_layout.image.name == "alpine:3.20.3"
    cached = build_inventory(f"oci-archive:{archive}", options)
    fresh = build_inventory(f"oci-archive:{archive}", options, use_cache=False)
    # the same manifest and config: the second read is served from the inventory cache
    assert cached.image.manifest_digest == from_layout.image.manifest_digest
    assert fresh.image.name is None
    assert cached == fresh
