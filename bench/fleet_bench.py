"""Fleet benchmark: images per minute against workers, the engines' task overhead, and ``fleet rescan`` of
10,000 stored SBOMs, each against a reference measured in the same run.

One command: ``PYTHONPATH=src .venv/bin/python bench/fleet_bench.py [--images 20] [--sboms 10000] [--json]``.

1. **Images per minute.** ``--images`` distinct images are made from the five corpus images: each is a corpus
   image with its config given a label ``org.alpinist.bench=K`` (a new config digest, so a new manifest
   digest and no inventory-cache hit; the layers are the corpus's own, hard-linked into an OCI layout under
   ``bench/.images/fleet``). ``fleet scan`` (``fleet.run.fleet_scan``, SQLite store, inventory cache off)
   runs over them on the local engine with 1 and 2 processes and on a Dask ``LocalCluster`` with 1 and 2
   workers. Reference: the same images scanned one after the other in this process by ``scan_image`` (what a
   shell loop over ``alpinist scan`` does, without the start-up of each process).
2. **Task overhead.** 1,000 no-op tasks through each engine with 2 workers: wall time per task.
3. **fleet rescan of N stored SBOMs.** N varied SBOMs (``bench/rescan_bench.py``'s generator: the five corpus
   images' packages, padded to ~150 packages, a third of the versions moved) recorded in a SQLite store as
   scanned images, then ``fleet_rescan`` on the local engine with 1 and 2 processes and on Dask with 2
   workers: seconds and milliseconds per SBOM. Reference: ``rescan_directory`` (the single-machine
   ``alpinist rescan DIR``) over the same SBOMs as files, 2 processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from rescan_bench import build_db, generate  # noqa: E402

from alpinist.advisories.store import Store  # noqa: E402
from alpinist.fleet.engine import open_engine  # noqa: E402
from alpinist.fleet.model import ImageOutcome  # noqa: E402
from alpinist.fleet.run import fleet_rescan, fleet_scan  # noqa: E402
from alpinist.fleet.store import open_store  # noqa: E402
from alpinist.fleet.tasks import Settings, database_version  # noqa: E402
from alpinist.images.open import PullOptions  # noqa: E402
from alpinist.scan.rescan import rescan_directory  # noqa: E402
from alpinist.scan.scanning import scan_image  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/corpus")
LAYOUT = CORPUS / "images" / "oci"
TAGS = ("alpine:3.20.3", "alpine:3.18.9", "debian:12-slim", "python-app:debian", "python-app:alpine")
IMAGES_DIR = ROOT / "bench" / ".images" / "fleet"


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _put(layout: Path, body: bytes) -> str:
    import hashlib

    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    path = _blob(layout, digest)
    if not path.exists():
        path.write_bytes(body)
    return digest


def make_images(count: int) -> list[str]:
    """``count`` distinct images (see the module docstring) in ``bench/.images/fleet``; their references."""
    layout = IMAGES_DIR
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = json.loads((LAYOUT / "index.json").read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    entries = []
    refs = []
    for k in range(count):
        tag = TAGS[k % len(TAGS)]
        manifest = json.loads(_blob(LAYOUT, by_tag[tag]["digest"]).read_bytes())
        for layer in manifest["layers"]:
            target = _blob(layout, layer["digest"])
            if not target.exists():
                try:
                    os.link(_blob(LAYOUT, layer["digest"]), target)
                except OSError:
                    shutil.copyfile(_blob(LAYOUT, layer["digest"]), target)
        config = json.loads(_blob(LAYOUT, manifest["config"]["digest"]).read_bytes())
        config.setdefault("config", {}).setdefault("Labels", {})
        config["config"]["Labels"] = {**(config["config"]["Labels"] or {}), "org.alpinist.bench": str(k)}
        body = json.dumps(config).encode()
        manifest["config"] = {**manifest["config"], "digest": _put(layout, body), "size": len(body)}
        mbody = json.dumps(manifest).encode()
        name = f"{tag.replace(':', '-')}-{k}"
        entries.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _put(layout, mbody),
                "size": len(mbody),
                "annotations": {"org.opencontainers.image.ref.name": name},
            }
        )
        refs.append(f"oci:{layout}:{name}")
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    return refs


def settings_for(db: Path) -> Settings:
    with Store.open(db) as store:
        version = database_version(store)
    return Settings(str(db), version, PullOptions(), use_cache=False)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def images_per_minute(refs: list[str], db: Path, work: Path, repeat: int) -> list[dict[str, Any]]:
    settings = settings_for(db)
    rows = []

    def serial() -> None:
        with Store.open(db) as store:
            for ref in refs:
                scan_image(ref, None, store, use_cache=False, max_db_age=None)

    times = [timed(serial)[0] for _ in range(repeat)]
    reference = statistics.median(times)
    rows.append({"engine": "serial scan_image (reference)", "workers": 1, "seconds": reference})
    for kind, workers in (("local", 1), ("local", 2), ("dask", 1), ("dask", 2)):
        with open_engine(kind, workers=workers) as engine:  # type: ignore[arg-type]
            started = warm(engine)
            engine_times = []
            for r in range(repeat):
                url = f"sqlite://{work / f'fleet-{kind}-{workers}-{r}.db'}"
                with open_store(url) as store:
                    seconds, run = timed(lambda: fleet_scan(refs, store, engine, settings))
                assert run.count("scanned") == len(refs), run
                engine_times.append(seconds)
        rows.append(
            {
                "engine": kind,
                "workers": workers,
                "seconds": statistics.median(engine_times),
                "start_s": started,
            }
        )
    for row in rows:
        row["images_per_minute"] = round(len(refs) * 60 / row["seconds"], 1)
        row["vs_reference"] = round(reference / row["seconds"], 2)
    return rows


def _noop(item: int) -> int:
    return item


def _imports(item: int) -> int:
    import alpinist.fleet.tasks
    import alpinist.inventory.build
    import alpinist.scan.scanning  # noqa: F401

    return item


def warm(engine: Any) -> float:
    """Start every worker and import the scan stack there (not counted in the runs); its seconds."""
    seconds, _ = timed(lambda: list(engine.run(_imports, list(range(engine.workers * 4)))))
    return round(seconds, 2)


def task_overhead(count: int) -> list[dict[str, Any]]:
    rows = []
    for kind in ("local", "dask"):
        with open_engine(kind, workers=2) as engine:  # type: ignore[arg-type]
            list(engine.run(_noop, list(range(50))))  # workers up and warm
            seconds, done = timed(lambda: list(engine.run(_noop, list(range(count)))))
        assert len(done) == count
        rows.append({"engine": kind, "tasks": count, "ms_per_task": round(seconds * 1000 / count, 3)})
    return rows


def stored_rescan(count: int, db: Path, work: Path) -> list[dict[str, Any]]:
    sbom_dir = work / "sboms"
    sbom_dir.mkdir()
    generate(sbom_dir, count)
    settings = settings_for(db)
    url = f"sqlite://{work / 'rescan-fleet.db'}"
    now = datetime.now(UTC)
    with open_store(url) as store:
        run = store.start_run("scan", "bench-older-db", "bench", count, now)
        for n, path in enumerate(sorted(sbom_dir.glob("*.json"))):
            text = path.read_text(encoding="utf-8")
            store.record(
                run.id,
                ImageOutcome(
                    f"bench/image-{n:05d}", "scanned", "bench-older-db", digest=f"sha256:{n:064x}", sbom=text
                ),
                now,
            )
        store.finish_run(run.id, now)
    rows = []
    with Store.open(db) as advisories:
        seconds, _ = timed(lambda: rescan_directory(sbom_dir, advisories, save=False, workers=2))
    rows.append({"engine": "rescan_directory (reference)", "workers": 2, "seconds": seconds})
    for kind, workers in (("local", 1), ("local", 2), ("dask", 2)):
        copy = work / f"rescan-{kind}-{workers}.db"
        shutil.copyfile(work / "rescan-fleet.db", copy)
        with open_store(f"sqlite://{copy}") as store, open_engine(kind, workers=workers) as engine:  # type: ignore[arg-type]
            warm(engine)
            seconds, result = timed(lambda: fleet_rescan(store, engine, settings))
        assert result.count("matched") == count, result.counts
        rows.append({"engine": kind, "workers": workers, "seconds": seconds})
    for row in rows:
        row["ms_per_sbom"] = round(row["seconds"] * 1000 / count, 3)
        row["seconds"] = round(row["seconds"], 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--sboms", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", choices=("images", "overhead", "rescan"), action="append", default=[])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="alpinist-fleet-bench-") as tmp:
        work = Path(tmp)
        db = build_db(work)
        if "images" not in args.skip:
            refs = make_images(args.images)
            out["images_per_minute"] = images_per_minute(refs, db, work, args.repeat)
        if "overhead" not in args.skip:
            out["task_overhead"] = task_overhead(args.tasks)
        if "rescan" not in args.skip:
            out["fleet_rescan"] = stored_rescan(args.sboms, db, work)
    out["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            if isinstance(value, list):
                print(f"\n## {key}")
                for row in value:
                    print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
            else:
                print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
