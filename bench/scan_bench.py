"""Benchmark of the scan side: every figure is a ratio against a goal and a reference measured in this run.

1. **Matching 500 packages** (goal ≤ 50 ms). Two realistic inventories of 500 packages each, matched against a
   database built from the corpus feeds (all four sources, through the real update code and the loopback feed
   server): ``debian-500`` = the 143 packages of python-app:debian + generated deb packages whose source is in
   the tracker feed + generated PyPI packages named in the OSV zip; ``alpine-500`` = the 21 packages of
   python-app:alpine + generated apk packages whose origin is in secdb v3.20 + generated PyPI packages.
   ``match()`` is timed warm (the store open, one warm-up call; median of --repeat calls, each result kept
   until the last one returns: freeing a result is its caller's work) and cold (the first call in this
   process). Reference: the raw SQLite queries that fetch the same rows (affected rows of the
   queried packages, then the vulnerability, alias and CVSS rows of their ids), on the same store.
2. **Full-scale Debian tracker update** (goal: peak RSS ≤ 400 MB). A tracker JSON of upstream size is generated
   (streamed to disk: ~35,000 source packages, ~1.5 million package/id/release entries, a skewed number of ids
   per package like ``linux``'s thousands), served by the loopback feed server, and ``update(..., only=
   ["debian"])`` runs in a child process that reports its wall time and ``ru_maxrss``. References, same file,
   same run: ``json.load`` of it in a child process (time and peak RSS), and a child that only imports alpinist.

Options: ``--repeat N`` (match calls, default 30), ``--entries N`` (release entries, default 1,500,000),
``--skip-match``, ``--skip-update``, ``--json FILE``, ``--workdir DIR`` (default: a temporary directory,
removed at the end). Needs the test extras (the loopback feed server lives in ``tests/feed_server.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
FEEDS = CORPUS / "advisories" / "feeds"
LAYOUT = CORPUS / "images" / "oci"
MATCH_GOAL_S = 0.050
RSS_GOAL_MB = 400.0
RELEASES = ("bullseye", "bookworm", "trixie", "forky", "sid")

from alpinist.advisories.download import Fetcher  # noqa: E402
from alpinist.advisories.sources import all_sources  # noqa: E402
from alpinist.advisories.store import Store  # noqa: E402
from alpinist.advisories.update import update  # noqa: E402
from alpinist.inventory.build import build_inventory  # noqa: E402
from alpinist.models import Inventory, Package  # noqa: E402
from alpinist.scan.matching import match  # noqa: E402

try:
    from tests.feed_server import FeedServer
except ImportError as exc:  # pragma: no cover - a venv without the test extras
    sys.exit(f"scan_bench: {exc}; install the test extras: pip install -e '.[test]'")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


# ---------------------------------------------------------------------------------------------- 1. matching


def corpus_db(workdir: Path) -> Path:
    db = workdir / "corpus.db"
    server = FeedServer().start()
    try:
        with Fetcher(mirror=server.url, attempts=1) as fetcher:
            update(db, all_sources(), fetcher)
    finally:
        server.stop()
    return db


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def osv_names_and_versions() -> list[tuple[str, list[str]]]:
    """(PyPI name, its explicitly affected versions) of the records in the corpus OSV zip, sorted by name."""
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(FEEDS / "osv-vulnerabilities.storage.googleapis.com" / "PyPI" / "all.zip") as zf:
        for member in zf.namelist():
            record = json.loads(zf.read(member))
            for affected in record.get("affected", []):
                name = affected.get("package", {}).get("name")
                if name and name not in found:
                    found[name] = list(affected.get("versions", []))
    return sorted(found.items())


def _pep440(version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def generated_python(rng: random.Random, count: int, old: float) -> list[Package]:
    names = osv_names_and_versions()
    out = []
    for name, listed in rng.sample(names, count):
        versions = [v for v in listed if _pep440(v)]
        # a share ``old`` from the record's affected versions (a finding), else a version above them all
        version = rng.choice(versions) if versions and rng.random() < old else "999.0"
        out.append(
            Package(
                name, version, "python", f"pkg:pypi/{_canonical(name)}@{version}", locations=(f"/gen/{name}",)
            )
        )
    return out


def generated_deb(rng: random.Random, count: int, old: float) -> list[Package]:
    tracker = json.loads((FEEDS / "security-tracker.debian.org" / "tracker" / "data" / "json").read_bytes())
    sources = sorted(tracker)
    out = []
    for i in range(count):
        source = sources[i % len(sources)]
        versions = [
            r.get("repositories", {}).get("bookworm")
            for e in tracker[source].values()
            for r in e.get("releases", {}).values()
        ]
        version = next((v for v in versions if v), "1.0-1")
        if rng.random() < old:
            version = "0.1-1"  # old: below every fixed version
        name = f"lib{source}-gen{i}"
        out.append(
            Package(
                name,
                version,
                "deb",
                f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12",
                origin=source,
                source_version=version,
            )
        )
    return out


def generated_apk(rng: random.Random, count: int, old: float) -> list[Package]:
    from functools import cmp_to_key

    from alpinist.versions import compare

    def by_apk_order(a: str, b: str) -> int:
        return compare("apk", a, b)

    secdb = json.loads((FEEDS / "secdb.alpinelinux.org" / "v3.20" / "main.json").read_bytes())
    origins = [
        (
            p["pkg"]["name"],
            sorted(
                (k for k in p["pkg"]["secfixes"] if k != "0"),
                key=cmp_to_key(by_apk_order),
            ),
        )
        for p in secdb["packages"]
    ]
    out = []
    for i in range(count):
        origin, fixes = origins[i % len(origins)]
        # current: the newest fixed version (no finding); old: any fixed version (affected by the later ones)
        version = (rng.choice(fixes) if rng.random() < old else fixes[-1]) if fixes else "1.0-r0"
        name = f"{origin}-gen{i}"
        out.append(
            Package(
                name, version, "apk", f"pkg:apk/alpine/{name}@{version}?distro=alpine-3.20.3", origin=origin
            )
        )
    return out


def inventory_500(kind: str, rng: random.Random, old: float) -> Inventory:
    """500 packages: the image's own, generated OS packages, 150 generated PyPI packages; a share ``old`` of the
    generated ones at a version below the fixes of their records."""
    base = build_inventory(f"oci:{LAYOUT}:python-app:{kind}", use_cache=False)
    python = generated_python(rng, 150, old)
    rest = 500 - len(base.packages) - len(python)
    os_packages = generated_deb(rng, rest, old) if kind == "debian" else generated_apk(rng, rest, old)
    packages = (*base.packages, *os_packages, *python)
    assert len(packages) == 500, len(packages)
    return dataclasses.replace(base, packages=packages)


def raw_queries(db: Path, inventory: Inventory) -> int:
    """The SQL a scan of this inventory needs, without building any object: the rows it reads."""
    assert inventory.os is not None
    ns = "debian:bookworm" if inventory.os.id == "debian" else f"alpine:{inventory.os.release}"
    keys: dict[str, set[str]] = {}
    for p in inventory.packages:
        if p.type in ("deb", "apk"):
            keys.setdefault(ns, set()).add(p.origin or p.name)
        elif p.type == "python" and not p.owner:
            keys.setdefault("pypi", set()).add(_canonical(p.name))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = 0
        ids: set[str] = set()
        for namespace, names in keys.items():
            marks = ",".join("?" * len(names))
            for row in conn.execute(
                f"SELECT * FROM affected WHERE namespace = ? AND package IN ({marks})", (namespace, *names)
            ):
                rows += 1
                ids.add(row[0])
        id_list = sorted(ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for table, column in (("vulnerabilities", "id"), ("aliases", "vuln_id"), ("cvss", "vuln_id")):
                rows += len(
                    conn.execute(f"SELECT * FROM {table} WHERE {column} IN ({marks})", chunk).fetchall()
                )
        return rows
    finally:
        conn.close()


def bench_match(workdir: Path, repeat: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    t = time.perf_counter()
    db = corpus_db(workdir)
    print(f"corpus database built in {time.perf_counter() - t:.2f} s ({db.stat().st_size / 1e6:.1f} MB)")
    for kind, old, label in (
        ("debian", 0.3, "debian-500"),
        ("alpine", 0.3, "alpine-500"),
        ("debian", 1.0, "debian-500-old"),
        ("alpine", 1.0, "alpine-500-old"),
    ):
        inventory = inventory_500(kind, random.Random(20241010), old)
        with Store.open(db) as store:
            t = time.perf_counter()
            result = match(inventory, store)
            cold = time.perf_counter() - t
            runs = []
            kept = []  # each result freed after the timed calls: freeing it is its caller's work, not match()'s
            for _ in range(repeat):
                t = time.perf_counter()
                kept.append(match(inventory, store))
                runs.append(time.perf_counter() - t)
            del kept
        raw = []
        rows = 0
        for _ in range(repeat):
            t = time.perf_counter()
            rows = raw_queries(db, inventory)
            raw.append(time.perf_counter() - t)
        med, raw_med = statistics.median(runs), statistics.median(raw)
        affected_pkgs = len({id(f.package) for f in result.findings})
        print(
            f"match {label}: {len(result.findings)} findings in {affected_pkgs} packages, "
            f"{len(result.warnings)} warnings"
        )
        print(f"  match() warm median            {ms(med)}   {med / MATCH_GOAL_S:5.2f}× goal (50 ms)")
        print(f"  match() first call (cold)      {ms(cold)}   {cold / MATCH_GOAL_S:5.2f}× goal")
        print(f"  raw SQLite queries ({rows} rows) {ms(raw_med)}   match/raw {med / raw_med:5.2f}×")
        results.append(
            {
                "name": f"match {label}",
                "findings": len(result.findings),
                "median_s": round(med, 5),
                "cold_s": round(cold, 5),
                "ratio_goal": round(med / MATCH_GOAL_S, 3),
                "raw_sql_median_s": round(raw_med, 5),
                "raw_sql_rows": rows,
                "ratio_raw_sql": round(med / raw_med, 3),
                "runs": [round(r, 5) for r in runs],
            }
        )
    return results


# ---------------------------------------------------------------------------------------------- 2. update


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}-{rng.randint(1, 5)}"


def _release(rng: random.Random, codename: str) -> dict[str, Any]:
    version = _version(rng)
    repos = {codename: version}
    if codename in ("bullseye", "bookworm") and rng.random() < 0.3:
        repos[f"{codename}-security"] = version + "+deb12u1"
    roll = rng.random()
    if roll < 0.55:
        return {
            "status": "resolved",
            "repositories": repos,
            "fixed_version": version,
            "urgency": "not yet assigned",
        }
    if roll < 0.60:
        return {
            "status": "resolved",
            "repositories": repos,
            "fixed_version": "0",
            "urgency": "not yet assigned",
        }
    if roll < 0.75:
        return {"status": "open", "repositories": repos, "urgency": "unimportant"}
    if roll < 0.87:
        return {
            "status": "open",
            "repositories": repos,
            "urgency": rng.choice(("low", "medium", "low**", "not yet assigned")),
            "nodsa": "Minor issue",
            "nodsa_reason": rng.choice(("", "", "ignored", "postponed")),
        }
    return {
        "status": "open",
        "repositories": repos,
        "urgency": rng.choice(("not yet assigned", "medium", "high")),
    }


WORDS = [
    "buffer",
    "overflow",
    "in",
    "the",
    "parser",
    "allows",
    "remote",
    "attackers",
    "to",
    "cause",
    "a",
    "denial",
    "of",
    "service",
    "or",
    "possibly",
    "execute",
    "arbitrary",
    "code",
    "via",
    "a",
    "crafted",
    "file",
    "heap",
    "use-after-free",
    "out-of-bounds",
    "read",
    "integer",
    "overflow",
    "in",
    "function",
]


def generate_tracker(path: Path, target_entries: int, seed: int = 1) -> dict[str, int]:
    """Stream a tracker JSON of ``target_entries`` package/id/release entries to ``path``."""
    rng = random.Random(seed)
    packages = 35_000
    # ids per package: a few huge (linux), some big, most small; scaled to reach the target
    weights = (
        [8000.0]
        + [rng.uniform(300, 1500) for _ in range(40)]
        + [rng.paretovariate(1.6) for _ in range(packages - 41)]
    )
    avg_releases = 1 + 0.9 + 0.85 + 0.75 + 0.45  # sid always, then trixie, bookworm, bullseye, forky
    scale = target_entries / avg_releases / sum(weights)
    id_pool = 250_000
    stats = {"packages": packages, "entries": 0, "pairs": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", buffering=1 << 20) as fh:
        fh.write("{")
        for p in range(packages):
            name = "linux" if p == 0 else f"src{p:05d}" + ("-python3.11" if p % 97 == 0 else "")
            fh.write(("," if p else "") + json.dumps(name) + ":{")
            count = max(1, round(weights[p] * scale))
            first = True
            for n in rng.sample(range(id_pool), min(count, id_pool)):  # no id twice in one package
                vuln_id = f"CVE-{1999 + n % 27}-{n + 1000}" if n % 50 else f"TEMP-{n:07d}-{n % 0xFFFFFF:06X}"
                releases: dict[str, Any] = {"sid": _release(rng, "sid")}
                for codename, chance in (
                    ("trixie", 0.9),
                    ("bookworm", 0.85),
                    ("bullseye", 0.75),
                    ("forky", 0.45),
                ):
                    if rng.random() < chance:
                        releases[codename] = _release(rng, codename)
                entry: dict[str, Any] = {
                    "description": " ".join(rng.choices(WORDS, k=rng.randint(6, 18))),
                    "scope": rng.choice(("remote", "local")),
                    "releases": releases,
                }
                if rng.random() < 0.4:
                    entry["debianbug"] = rng.randint(100000, 1100000)
                fh.write(
                    ("" if first else ",")
                    + json.dumps(vuln_id)
                    + ":"
                    + json.dumps(entry, separators=(",", ":"))
                )
                first = False
                stats["entries"] += len(releases)
                stats["pairs"] += 1
            fh.write("}")
        fh.write("}")
    stats["bytes"] = path.stat().st_size
    return stats


CHILD_UPDATE = textwrap.dedent(
    """
    import json, resource, sys, time
    from alpinist.advisories.download import Fetcher
    from alpinist.advisories.sources import all_sources
    from alpinist.advisories.update import update
    mirror, db = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    with Fetcher(mirror=mirror, attempts=1, timeout=600) as fetcher:
        report = update(db, all_sources(), fetcher, only=["debian"])
    wall = time.perf_counter() - t
    src = report.sources[0]
    print(json.dumps({"wall_s": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "records": src.records, "affected_rows": src.affected_rows}))
    """
)
CHILD_JSON_LOAD = textwrap.dedent(
    """
    import json, resource, sys, time
    t = time.perf_counter()
    with open(sys.argv[1], "rb") as fh:
        data = json.load(fh)
    wall = time.perf_counter() - t
    print(json.dumps({"wall_s": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "packages": len(data)}))
    """
)
CHILD_IMPORT = textwrap.dedent(
    """
    import json, resource
    import alpinist.advisories.update, alpinist.advisories.sources, alpinist.advisories.download
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


