"""Faults around the sbom stage (issue 12, items 6 and 8), each with real parts.

- Item 6: the inventory cache is an optimisation. A read-only cache directory (a real read-only tmpfs)
  or a disk that fills exactly when the inventory is written (a real 16 KiB tmpfs) gives one warning
  naming the cache directory, and the SBOM is still written, exit 0. A damaged cache entry is a miss.
- Item 8: a layer holding 300 MB of zeros in ``/var/log/lastlog`` (nobody reads it; gzip makes it a few
  hundred KB) is scanned; a true bomb (above the per-layer size bound) is still refused with one line.

The CLI runs in a subprocess, as a user runs it (its stderr is the user's). Mounting needs root; where
it cannot mount, the read-only case uses a directory without write permission (for a non-root user) and
the ENOSPC case injects that one failure (a mock, as the project's rules allow for a failure the machine
cannot produce).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from alpinist.errors import UnsafeLayer
from alpinist.images.layers import Limits
from alpinist.inventory import build
from alpinist.inventory.build import build_inventory

from .conftest import OCI_LAYOUT, oci_ref
from .imagebuild import corpus_image
from .registry_server import RunningRegistry
from .tmpfs import tmpfs

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def cli(args: list[str], cache: Path, *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["ALPINIST_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run(
        [sys.executable, "-m", "alpinist", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
    )


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------------
# item 6: the inventory cache


def test_read_only_cache_dir_warns_once_and_writes_the_sbom(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "sbom.json"
    with tmpfs(cache, size="1m", read_only=True) as mounted:
        if not mounted:
            if os.geteuid() == 0:
                pytest.skip("cannot mount a read-only tmpfs here, and root ignores permission bits")
            cache.chmod(0o555)
        proc = cli(["sbom", oci_ref("alpine:3.20.3"), "--format", "json", "-o", str(out)], cache)
        assert not any(cache.iterdir())
    assert proc.returncode == 0, proc.stderr
    lines = warnings_of(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("alpinist: WARNING: inventory cache ") and str(cache) in lines[0]
    assert "not written" in lines[0]
    doc = json.loads(out.read_text())
    assert any(p["name"] == "musl" for p in doc["packages"])


def test_read_only_cache_dir_still_pulls_from_a_registry(registry: RunningRegistry, tmp_path: Path) -> None:
    """Blobs must be stored somewhere while they are read: with the cache on a read-only disk they go to a
    temporary directory for the run (one warning naming the cache), removed at exit; the SBOM is complete."""
    cache = tmp_path / "cache"
    out = tmp_path / "sbom.json"
    reference = f"{registry.host}/library/alpine:3.20.3"
    with tmpfs(cache, size="1m", read_only=True) as mounted:
        if not mounted:
            pytest.skip("cannot mount a read-only tmpfs here")
        proc = cli(["sbom", reference, "--format", "json", "-o", str(out)], cache)
    assert proc.returncode == 0, proc.stderr
    lines = warnings_of(proc.stderr)
    assert any(line.startswith("alpinist: WARNING: blob cache ") and str(cache) in line for line in lines), (
        lines
    )
    temp = [w.split(" are kept in ", 1)[1].split(" and removed", 1)[0] for w in lines if " are kept in " in w]
    assert temp and not Path(temp[0]).exists()  # removed at exit
    doc = json.loads(out.read_text())
    assert any(p["name"] == "musl" for p in doc["packages"])


def test_disk_full_when_the_inventory_is_written(tmp_path: Path) -> None:
    """A 16 KiB tmpfs: the cache directory can be made, the inventory (about 100 KiB with its file
    lists) cannot be written. The SBOM goes to another disk and must be complete."""
    cache = tmp_path / "cache"
    out = tmp_path / "sbom.json"
    reference = oci_ref("python-app:alpine")
    with tmpfs(cache, size="16k") as mounted:
        if not mounted:
            pytest.skip("cannot mount a tmpfs here (see test_disk_full_injected for the same failure)")
        proc = cli(["sbom", reference, "--format", "json", "-o", str(out)], cache)
        left = [p.name for p in cache.rglob("*") if p.is_file()]
    assert proc.returncode == 0, proc.stderr
    lines = warnings_of(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert str(cache / "inventory") in lines[0] and "No space left on device" in lines[0]
    assert left == [], "a partial cache entry was left behind"
    reference_run = cli(["sbom", reference, "--format", "json"], tmp_path / "other-cache")
    assert reference_run.returncode == 0
    assert json.loads(out.read_text()) == json.loads(reference_run.stdout)


def test_disk_full_injected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The same failure in process (also where nothing can be mounted): ENOSPC and EACCES exactly when
    the entry is written are one warning naming the cache path; the inventory is returned."""
    for code in (errno.ENOSPC, errno.EACCES):
        cache = tmp_path / f"cache-{code}"
        monkeypatch.setenv("ALPINIST_CACHE_DIR", str(cache))

        def full(*args: object, _code: int = code, **kwargs: object) -> None:
            raise OSError(_code, os.strerror(_code))

        monkeypatch.setattr(build.json, "dump", full)
        caplog.clear()
        inv = build_inventory(oci_ref("alpine:3.20.3"))
        monkeypatch.undo()
        assert any(p.name == "musl" for p in inv.packages)
        records = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(records) == 1 and str(cache / "inventory") in records[0].getMessage()
        assert os.strerror(code) in records[0].getMessage()
        assert not any(p.is_file() for p in cache.rglob("*")), "a partial cache entry was left behind"


