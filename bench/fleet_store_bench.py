"""Fleet store benchmark: ``record`` and the reads of ``fleet report`` / ``fleet rescan`` at fleet size, on SQLite
and on PostgreSQL (a throw-away server, ``tests/pg_server.py``).

One command: ``PYTHONPATH=src .venv/bin/python bench/fleet_store_bench.py [--record 1000] [--images 10000]
[--findings 100] [--sbom-kib 20] [--backend sqlite|postgresql|postgresql-fast|all]``.

Per backend, on an empty store:

1. ``record`` of ``--record`` scanned outcomes × ``--findings`` findings (each with an SBOM of ``--sbom-kib``
   KiB), timed; one transaction each, committed durably (SQLite ``synchronous=FULL``; PostgreSQL with the
   server's defaults, as a real one runs, and ``postgresql-fast``: ``fsync=off`` as the tests run it).
2. The run filled up to ``--images`` images; a rescan run against a newer database (every image matched,
   new findings); a scan run where every image is unchanged (an unchanged record copies no findings).
3. ``latest()`` over all images (after the last run: findings through the unchanged pointer; after the
   rescan: the matched rows' own), ``trend()``,
   ``current()`` of every digest, ``runs()``, and ``latest_sboms()`` read to the end: timed, with the growth
   of this process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from alpinist.advisories.model import SEVERITIES  # noqa: E402
from alpinist.fleet.model import ImageOutcome  # noqa: E402
from alpinist.fleet.store import FleetStore, open_store  # noqa: E402
from alpinist.scan.model import FindingRef  # noqa: E402
from tests.pg_server import start_postgres  # noqa: E402

PACKAGES = [f"lib{n:03d}" for n in range(300)]


def findings(image: int, count: int, salt: int = 0) -> tuple[FindingRef, ...]:
    return tuple(
        FindingRef(
            id=f"CVE-2025-{(image * 37 + j * 11 + salt) % 30000:05d}",
            type="deb" if image % 2 else "apk",
            package=PACKAGES[(image + j) % len(PACKAGES)],
            version=f"1.{j % 17}.{image % 5}-r{j % 3}",
            severity=SEVERITIES[(image + j) % len(SEVERITIES)],
            fixed_version=f"1.{j % 17}.{image % 5 + 1}-r0" if j % 4 else None,
            status="affected",
        )
        for j in range(count)
    )


def outcome(image: int, args: argparse.Namespace, sbom: str) -> ImageOutcome:
    return ImageOutcome(
        reference=f"registry.example/team-{image % 40}/app-{image:05d}:1.0",
        status="scanned",
        db_version="db1",
        digest=f"sha256:{image:064x}",
        sbom=sbom.replace("IMAGE", str(image)),
        findings=findings(image, args.findings),
        os="debian 12" if image % 2 else "alpine 3.20.3",
        packages=150,
        seconds=2.0,
    )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], Any], per: int | None = None, unit: str = "") -> Any:
    before = peak_mib()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    rate = f", {per / elapsed:,.0f} {unit}/s" if per else ""
    print(f"  {label:<58} {elapsed:8.2f} s{rate}   peak RSS +{peak_mib() - before:,.0f} MiB")
    return result


def record_all(store: FleetStore, run_id: int, outcomes: list[ImageOutcome], now: datetime) -> None:
    for o in outcomes:
        store.record(run_id, o, now)


def bench(store: FleetStore, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    sbom = (
        '{"schema": "alpinist-sbom/1", "image": "IMAGE", "packages": ['
        + ",".join('{"name": "pkg", "version": "1.0-r0", "type": "apk"}' for _ in range(args.sbom_kib * 20))
        + "]}"
    )
    run = store.start_run("scan", "db1", "bench", args.images, now)
    first = [outcome(i, args, sbom) for i in range(args.record)]

    timed(
        f"record {args.record} × {args.findings} findings",
        lambda: record_all(store, run.id, first, now),
        args.record,
        "images",
    )

    def fill() -> None:
        for i in range(args.record, args.images):
            store.record(run.id, outcome(i, args, sbom), now)

    timed(f"record up to {args.images} images (incl. building)", fill, args.images - args.record, "images")
    store.finish_run(run.id, now)

    def reference(i: int) -> str:
        return f"registry.example/team-{i % 40}/app-{i:05d}:1.0"

    # a rescan against a newer database: every image re-matched from its stored SBOM, findings changed
    rescan = store.start_run("rescan", "db2", "bench", args.images, now)
    matched = [
        ImageOutcome(
            reference(i),
            "matched",
            "db2",
            digest=f"sha256:{i:064x}",
            findings=findings(i, args.findings, salt=1),
        )
        for i in range(args.images)
    ]
    timed(
        f"record {args.images} matched × {args.findings}",
        lambda: record_all(store, rescan.id, matched, now),
        args.images,
        "images",
    )
    store.finish_run(rescan.id, now)
    matched.clear()
    # the next day's scan: nothing was pushed, every image unchanged (stands on the rescan's findings)
    again = store.start_run("scan", "db2", "bench", args.images, now)
    unchanged = [
        ImageOutcome(reference(i), "unchanged", "db2", digest=f"sha256:{i:064x}") for i in range(args.images)
    ]
    timed(
        f"record {args.images} unchanged",
        lambda: record_all(store, again.id, unchanged, now),
        args.images,
        "images",
    )
    store.finish_run(again.id, now)
    unchanged.clear()

    for label, bound in (("unchanged, through the pointer", None), ("matched", rescan.id)):
        latest = timed(f"latest() of {args.images} images ({label})", lambda b=bound: store.latest(b))
        assert len(latest) == args.images, len(latest)
        distinct = len({id(f) for s in latest for f in s.findings})
        print(f"    ({sum(len(s.findings) for s in latest):,} findings in the result, {distinct:,} distinct)")
        del latest
    trend = timed(f"trend() of {args.images} images × 3 runs", store.trend)
    assert len(trend) == args.images
    del trend
    digests = [f"sha256:{i:064x}" for i in range(args.images)]
    current = timed(f"current() of {args.images} digests", lambda: store.current(digests, "db2"))
    assert len(current) == args.images
    timed("runs()", store.runs)

    def stream() -> int:
        return sum(len(text) for _, _, text in store.latest_sboms())

    size = timed(f"latest_sboms() read to the end ({args.images} rows)", stream)
    print(f"    ({size / 2**20:,.0f} MiB of SBOM text streamed)")


@contextmanager
def sqlite_store() -> Iterator[FleetStore]:
    with (
        tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp,
        open_store(f"sqlite://{tmp}/fleet.db") as s,
    ):
        yield s
        print(f"    (file: {sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20:,.0f} MiB with WAL)")


@contextmanager
def pg_store(fast: bool) -> Iterator[FleetStore]:
    with start_postgres(fast=fast) as server:
        name = server.create_database()
        with open_store(server.url(name)) as s:
            yield s


BACKENDS: dict[str, tuple[str, Callable[[], Any]]] = {
    "sqlite": ("SQLite (WAL, synchronous=FULL)", sqlite_store),
    "postgresql": ("PostgreSQL (defaults: fsync, synchronous_commit on)", lambda: pg_store(False)),
    "postgresql-fast": ("PostgreSQL (fsync=off, as the tests run it)", lambda: pg_store(True)),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=int, default=1000)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--findings", type=int, default=100)
    parser.add_argument("--sbom-kib", type=int, default=20)
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    args = parser.parse_args()
    if args.backend == "all":  # one process each: the peak RSS figures are per backend
        for name in BACKENDS:
            argv = [a for a in sys.argv[1:] if not a.startswith("--backend")]
            done = subprocess.run([sys.executable, __file__, *argv, f"--backend={name}"], check=False)
            if done.returncode:
                return done.returncode
        return 0
    label, opener = BACKENDS[args.backend]
    print(label)
    with ExitStack() as stack:
        bench(stack.enter_context(opener()), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