def child(code: str, *args: str) -> dict[str, Any]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t
    return out


def bench_update(workdir: Path, entries: int) -> list[dict[str, Any]]:
    feeds = workdir / "feeds"
    tracker = feeds / "security-tracker.debian.org" / "tracker" / "data" / "json"
    t = time.perf_counter()
    stats = generate_tracker(tracker, entries)
    print(
        f"generated tracker JSON: {stats['packages']:,} source packages, {stats['pairs']:,} package/id pairs, "
        f"{stats['entries']:,} package/id/release entries, {stats['bytes'] / 1e6:.0f} MB "
        f"in {time.perf_counter() - t:.1f} s"
    )
    child(CHILD_IMPORT)  # the first run may compile .pyc files, which costs memory of its own
    base = child(CHILD_IMPORT)
    load = child(CHILD_JSON_LOAD, str(tracker))
    server = FeedServer(root=feeds).start()
    try:
        db = workdir / "tracker.db"
        upd = child(CHILD_UPDATE, server.url, str(db))
    finally:
        server.stop()
    peak, load_peak, base_peak = upd["maxrss_kb"] / 1024, load["maxrss_kb"] / 1024, base["maxrss_kb"] / 1024
    print(
        f"update --source debian: {upd['records']:,} records, {upd['affected_rows']:,} affected rows, "
        f"database {db.stat().st_size / 1e6:.0f} MB"
    )
    print(
        f"  wall {upd['wall_s']:7.1f} s  (process {upd['process_s']:.1f} s)   "
        f"{upd['wall_s'] / load['wall_s']:5.1f}× json.load ({load['wall_s']:.1f} s)"
    )
    print(
        f"  peak RSS {peak:7.0f} MB   {peak / RSS_GOAL_MB:5.2f}× goal (400 MB)   "
        f"{peak / load_peak:5.2f}× json.load ({load_peak:.0f} MB)   import-only process {base_peak:.0f} MB"
    )
    return [
        {
            "name": "update debian (generated tracker)",
            "entries": stats["entries"],
            "pairs": stats["pairs"],
            "packages": stats["packages"],
            "file_bytes": stats["bytes"],
            "wall_s": round(upd["wall_s"], 2),
            "peak_rss_mb": round(peak, 1),
            "ratio_rss_goal": round(peak / RSS_GOAL_MB, 3),
            "json_load_s": round(load["wall_s"], 2),
            "json_load_peak_rss_mb": round(load_peak, 1),
            "ratio_time_json_load": round(upd["wall_s"] / load["wall_s"], 3),
            "import_only_rss_mb": round(base_peak, 1),
            "affected_rows": upd["affected_rows"],
        }
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--entries", type=int, default=1_500_000)
    parser.add_argument("--skip-match", action="store_true")
    parser.add_argument("--skip-update", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="alpinist-scan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ALPINIST_CACHE_DIR", str(workdir / "cache"))
    print(f"scan bench: {os.cpu_count()} CPUs, work dir {workdir}")
    results: list[dict[str, Any]] = []
    try:
        if not args.skip_match:
            results += bench_match(workdir, args.repeat)
        if not args.skip_update:
            results += bench_update(workdir, args.entries)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