DAMAGES = (
    b"",
    b"{",
    b"[]",
    b"null",
    b'{"schema": "alpinist-sbom/1"}',
    b'{"packages": [1, 2, 3]}',
    b"\xff\xfe not json",
    b"[" * 100_000,
)


def test_damaged_cache_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each damaged entry is rebuilt (same inventory, no warning) and rewritten whole."""
    monkeypatch.setenv("ALPINIST_CACHE_DIR", str(tmp_path / "cache"))
    first = build_inventory(oci_ref("alpine:3.20.3"))
    (entry,) = (tmp_path / "cache" / "inventory").glob("*.json")
    good = entry.read_bytes()
    for damage in (*DAMAGES, good[: len(good) // 2], good.replace(b'"name"', b'"nome"', 1)):
        entry.write_bytes(damage)
        assert build_inventory(oci_ref("alpine:3.20.3")) == first, damage[:40]
        assert entry.read_bytes() == good


def test_unreadable_cache_entry_is_a_miss(tmp_path: Path) -> None:
    """An entry that is a directory (EISDIR on read; the rewrite then fails too): the SBOM is built."""
    cache = tmp_path / "cache"
    first = cli(["sbom", oci_ref("alpine:3.20.3"), "--format", "json"], cache)
    (entry,) = (cache / "inventory").glob("*.json")
    entry.unlink()
    entry.mkdir()
    (entry / "x").write_text("x")
    second = cli(["sbom", oci_ref("alpine:3.20.3"), "--format", "json"], cache)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert len(warnings_of(second.stderr)) == 1 and str(cache / "inventory") in second.stderr


# --------------------------------------------------------------------------------------------------
# item 8: content nobody reads


def _zeros_layer(path: str, size: int) -> tuple[bytes, str]:
    """A gzip layer holding one file of ``size`` zero bytes (a multiple of 16 MiB): (blob, diff_id).

    Made fast as a multi-member gzip (as pigz writes): 16 MiB of zeros are compressed once at level 9
    (a ratio of about 1030, what gzip reaches on zeros) and that member is repeated."""
    block = 16 * 1024 * 1024
    assert size % block == 0
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = 0o600
    header = info.tobuf(tarfile.PAX_FORMAT)
    zeros = bytes(block)
    zeros_member = gzip.compress(zeros, 9, mtime=0)
    tar_hash = hashlib.sha256(header)
    for _ in range(size // block):
        tar_hash.update(zeros)
    tail = b"\0" * 1024
    tar_hash.update(tail)
    blob = gzip.compress(header, mtime=0) + zeros_member * (size // block) + gzip.compress(tail, mtime=0)
    return blob, "sha256:" + tar_hash.hexdigest()


def _put(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def _blob(digest: str) -> bytes:
    return (OCI_LAYOUT / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def alpine_with_layer(layout: Path, blob: bytes, diff_id: str) -> str:
    """alpine:3.20.3 from the corpus plus one more layer: an OCI layout of the test's own."""
    desc, manifest, config = corpus_image(OCI_LAYOUT, "alpine:3.20.3")
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    for layer in manifest["layers"]:
        _put(layout, _blob(layer["digest"]))
    manifest["layers"].append({"mediaType": OCI_LAYER, "digest": _put(layout, blob), "size": len(blob)})
    config["rootfs"]["diff_ids"].append(diff_id)
    config.setdefault("history", []).append({"created_by": "RUN useradd -u 99999999 big"})
    cfg = json.dumps(config).encode()
    manifest["config"] = {**manifest["config"], "digest": _put(layout, cfg), "size": len(cfg)}
    man = json.dumps(manifest).encode()
    entry = {"mediaType": desc["mediaType"], "digest": _put(layout, man), "size": len(man)}
    entry["annotations"] = {"org.opencontainers.image.ref.name": "big:lastlog"}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return f"oci:{layout}:big:lastlog"


