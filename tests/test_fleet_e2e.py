"""``alpinist fleet`` end to end, with real parts only: the corpus images pushed to a real ``docker-registry``
on 127.0.0.1 and listed through its ``/v2/_catalog``, the advisory database built from the corpus feeds, the
store on SQLite and on a throw-away PostgreSQL server, the local process pool and a real Dask scheduler with
two workers. What a run stores is checked against ``scan`` of each image (the OCI layout copy of it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alpinist.advisories.store import Store
from alpinist.fleet.store import open_store
from alpinist.scan.rescan import finding_ref
from alpinist.scan.scanning import scan_image
from tests.cli_run import run_cli as invoke
from tests.conftest import oci_ref
from tests.registry_server import RunningRegistry, start_registry, tools_missing
from tests.scan_fixtures import copy_db, scan_db, set_updated_at  # noqa: F401  (fixture)

# repository:tag on the registry -> the corpus image pushed there (push keeps the corpus tag)
TEAM = {
    "team/alpine:3.20.3": "alpine:3.20.3",
    "team/alpine:3.18.9": "alpine:3.18.9",
    "team/debian:12-slim": "debian:12-slim",
    "team/python-app:debian": "python-app:debian",
    "team/python-app:alpine": "python-app:alpine",
    "team/twin:3.20.3": "alpine:3.20.3",  # the digest of team/alpine:3.20.3 under another name: one task
}
OUTSIDE = {"other/alpine:3.20.3": "alpine:3.20.3"}  # not under the prefix


@pytest.fixture(scope="module")
def fleet_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    missing = tools_missing()
    if missing:
        pytest.fail(f"needs {', '.join(missing)} (the test command installs them)")
    reg = start_registry(tmp_path_factory.mktemp("fleet-registry"))
    try:
        for target, tag in {**TEAM, **OUTSIDE}.items():
            reg.push(tag, target.partition(":")[0])
        yield reg
    finally:
        reg.stop()


def refs(reg: RunningRegistry, images: dict[str, str]) -> dict[str, str]:
    """reference as the catalog lists it -> corpus tag."""
    return {f"{reg.host}/{target}": tag for target, tag in images.items()}


def by_status(run: dict[str, Any]) -> dict[str, int]:
    """This invocation's outcomes by status, the statuses that occurred."""
    return {status: n for status, n in run["by_status"].items() if n}


def scan_keys(db: Path, tag: str) -> list[tuple[str, str, str, str, str, str | None]]:
    """What ``scan`` finds in the corpus image ``tag``, as the fleet store keeps it."""
    with Store.open(db) as store:
        result = scan_image(oci_ref(tag), None, store, max_db_age=None)
    return sorted(_key(finding_ref(f)) for f in result.findings)


def _key(f: Any) -> tuple[str, str, str, str, str, str | None]:
    return (f.id, f.type, f.package, f.version, f.severity, f.fixed_version)


def stored_keys(url: str) -> dict[str, list[tuple[str, str, str, str, str, str | None]]]:
    with open_store(url) as store:
        return {s.reference: sorted(_key(f) for f in s.findings) for s in store.latest()}


def assert_stored_as_scanned(url: str, reg: RunningRegistry, db: Path) -> None:
    """Every image of TEAM has in the store exactly what ``scan`` finds in its corpus image."""
    stored = stored_keys(url)
    for reference, tag in refs(reg, TEAM).items():
        assert stored[reference] == scan_keys(db, tag), reference


def layer_digests(reg: RunningRegistry) -> set[str]:
    import httpx

    out: set[str] = set()
    for target in TEAM:
        repository, _, tag = target.partition(":")
        m = httpx.get(
            f"{reg.url}/v2/{repository}/manifests/{tag}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=30,
        ).json()
        out |= {layer["digest"] for layer in m["layers"]}
    return out


def cached_blobs() -> set[str]:
    root = Path(os.environ["ALPINIST_CACHE_DIR"]) / "blobs" / "sha256"
    return (
        {f"sha256:{p.name}" for p in root.iterdir() if not p.name.startswith(".")} if root.is_dir() else set()
    )


# ------------------------------------------------------------------------------------------- the tests


