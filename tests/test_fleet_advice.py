"""``fleet report --recommend``: which images of the fleet ``recommend`` would move to another base, with the
candidate bases on a real ``docker-registry`` standing in for Docker Hub (the ``hub`` of
``tests/test_recommend_e2e.py``: corpus images under ``library/python`` tags) and the fleet's own images read
from the store, never pulled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.store import Store
from alpinist.fleet.advice import advice_line, fleet_advice
from alpinist.fleet.store import open_store
from alpinist.images.open import PullOptions
from alpinist.recommend.model import Recommendation
from alpinist.recommend.run import RecommendOptions, recommend_image
from tests.cli_run import run_cli as invoke
from tests.conftest import oci_ref
from tests.imagebuild import Member, make_layout, tar_bytes
from tests.registry_server import RunningRegistry
from tests.scan_fixtures import scan_db  # noqa: F401 - fixture
from tests.test_recommend_e2e import hub  # noqa: F401 - fixture

FLEET = ("python-app:debian", "python-app:alpine", "alpine:3.20.3")
LEAN_TAG = "3.11.15-alpine3.20"
# a lean Alpine 3.20 base with Python 3.11 and a shell, every package at a version past its advisories: what the
# corpus lacks (each of its Python images has more critical + high findings than the bases it is compared with)
LEAN_APK_DB = """P:musl
V:1.2.5-r9
A:x86_64
o:musl

P:busybox
V:1.36.1-r31
A:x86_64
o:busybox

P:python3
V:3.11.15-r0
A:x86_64
o:python3

"""


def push_lean(registry: RunningRegistry, workdir: Path) -> None:
    layer = tar_bytes(
        [
            Member("etc/os-release", b'ID=alpine\nNAME="Alpine Linux"\nVERSION_ID=3.20.3\n'),
            Member("etc/alpine-release", b"3.20.3\n"),
            Member("lib/apk/db/installed", LEAN_APK_DB.encode()),
            Member("bin/busybox", b"\x7fELF"),
            Member("bin/sh", b"\x7fELF"),
            Member("usr/bin/python3.11", b"\x7fELF"),
        ]
    )
    layout = workdir / "lean"
    make_layout(layout, LEAN_TAG, [layer])
    policy = workdir / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    subprocess.run(
        ["skopeo", "--policy", str(policy), "copy", "--quiet", "--dest-tls-verify=false",
         f"oci:{layout}:{LEAN_TAG}", f"docker://{registry.host}/library/python:{LEAN_TAG}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def lean_hub(
    hub: RunningRegistry,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> RunningRegistry:
    """This module's hub with the lean base pushed beside the corpus tags."""
    push_lean(hub, tmp_path_factory.mktemp("lean"))
    return hub


def mirrors(hub_host: str) -> list[str]:
    return [
        "--registry-mirror", f"docker.io={hub_host}",
        "--registry-mirror", f"cgr.dev={hub_host}/cgr",
        "--registry-mirror", f"gcr.io={hub_host}/gcr",
    ]  # fmt: skip


def hub_options(registry: RunningRegistry) -> RecommendOptions:
    host = registry.host
    mirrors = (("docker.io", host), ("cgr.dev", f"{host}/cgr"), ("gcr.io", f"{host}/gcr"))
    return RecommendOptions(pull=PullOptions(mirrors=mirrors), check_index=False)


@pytest.fixture
def fleet_store(tmp_path: Path, scan_db: Path, capsys: pytest.CaptureFixture[str]) -> str:  # noqa: F811
    listing = tmp_path / "images.txt"
    # python-app:debian twice, under two spellings of one layout: one group, one recommendation
    twin = f"oci:{Path(oci_ref('python-app:debian').split(':', 2)[1])}/.:python-app:debian"
    listing.write_text("\n".join([*(oci_ref(t) for t in FLEET), twin]) + "\n")
    url = f"sqlite://{tmp_path / 'fleet.db'}"
    code, _, err = invoke(
        capsys, "fleet", "scan", "--images", str(listing), "--store", url, "--db", str(scan_db)
    )
    assert code == 0, err
    return url


def test_the_report_names_the_images_recommend_would_move(
    lean_hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    fleet_store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each image's advice is what ``recommend`` says of that image pulled (its base, the winner, the counts),
    given only where the winner is another base with fewer critical + high findings; the page shows it."""
    code, out, err = invoke(
        capsys, "fleet", "report", "--store", fleet_store, "--recommend", "--db", str(scan_db),
        "--max-db-age", "100000d", *mirrors(lean_hub.host), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    advice = {i["reference"]: i["base_advice"] for i in json.loads(out)["images"]}
    options = hub_options(lean_hub)
    with Store.open(scan_db) as store:
        expected = {oci_ref(t): advice_line(recommend_image(oci_ref(t), store, options)) for t in FLEET}
    for tag in FLEET:
        assert advice[oci_ref(tag)] == expected[oci_ref(tag)], tag
    assert any(expected.values()), "the corpus gives at least one move: the comparison is not of Nones"
    moved = next(ref for ref, line in expected.items() if line)
    code, page, err = invoke(
        capsys, "fleet", "report", "--store", fleet_store, "--recommend", "--db", str(scan_db),
        "--max-db-age", "100000d", *mirrors(lean_hub.host),
    )  # fmt: skip
    assert code == 0, err
    line = expected[moved]
    assert line is not None and line.split(" → ")[1].split(":")[0] in page


def test_alike_images_share_one_recommendation(
    lean_hub: RunningRegistry,
    scan_db: Path,  # noqa: F811
    fleet_store: str,
) -> None:
    """The two spellings of python-app:debian are one group: recommend runs once for them, and both get the
    same advice; three groups in all."""
    calls: list[str] = []

    def counting(reference: str, store: Store, options: RecommendOptions, **kw: Any) -> Recommendation:
        calls.append(reference)
        return recommend_image(reference, store, options, **kw)

    options = hub_options(lean_hub)
    with open_store(fleet_store) as fleet, Store.open(scan_db) as store:
        found = fleet_advice(fleet.latest(), fleet.sbom, store, options, recommend=counting)
    assert len(calls) == len(FLEET)
    debian = [ref for ref in found.advice if "python-app:debian" in ref]
    assert len({found.advice[ref] for ref in debian}) <= 1