LASTLOG_BYTES = 19 * 16 * 1024 * 1024  # 319 MB


@pytest.fixture(scope="module")
def lastlog_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    blob, diff_id = _zeros_layer("var/log/lastlog", LASTLOG_BYTES)
    assert 1000 * len(blob) < LASTLOG_BYTES  # the ratio rule (1000 above 256 MiB) refused it
    return alpine_with_layer(tmp_path_factory.mktemp("lastlog") / "layout", blob, diff_id)


def test_large_file_nobody_reads_is_scanned(lastlog_image: str, tmp_path: Path) -> None:
    proc = cli(["sbom", lastlog_image, "--format", "json"], tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["os"]["id"] == "alpine"
    assert any(p["name"] == "musl" for p in doc["packages"])
    sizes = [layer.get("uncompressed_size", layer.get("size")) for layer in doc["image"]["layers"]]
    assert len(sizes) == 2


def test_true_bomb_is_still_refused_with_one_line(lastlog_image: str) -> None:
    limits = Limits(max_layer_bytes=256 * 1024 * 1024)  # the same layer against a lower size bound
    with pytest.raises(UnsafeLayer) as exc:
        build_inventory(lastlog_image, limits=limits, use_cache=False)
    message = str(exc.value)
    assert "\n" not in message
    assert "layer 1: decompression bomb: more than 268435456 uncompressed bytes" in message
    assert message.startswith("blob sha256:")


def test_slow_bomb_is_refused_by_the_time_bound(lastlog_image: str) -> None:
    with pytest.raises(UnsafeLayer) as exc:
        build_inventory(lastlog_image, limits=Limits(max_layer_seconds=0.01), use_cache=False)
    assert "decompression bomb" in str(exc.value) and "time bound" in str(exc.value)


def test_selected_file_size_cap_stays(tmp_path: Path) -> None:
    """A file a cataloger reads whole (the apk database) above the cap is still refused."""
    blob, diff_id = _zeros_layer("lib/apk/db/installed", 16 * 1024 * 1024)
    image = alpine_with_layer(tmp_path / "layout", blob, diff_id)
    with pytest.raises(UnsafeLayer) as exc:
        build_inventory(image, limits=Limits(max_file_bytes=8 * 1024 * 1024), use_cache=False)
    assert "selected file /lib/apk/db/installed" in str(exc.value)
