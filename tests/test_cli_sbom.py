"""The `sbom` verb as a user runs it: formats, exit codes, one-line errors for hostile images."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from alpinist.cli.app import main

from .conftest import oci_ref
from .imagebuild import Member, make_layout, tar_bytes

OS_RELEASE = b'ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_json_output_of_a_corpus_image(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sbom", oci_ref("python-app:alpine"), "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["os"]["id"] == "alpine"
    names = {(p["type"], p["name"]) for p in doc["packages"]}
    assert ("binary", "python") in names and ("apk", "musl") in names and ("python", "requests") in names


@pytest.mark.parametrize("fmt", ["table", "cyclonedx", "spdx"])
def test_other_formats_render(fmt: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "out"
    code, _, _ = run(["sbom", oci_ref("alpine:3.20.3"), "--format", fmt, "-o", str(target)], capsys)
    assert code == 0
    text = target.read_text()
    assert "musl" in text
    if fmt != "table":
        json.loads(text)


def test_usage_error_is_64(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["sbom", "--format", "xml", "x"], capsys)
    assert code == 64 and "xml" in err


def test_missing_image_is_1_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(["sbom", f"oci:{tmp_path}/nowhere:x"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("alpinist: error: ")


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([Member("../../etc/evil", b"x")], "escape"),
        ([Member("etc/link", kind=tarfile.LNKTYPE, linkname="../../../etc/shadow")], "escape"),
    ],
)
def test_hostile_layer_is_refused_naming_the_blob(
    members: list[Member], reason: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    layout = tmp_path / "oci"
    digests = make_layout(layout, "bad:1", [tar_bytes([Member("etc/os-release", OS_RELEASE), *members])])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = run(["sbom", f"oci:{layout}:bad:1", "--no-cache"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert digests["layers"] in err and reason in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_layer_digest_mismatch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    digests = make_layout(layout, "bad:1", [tar_bytes([Member("etc/os-release", OS_RELEASE)])])
    blob = layout / "blobs" / "sha256" / digests["layers"][7:]
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0xFF  # inside the gzip trailer: still the same size
    blob.write_bytes(bytes(data))
    code, _, err = run(["sbom", f"oci:{layout}:bad:1", "--no-cache"], capsys)
    assert code == 1 and digests["layers"] in err


def test_sbom_of_a_local_image_imports_no_other_verb(tmp_path: Path) -> None:
    """Verbs are loaded lazily: an `sbom` of an OCI layout never imports httpx, the advisory store or
    the Dockerfile tools (start-up is most of a warm run)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from alpinist.cli.app import main\n"
        "try:\n"
        f"    main(['sbom', {oci_ref('alpine:3.20.3')!r}, '--format', 'json', '-o', {str(tmp_path / 'o.json')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('alpinist', 'httpx', 'sqlite3')))))\n"
    )
    import alpinist

    # the alpinist under test (a checkout's src/ need not be the installed one)
    src = str(Path(alpinist.__file__).parents[1])
    env = {"ALPINIST_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "PYTHONPATH": src}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    loaded = set(proc.stdout.split())
    assert {"alpinist.inventory.build", "alpinist.cli.sbom"} <= loaded  # the sbom ran in this process
    assert not loaded & {
        "httpx",
        "sqlite3",
        "alpinist.advisories.store",
        "alpinist.dockerfile.wheels",
        "alpinist.cli.scan",
        "alpinist.cli.db",
        "alpinist.scan.scanning",  # the shared options defer it (--max-db-age's default)
        "alpinist.reports.sbom.table",  # formats are imported only when written
    }
