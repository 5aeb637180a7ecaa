"""Rescan benchmark: ``rescan_directory`` over N stored SBOMs (alpinist JSON) against the corpus database.

One command: ``PYTHONPATH=src .venv/bin/python bench/rescan_bench.py [--count 10000] [--workdir DIR]``.

1. The corpus database is built by the real update code (``advisories.update.update``, every feed) from
   ``corpus/advisories/feeds`` used as a **directory mirror** (``Fetcher(mirror=DIR)``).
2. N SBOMs are generated from the peers' SBOMs of the five corpus images (``expected/<tag>/syft.json``, read by
   ``inventory.sbom_import``): each is one of the five, padded with PyPI packages to ~150 packages, with about a
   third of the versions varied (apk/deb revisions moved, PyPI versions drawn from older and newer releases),
   written as ``alpinist-sbom/1`` JSON without file lists. Seeded: the same files every run.
3. ``scan.rescan.rescan_directory`` runs twice over the directory with ``--workers`` processes (first rescan:
   every finding is new; second: nothing changed), timed; peak RSS of this process (``RUSAGE_SELF``) and of
   the largest worker (``RUSAGE_CHILDREN``).
4. Honesty checks and references, measured in the same run: the findings of the first ``--sample`` SBOMs by
   the plain path (``read_sbom`` + ``scan_inventory`` one by one, no cache) must equal the rescan's, count
   for count and set for set (a checksum over the sample; the bench exits 1 otherwise); the plain path's
   time per SBOM, and the time of ``json.loads`` of every file (reading alone, one process).

Goal (issue 10): ≤ 20 s and ≤ 500 MB for 10,000 SBOMs on a 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from alpinist.advisories.download import Fetcher  # noqa: E402
from alpinist.advisories.sources import all_sources  # noqa: E402
from alpinist.advisories.store import Store  # noqa: E402
from alpinist.advisories.update import update  # noqa: E402
from alpinist.inventory.sbom_import import read_sbom  # noqa: E402
from alpinist.inventory.serialize import inventory_to_dict  # noqa: E402
from alpinist.models import Inventory, Package  # noqa: E402
from alpinist.scan.rescan import finding_ref, rescan_directory  # noqa: E402
from alpinist.scan.scanning import scan_inventory  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/corpus")
TAGS = ("alpine_3.20.3", "alpine_3.18.9", "debian_12-slim", "python-app_debian", "python-app_alpine")
PYPI = {
    "requests": ["2.19.1", "2.25.1", "2.31.0", "2.32.3"],
    "urllib3": ["1.24.1", "1.26.4", "1.26.18", "2.2.3"],
    "jinja2": ["2.10", "2.11.2", "3.1.2", "3.1.4"],
    "django": ["3.2.10", "4.2.0", "4.2.16", "5.1.1"],
    "flask": ["0.12.2", "1.1.2", "2.2.5", "3.0.3"],
    "pyyaml": ["5.3", "5.4.1", "6.0.2"],
    "cryptography": ["3.3.2", "39.0.1", "41.0.7", "43.0.1"],
    "pillow": ["8.1.0", "9.0.0", "10.0.1", "10.4.0"],
    "setuptools": ["58.1.0", "65.5.0", "70.0.0"],
    "certifi": ["2020.12.5", "2022.12.7", "2024.8.30"],
    "idna": ["2.10", "3.6", "3.10"],
    "werkzeug": ["0.15.3", "2.2.2", "3.0.4"],
    "aiohttp": ["3.8.1", "3.9.1", "3.10.5"],
    "numpy": ["1.21.0", "1.26.4"],
    "lxml": ["4.6.2", "5.3.0"],
    "paramiko": ["2.4.1", "3.4.0"],
    "sqlalchemy": ["1.3.0", "2.0.35"],
    "tornado": ["6.0.4", "6.4.1"],
    "twisted": ["20.3.0", "24.7.0"],
    "gunicorn": ["19.9.0", "22.0.0"],
}


def build_db(workdir: Path) -> Path:
    db = workdir / "advisories.db"
    if not db.exists():
        with Fetcher(mirror=str(CORPUS / "advisories" / "feeds"), attempts=1) as fetcher:
            update(db, all_sources(), fetcher)
    return db


def _vary(rng: random.Random, p: Package) -> Package:
    if p.type in ("apk", "deb") and rng.random() < 0.3:
        head, sep, tail = p.version.rpartition("-r" if p.type == "apk" else "-")
        if sep and tail[:1].isdigit():
            digits = "".join(c for c in tail if c.isdigit()) or "0"
            new = f"{head}{sep}{max(0, int(digits) + rng.choice((-1, 1, 2)))}"
            sv = p.source_version
            return dataclasses.replace(p, version=new, source_version=None if sv == p.version else sv)
    if p.type == "python" and p.name.lower() in PYPI and rng.random() < 0.5:
        return dataclasses.replace(p, version=rng.choice(PYPI[p.name.lower()]))
    return p


def generate(directory: Path, count: int, size: int = 150, seed: int = 10) -> None:
    rng = random.Random(seed)
    bases = [read_sbom(CORPUS / "expected" / tag / "syft.json").inventory for tag in TAGS]
    for n in range(count):
        base = bases[n % len(bases)]
        packages = [_vary(rng, p) for p in base.packages if p.type != "binary" or n % 2 == 0]
        names = list(PYPI)
        rng.shuffle(names)
        extra = 0
        while len(packages) < size:
            name = names[extra % len(names)]
            version = rng.choice(PYPI[name])
            location = f"/srv/app{extra // len(names)}/site-packages/{name}-{version}.dist-info"
            packages.append(
                Package(name, version, "python", f"pkg:pypi/{name}@{version}", locations=(location,))
            )
            extra += 1
        image = dataclasses.replace(base.image, reference=f"bench/image-{n:05d}")
        inv = Inventory(image=image, os=base.os, packages=tuple(packages))
        (directory / f"image-{n:05d}.json").write_text(
            json.dumps(inventory_to_dict(inv, include_files=False)), encoding="utf-8"
        )


def _checksum(rows: list[tuple[str, int, list[tuple[object, ...]]]]) -> str:
    h = hashlib.sha256()
    for name, count, refs in rows:
        h.update(f"{name}\0{count}\0{sorted(refs)!r}\n".encode())
    return h.hexdigest()[:16]


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=200, help="SBOMs matched by the plain path too")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alpinist-rescan-bench."))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db = build_db(workdir)
    print(f"database: {db} ({time.perf_counter() - started:.1f} s)")
    sboms = workdir / f"sboms-{args.count}"
    if not sboms.exists():
        sboms.mkdir()
        started = time.perf_counter()
        generate(sboms, args.count)
        print(f"generated {args.count} SBOMs in {time.perf_counter() - started:.1f} s")
    (sboms / ".alpinist-rescan.json").unlink(missing_ok=True)
    files = sorted(sboms.glob("*.json"))
    # reference 1: reading alone (json.loads of every file, one process)
    started = time.perf_counter()
    packages = 0
    for p in files:
        packages += len(json.loads(p.read_bytes())["packages"])
    loads = time.perf_counter() - started
    print(f"~{packages / len(files):.0f} packages per SBOM")
    print(
        f"reference: json.loads of {len(files)} files: {loads:.1f} s ({loads / len(files) * 1000:.2f} ms per SBOM)"
    )
    # reference 2 and the check: the plain sequential path on a sample
    sample = files[: args.sample]
    expected = []
    started = time.perf_counter()
    with Store.open(db) as store:
        for p in sample:
            found = scan_inventory(read_sbom(p).inventory, store, max_db_age=None).findings
            expected.append((p.name, len(found), [dataclasses.astuple(finding_ref(f))[:4] for f in found]))
    plain = (time.perf_counter() - started) / len(sample)
    print(
        f"reference: plain read_sbom + scan_inventory, first {len(sample)} SBOMs: {plain * 1000:.2f} ms per SBOM"
    )
    ok = True
    with Store.open(db) as store:
        for label in ("first rescan", "second rescan"):
            started = time.perf_counter()
            result = rescan_directory(sboms, store, workers=args.workers)
            wall = time.perf_counter() - started
            findings = sum(i.findings for i in result.images)
            gained = sum(len(i.gained) for i in result.images)
            per = wall / len(result.images)
            print(
                f"{label}: {len(result.images)} SBOMs, {findings} findings ({gained} gained), "
                f"{wall:.1f} s wall, {per * 1000:.2f} ms per SBOM "
                f"({plain / per:.1f}x the plain path, {wall / loads:.2f}x json.loads of all files)"
            )
            if label == "first rescan":
                # gained on a first rescan = the findings, one per (id, type, package, version)
                got = [
                    (i.file, i.findings, [(r.id, r.type, r.package, r.version) for r in i.gained])
                    for i in result.images[: len(sample)]
                ]
                want = [(n, c, list(dict.fromkeys(refs))) for n, c, refs in expected]
                same = _checksum(got) == _checksum(want)
                ok = ok and same
                print(
                    f"check vs plain path on {len(sample)} SBOMs: {_checksum(got)} {'==' if same else '!='} {_checksum(want)}"
                )
            elif gained:
                ok = False
                print("check: the second rescan gained findings")
    print(
        f"peak RSS: this process {_rss_mb(resource.RUSAGE_SELF):.0f} MB, "
        f"largest worker {_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
