"""``--registry-mirror REGISTRY=LOCATION`` (and ``ALPINIST_REGISTRY_MIRROR``) as a user runs it: a
Docker Hub image read from the real loopback registry, the image still named as on Docker Hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_run import run_cli as run
from tests.registry_server import RunningRegistry, registry_fixture  # noqa: F401 - registers the fixture
from tests.scan_fixtures import scan_db  # noqa: F401  (fixture)

HUB_ALPINE = "docker.io/library/alpine:3.20.3"
VERBS = ("sbom", "scan", "compare", "baseline", "gate")


def sbom_image(out: str) -> tuple[str, str]:
    """(reference as written, normalized name) of the image of an sbom's JSON."""
    image = json.loads(out)["image"]
    return str(image["reference"]), str(image["name"])


@pytest.mark.registry
def test_sbom_through_a_mirror(registry: RunningRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "sbom", HUB_ALPINE, "--registry-mirror", f"docker.io={registry.host}", "-f", "json"
    )
    assert code == 0, err
    assert sbom_image(out) == (HUB_ALPINE, HUB_ALPINE)
    assert {p["name"] for p in json.loads(out)["packages"]} >= {"musl", "busybox"}


@pytest.mark.registry
def test_sbom_through_a_mirror_from_the_environment(
    registry: RunningRegistry, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPINIST_REGISTRY_MIRROR", f"gcr.io=127.0.0.1:1/gcr, index.docker.io={registry.host}")
    code, out, err = run(capsys, "sbom", "alpine:3.20.3", "-f", "json", "--no-cache")
    assert code == 0, err
    assert sbom_image(out) == ("alpine:3.20.3", HUB_ALPINE)


@pytest.mark.registry
def test_scan_through_a_mirror(
    registry: RunningRegistry,
    scan_db: Path,  # noqa: F811  (the fixture)
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror = f"docker.io={registry.host}"
    code, out, err = run(
        capsys, "scan", HUB_ALPINE, "--registry-mirror", mirror, "--db", str(scan_db), "-f", "json"
    )
    assert code == 0, err
    assert HUB_ALPINE in out


@pytest.mark.registry
def test_the_mirror_is_the_only_place_asked(
    registry: RunningRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sbom", "alpine:9.9.9", "--registry-mirror", f"docker.io={registry.host}")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"{registry.host} (mirror of docker.io)" in err


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [("docker.io", "is not REGISTRY=LOCATION"), ("docker.io=https://m.example", "without a scheme")],
)
def test_a_bad_mirror_is_a_usage_error(
    verb: str, value: str, reason: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = [verb, "oci:x:y", *(["oci:x:z"] if verb == "compare" else [])]
    args += ["--baseline", str(tmp_path / "b.json")] if verb == "gate" else []
    code, out, err = run(capsys, *args, "--registry-mirror", value)
    assert code == 64 and out == ""
    assert "--registry-mirror" in err and reason in err


def test_a_bad_mirror_in_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPINIST_REGISTRY_MIRROR", "docker.io=127.0.0.1:5000,hub=127.0.0.1:5001")
    code, _, err = run(capsys, "sbom", "oci:x:y")
    assert code == 64 and "--registry-mirror" in err and "'hub' is not a registry host" in err
