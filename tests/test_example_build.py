"""Build the example service's Debian "before" image with buildah, then inventory it with alpinist.

``examples/python-spring-equivalent/Dockerfile.k8s.corpus`` (``Dockerfile.k8s`` on the corpus base) is built
with ``buildah bud --isolation chroot --storage-driver vfs`` from ``debian:12-slim`` read straight out of
the corpus OCI layout (``--build-arg BASE=oci:…:debian:12-slim``; buildah accepts a transport in ``FROM``),
so no registry is involved. The build's ``apt-get install python3 python3-venv curl`` reaches Debian's
package mirror (``deb.debian.org``, from the base's sources.list): the only network this test uses, from
buildah, outside the test process. Storage root, run root, temp dir, network config directory and the
exported layout all live in the test's tmp dir and are deleted at the end; the only file buildah writes
outside it is containers/image's shared blob-info cache (``/var/lib/containers/cache``), which skopeo
writes too.

The image is pushed to an OCI layout in the Docker v2s2 format: buildah keeps ``HEALTHCHECK`` only in the
Docker image config (the OCI config has no such field, and ``--format oci`` drops it with a warning).
Expected values are written by hand from ``Dockerfile.k8s.corpus`` and from the corpus' expected
``debian_12-slim`` package list.

Needs root (chroot isolation) and Debian's ``buildah`` package (the test command installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpinist.inventory.build import build_inventory
from alpinist.models import Inventory
from tests.conftest import OCI_LAYOUT, REPO, expected_dir, read_tsv

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "python-spring-equivalent"
IMAGE = "localhost/python-spring-equivalent:debian"
LAYOUT_REF = "python-spring-equivalent:debian"
BUILD_TIMEOUT = 600  # seconds: the build downloads about 30 MB of .debs


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        pytest.fail(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built image, as an OCI layout holding ``python-spring-equivalent:debian``."""
    if shutil.which("buildah") is None:
        pytest.fail("this test needs buildah (apt-get install buildah; the test command installs it)")
    if os.geteuid() != 0:
        pytest.fail("buildah --isolation chroot needs root here")
    work = tmp_path_factory.mktemp("buildah")
    (work / "tmp").mkdir()
    conf = work / "containers.conf"
    # the CNI backend keeps its (empty) network config in our dir (netavark's would go to /etc and /run);
    # image copies stage blobs in our tmp, not /var/tmp
    conf.write_text(
        f'[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "{work / "net"}"\n'
        f'[engine]\nimage_copy_tmp_dir = "{work / "tmp"}"\n'
    )
    env = os.environ | {"CONTAINERS_CONF": str(conf), "TMPDIR": str(work / "tmp")}
    storage = ["--root", str(work / "root"), "--runroot", str(work / "runroot"), "--storage-driver", "vfs"]
    out = work / "layout"
    try:
        _run(
            [
                "buildah",
                *storage,
                "bud",
                "--isolation",
                "chroot",
                "--pull=never",
                "--format",
                "docker",  # keeps HEALTHCHECK
                "--build-arg",
                f"BASE=oci:{OCI_LAYOUT}:debian:12-slim",
                "-f",
                str(EXAMPLE / "Dockerfile.k8s.corpus"),
                "-t",
                IMAGE,
                str(EXAMPLE),
            ],
            env,
            "buildah bud",
        )
        _run(
            ["buildah", *storage, "push", "--format", "v2s2", IMAGE, f"oci:{out}:{LAYOUT_REF}"],
            env,
            "buildah push",
        )
        yield out
    finally:  # about 550 MB (vfs storage, the layout): pytest's kept temp dirs must not hold them
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def inventory(layout: Path) -> Inventory:
    return build_inventory(f"oci:{layout}:{LAYOUT_REF}", use_cache=False)


def test_user_and_healthcheck_facts_are_the_before_story(inventory: Inventory) -> None:
    facts = inventory.image
    assert facts.user == ""  # no USER instruction: root
    assert facts.runs_as_root
    assert facts.healthcheck is not None
    assert facts.healthcheck.test == ("CMD-SHELL", "curl -f http://localhost:8080/actuator/health || exit 1")
    assert facts.cmd == ("python3", "-m", "app")
    assert facts.exposed_ports == ("8080/tcp",)
    assert facts.working_dir == "/app"
    assert (facts.env_value("PATH") or "").startswith("/opt/venv/bin:")
    assert "apt" in facts.package_managers and "dpkg" in facts.package_managers


def test_os_is_debian_12(inventory: Inventory) -> None:
    assert inventory.os is not None
    assert (inventory.os.id, inventory.os.version_id, inventory.os.codename) == ("debian", "12", "bookworm")
    assert inventory.os.version.startswith("12.")


def test_curl_and_python3_come_from_the_build_layer(inventory: Inventory) -> None:
    debs = {p.name: p for p in inventory.packages if p.type == "deb"}
    for name in ("curl", "python3", "python3.11", "python3-venv"):
        assert name in debs, name
        layer_index = debs[name].layer_index
        assert layer_index is not None and layer_index >= 1, name  # not the base layer
    assert debs["python3"].origin == "python3-defaults"  # the source package, from dpkg's status
    assert debs["python3.11"].version.startswith("3.11.")
    base = {row["name"] for row in read_tsv(expected_dir("debian:12-slim") / "packages.tsv")}
    assert base <= set(debs)  # apt only adds (and may upgrade) packages
    assert not base & {"curl", "python3"}  # ... and these two were not in the base


def test_venv_pip_is_debians_bundled_wheel(inventory: Inventory) -> None:
    """``python3 -m venv`` installs pip from Debian's python3-pip-whl: the two versions must agree."""
    python = {p.name: p for p in inventory.packages if p.type == "python"}
    debs = {p.name: p for p in inventory.packages if p.type == "deb"}
    assert "pip" in python
    assert python["pip"].locations[0].startswith("/opt/venv/lib/python3.11/site-packages/pip-")
    assert debs["python3-pip-whl"].version.startswith(python["pip"].version + "+")