def test_catalog_scan_stores_what_scan_finds(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    fleet_store_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every image under the prefix is scanned once per digest and stored with exactly scan's findings;
    an image outside the prefix is not listed; a second run pulls nothing and records them unchanged."""
    team = refs(fleet_registry, TEAM)
    code, out, err = invoke(
        capsys,
        "fleet",
        "scan",
        "--catalog",
        f"{fleet_registry.host}/team",
        "--store",
        fleet_store_url,
        "--db",
        str(scan_db),
        "--workers",
        "2",
        "--format",
        "json",
    )
    assert code == 0, err
    run = json.loads(out)
    assert by_status(run) == {"scanned": 6}
    stored = stored_keys(fleet_store_url)
    assert set(stored) == set(team)  # other/alpine is outside the prefix
    assert_stored_as_scanned(fleet_store_url, fleet_registry, scan_db)
    assert any(stored.values())  # the corpus images do have findings: the comparison is not of empties

    layers = layer_digests(fleet_registry)
    assert layers <= cached_blobs()  # the first run pulled every layer
    for blob in layers:
        (Path(os.environ["ALPINIST_CACHE_DIR"]) / "blobs" / "sha256" / blob.removeprefix("sha256:")).unlink()
    code, out, err = invoke(
        capsys,
        "fleet",
        "scan",
        "--catalog",
        f"{fleet_registry.host}/team",
        "--store",
        fleet_store_url,
        "--db",
        str(scan_db),
        "--format",
        "json",
    )
    assert code == 0, err
    assert by_status(json.loads(out)) == {"unchanged": 6}
    assert not layers & cached_blobs()  # nothing pulled again
    assert stored_keys(fleet_store_url) == stored  # unchanged results keep their findings


def catalog_args(reg: RunningRegistry, url: str, db: Path, *extra: str) -> list[str]:
    return ["fleet", "scan", "--catalog", f"{reg.host}/team", "--store", url, "--db", str(db), *extra]


def drop_layers(reg: RunningRegistry) -> set[str]:
    """Remove the images' layers from the blob cache; return their digests."""
    layers = layer_digests(reg)
    for blob in layers & cached_blobs():
        (Path(os.environ["ALPINIST_CACHE_DIR"]) / "blobs" / "sha256" / blob.removeprefix("sha256:")).unlink()
    return layers


def test_a_newer_database_rematches_stored_sboms_without_pulling(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With another database version, an image whose digest is known is matched again from its stored SBOM:
    status matched, no layer pulled, and the findings are what scan finds."""
    url = f"sqlite://{tmp_path / 'fleet.db'}"
    code, _, err = invoke(capsys, *catalog_args(fleet_registry, url, scan_db, "--workers", "2"))
    assert code == 0, err
    first = stored_keys(url)
    newer = copy_db(scan_db, tmp_path)
    set_updated_at(newer, "2031-01-01T00:00:00+00:00")  # same records, another version
    layers = drop_layers(fleet_registry)
    code, out, err = invoke(
        capsys, *catalog_args(fleet_registry, url, newer, "--max-db-age", "100000d", "--format", "json")
    )
    assert code == 0, err
    assert by_status(json.loads(out)) == {"matched": 6}
    assert not layers & cached_blobs()
    assert stored_keys(url) == first
    with open_store(url) as store:
        runs = store.runs()
    assert runs[0].db_version != runs[1].db_version


def _recorded_rows(url: str) -> int:
    with open_store(url) as store:
        runs = store.runs()
        return sum(len(store.recorded(r.id)) for r in runs)


def started_until_recorded(args: list[str], url: str) -> subprocess.Popen[bytes]:
    """``alpinist ARGS`` in a session (a process group) of its own, returned once it has recorded an image in
    the store at ``url``; killed with its group if it ends or records nothing in 240 s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "alpinist", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while _recorded_rows(url) == 0:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run recorded nothing in 240 s"
            time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
        raise
    return proc


def test_a_killed_run_resumes_without_scanning_finished_images(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    fleet_store_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGKILL the run (its whole process group) once it has recorded an image; the next run resumes the
    same run: the images already recorded are not done again, the others are, and the stored findings are
    scan's."""
    args = [*catalog_args(fleet_registry, fleet_store_url, scan_db, "--workers", "1")]
    proc = started_until_recorded(args, fleet_store_url)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()
    done_before = _recorded_rows(fleet_store_url)
    assert 1 <= done_before < len(TEAM), "killed too late to show a resume"

    code, out, err = invoke(capsys, *args, "--format", "json")
    assert code == 0, err
    run = json.loads(out)
    assert run["resumed"] is True
    assert run["already"] == done_before
    assert sum(by_status(run).values()) == len(TEAM) - done_before
    with open_store(fleet_store_url) as store:
        runs = store.runs()
        assert len(runs) == 1  # one run, finished by the second invocation
        assert runs[0].finished_at is not None
        assert sorted(store.recorded(runs[0].id)) == sorted(refs(fleet_registry, TEAM))
    assert_stored_as_scanned(fleet_store_url, fleet_registry, scan_db)


def test_a_stopped_run_stops_its_workers_and_resumes(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run can be stopped (Harbor's "Scan All" cannot): SIGTERM to the alpinist process alone once it has
    recorded an image ends it with 143 and one line, its worker processes gone with it (nothing left in its
    process group), the run unfinished in the store; the next invocation resumes it."""
    url = f"sqlite://{tmp_path / 'fleet.db'}"
    args = catalog_args(fleet_registry, url, scan_db, "--workers", "1")
    proc = started_until_recorded(args, url)
    try:
        proc.send_signal(signal.SIGTERM)  # the driver only, as a terminal's kill or a CronJob's end does
        code = proc.wait(timeout=60)
        err = proc.stderr.read().decode() if proc.stderr else ""
        gone = time.monotonic() + 30
        while True:  # the workers (and the forkserver) follow their parent out
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < gone, "worker processes outlived the stopped run"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()
    assert code == 143, err
    assert err.strip().splitlines()[-1] == "alpinist: terminated"
    with open_store(url) as store:
        [run] = store.runs()
        assert run.finished_at is None  # stopped, not finished: resumable
    done_before = _recorded_rows(url)
    code, out, err = invoke(capsys, *args, "--format", "json")
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["resumed"] is True and resumed["already"] == done_before
    assert_stored_as_scanned(url, fleet_registry, scan_db)


def test_dask_engine_stores_what_scan_finds(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    dask_cluster: Any,
    pg_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same catalog on a real Dask scheduler with two workers, results in PostgreSQL."""
    name = pg_server.create_database()
    url = pg_server.url(name)
    try:
        code, out, err = invoke(
            capsys,
            *catalog_args(
                fleet_registry, url, scan_db, "--engine", "dask", "--scheduler", dask_cluster.address
            ),
            "--format",
            "json",
        )
        assert code == 0, err
        run = json.loads(out)
        assert by_status(run) == {"scanned": 6}
        assert run["run"]["engine"].startswith(f"dask {dask_cluster.address}")
        assert_stored_as_scanned(url, fleet_registry, scan_db)
    finally:
        pg_server.drop_database(name)


def test_a_failing_image_is_recorded_and_the_run_goes_on(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An image that does not exist and an archive that is not one are recorded with their errors; the good
    images are scanned; the exit code is 1 (the run did not see every image)."""
    bad_archive = tmp_path / "not-an-image.tar"
    bad_archive.write_bytes(b"this is no tar")
    good = f"{fleet_registry.host}/team/alpine:3.20.3"
    missing = f"{fleet_registry.host}/team/nothing:here"
    listing = tmp_path / "images.txt"
    listing.write_text(
        f"# the fleet\n{good}\n{missing}\ndocker-archive:{bad_archive}\n{oci_ref('debian:12-slim')}\n"
    )
    url = f"sqlite://{tmp_path / 'fleet.db'}"
    code, out, err = invoke(
        capsys,
        "fleet",
        "scan",
        "--images",
        str(listing),
        "--store",
        url,
        "--db",
        str(scan_db),
        "--format",
        "json",
    )
    assert code == 1, err
    run = json.loads(out)
    assert by_status(run) == {"scanned": 2, "error": 2}
    errors = {e["reference"]: e["error"] for e in run["errors"]}
    assert set(errors) == {missing, f"docker-archive:{bad_archive}"}
    assert "team/nothing" in errors[missing]
    with open_store(url) as store:
        latest = {s.reference: s for s in store.latest()}
    assert latest[missing].status == "error" and latest[missing].error == errors[missing]
    assert stored_keys(url)[oci_ref("debian:12-slim")] == scan_keys(scan_db, "debian:12-slim")


def _without(db: Path, vuln_id: str, dest: Path) -> Path:
    """A copy of the database without the advisory ``vuln_id`` and with an older update time."""
    copy = copy_db(db, dest)
    conn = sqlite3.connect(copy)
    try:
        removed = conn.execute("DELETE FROM affected WHERE vuln_id = ?", (vuln_id,)).rowcount
        conn.commit()
    finally:
        conn.close()
    assert removed > 0
    set_updated_at(copy, "2020-01-01T00:00:00+00:00")
    return copy


def test_rescan_reports_the_images_with_new_high_findings(
    fleet_registry: RunningRegistry,
    scan_db: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Scanned with a database that lacks one high advisory, then rescanned with the full one: the images
    with that advisory are reported as new high findings, nothing is pulled, --fail-on high exits 2; the
    report shows the new finding."""
    target = f"{fleet_registry.host}/team/python-app:debian"
    # a Debian package's advisory: the tracker's rows are keyed by the CVE id the finding carries
    high = next(
        k for k in scan_keys(scan_db, "python-app:debian") if k[4] in ("HIGH", "CRITICAL") and k[1] == "deb"
    )
    (tmp_path / "older").mkdir()
    older = _without(scan_db, high[0], tmp_path / "older")
    url = f"sqlite://{tmp_path / 'fleet.db'}"
    code, _, err = invoke(capsys, *catalog_args(fleet_registry, url, older, "--max-db-age", "100000d"))
    assert code == 0, err
    assert high not in stored_keys(url)[target]
    layers = drop_layers(fleet_registry)

    code, out, err = invoke(
        capsys,
        "fleet",
        "rescan",
        "--store",
        url,
        "--db",
        str(scan_db),
        "--fail-on",
        "high",
        "--format",
        "json",
    )
    assert code == 2, err
    run = json.loads(out)
    assert by_status(run) == {"matched": 6}
    new = {item["reference"]: {f["id"] for f in item["findings"]} for item in run["new_high_or_critical"]}
    assert high[0] in new[target]
    assert not layers & cached_blobs()
    assert_stored_as_scanned(url, fleet_registry, scan_db)

    code, out, err = invoke(capsys, "fleet", "report", "--store", url, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["schema"] == "alpinist-fleet/1"
    code, page, err = invoke(capsys, "fleet", "report", "--store", url)
    assert code == 0, err
    assert page.startswith("<!DOCTYPE html>") and high[0] in page and "<script" not in page
