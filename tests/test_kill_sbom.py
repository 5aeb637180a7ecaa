"""Issue 12: ``alpinist sbom`` of a registry image killed or interrupted while a layer downloads.

The real ``docker-registry`` sits behind ``tests/fault_proxy.py``, which slows (or stalls) the layer so
that the signal lands during the download. ``alpinist`` runs as a real process:

* SIGINT (Ctrl-C) while the layer's connection is stalled: the process ends within 2 s, exit 130, one
  line ``alpinist: interrupted``, no ``.part`` left (the blocked read is woken, not waited out);
* SIGTERM during a slow download: exit 143, ``alpinist: terminated``, no ``.part`` left;
* SIGKILL at 20 random points (seeded) of runs over one cache: whatever each kill leaves, a later run
  removes (a run that got as far as downloading has swept every earlier ``.part``), and the last run
  gives exactly the SBOM of an uninterrupted run in a fresh cache.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault_proxy import Fault, FaultProxy, wait_until
from tests.registry_server import RunningRegistry, registry_fixture  # noqa: F401 - registers the fixture

REPO = Path(__file__).resolve().parents[1]
ALPINE = "library/alpine:3.20.3"
KILLS = 20
SEED = 12


@pytest.fixture
def proxy(registry: RunningRegistry) -> Iterator[FaultProxy]:
    with FaultProxy(int(registry.host.rsplit(":", 1)[1])) as fault_proxy:
        yield fault_proxy


def start(image: str, cache: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["ALPINIST_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("ALPINIST_TIMEOUT", None)
    cmd = [sys.executable, "-m", "alpinist.cli", "sbom", image, "-f", "json", "--no-cache", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def run(image: str, cache: Path) -> str:
    proc = start(image, cache)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def parts(cache: Path) -> set[Path]:
    return set(cache.rglob("*.part")) if cache.exists() else set()


def layer_blobs(cache: Path) -> list[Path]:
    """The cached blobs that are not small JSON documents (the layer)."""
    shard = cache / "blobs" / "sha256"
    if not shard.is_dir():
        return []
    return [p for p in shard.iterdir() if not p.name.startswith(".") and p.stat().st_size > 100_000]


def interrupt_during_download(
    proxy: FaultProxy, tmp_path: Path, signum: int, fault: Fault
) -> tuple[int, str, float, set[Path]]:
    """Start sbom, wait for its layer's ``.part`` to grow, send ``signum``: (exit code, stderr, seconds
    from the signal to the exit, .part files left)."""
    proxy.faults = [fault]
    cache = tmp_path / "cache"
    proc = start(f"{proxy.host}/{ALPINE}", cache)
    try:
        assert wait_until(lambda: any(p.stat().st_size > 0 for p in parts(cache) if p.exists()), 30), (
            "the download never started"
        )
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode, err.decode(), elapsed, parts(cache)


@pytest.mark.registry
def test_sigint_while_the_layer_connection_is_stalled(proxy: FaultProxy, tmp_path: Path) -> None:
    # the read blocks with nothing arriving: without the socket being woken it would wait out the
    # 30 s stall timeout
    code, err, elapsed, left = interrupt_during_download(
        proxy, tmp_path, signal.SIGINT, Fault("stall", "/blobs/sha256", after=300_000)
    )
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "alpinist: interrupted"
    assert "Traceback" not in err
    assert elapsed < 2.0
    assert left == set()


@pytest.mark.registry
def test_sigterm_during_a_slow_download(proxy: FaultProxy, tmp_path: Path) -> None:
    code, err, elapsed, left = interrupt_during_download(
        proxy, tmp_path, signal.SIGTERM, Fault("trickle", "/blobs/sha256", rate=200_000)
    )
    assert code == 143, err
    assert err.strip().splitlines()[-1] == "alpinist: terminated"
    assert elapsed < 2.0
    assert left == set()


@pytest.mark.registry
def test_sigkill_at_random_points_then_a_clean_identical_run(
    registry: RunningRegistry, proxy: FaultProxy, tmp_path: Path
) -> None:
    expected = json.loads(run(f"{registry.host}/{ALPINE}", tmp_path / "reference-cache"))
    proxy.faults = [Fault("trickle", "/blobs/sha256", rate=3_000_000)]  # the 3.6 MB layer: about 1.2 s
    cache = tmp_path / "cache"
    rng = random.Random(SEED)
    left_total = swept_checks = 0
    for kill_number in range(KILLS):
        for blob in layer_blobs(cache):
            blob.unlink()  # so that every run downloads the layer again
        before = parts(cache)
        proc = start(f"{proxy.host}/{ALPINE}", cache)
        if kill_number % 2 == 0:
            time.sleep(rng.uniform(0.0, 0.6))  # anywhere: start-up, resolving, or already downloading
        else:
            # during the download, whatever the machine's load: once its .part exists, a random moment
            # within the throttled transfer (about 1.2 s)
            deadline = time.monotonic() + 60
            while not (parts(cache) - before) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5))
        proc.kill()
        proc.communicate(timeout=30)
        after = parts(cache)
        left_total += len(after - before)
        if after - before:  # this run reached its download, so it swept what earlier kills left
            swept_checks += 1
            assert before & after == set()
    print(f"{KILLS} kills: {left_total} .part files left by them, {swept_checks} runs checked to sweep")
    assert left_total > 0  # some kills did land during a download
    assert swept_checks > 0
    proxy.faults = []
    got = json.loads(run(f"{proxy.host}/{ALPINE}", cache))
    assert parts(cache) == set()
    for doc in (got, expected):  # the image is named by where it was read from
        doc["image"].pop("reference", None)
        doc["image"].pop("name", None)
    assert got == expected
