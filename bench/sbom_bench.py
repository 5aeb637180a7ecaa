"""Benchmark of `alpinist sbom`: every figure is a ratio against a reference measured in this run.

Images (each as an OCI layout and as a docker-archive made by skopeo):
- ``python-app:debian`` of the corpus (6 layers, 8,400 tar members);
- ``manyfiles``: the deterministic many-file image of ``bench/manyfiles.py`` (4 layers, ~43,000 members,
  whiteouts and an opaque directory in the last layer); the inventory is checked against what the
  generator put in it before any time counts;
- ``debian-bookworm-venv`` and ``debian-trixie-venv`` from ``bench/debian_images.sh`` (mmdebstrap,
  python3, a venv with Django and friends), when Debian and PyPI were reachable to build them: the
  run says plainly when they are skipped.

For each image: cold ``alpinist sbom`` (``--no-cache``) on the layout and on the archive, with layers in
threads and in worker processes (``ALPINIST_LAYER_WORKERS``; the default picks processes for these
sizes), ``trivy image --input ARCHIVE --list-all-pkgs --scanners ''`` (memory cache, so cold) and
the same on an OCI layout directory of the image (gzip layers: the peer of the layout rows), ``syft docker-archive:`` when installed, and ``gzip -dc`` of the layout's layer blobs. Each command runs
``--repeat`` times; medians are compared. Wall time, CPU time (user + system of the command and every
process it waited for) and peak memory: the largest sum of the resident sets of the command's process
tree (proportional set size: a page a forked worker shares with its parent counts half in each),
sampled every 5 ms.
Whole CLI invocations are timed, interpreter start-up included, as a user would see them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import manyfiles  # noqa: E402 - a sibling script

LAYOUT = ROOT.parent / "shared" / "corpus" / "images" / "oci"
FEEDS = ROOT.parent / "shared" / "corpus" / "advisories" / "feeds"
PEERS = ROOT / "bench" / ".peers" / "bin"
ALPINIST = [str(ROOT / ".venv" / "bin" / "alpinist")]
IMAGES_DIR = ROOT / "bench" / ".images"


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss: int  # bytes: the largest sum of the process tree's proportional set sizes


@dataclass(frozen=True)
class Image:
    name: str
    layout_ref: str  # oci:DIR:TAG
    layout_blobs: list[Path]
    archive: Path
    tag: str = ""  # the layout's ref name
    expected: dict[str, object] | None = None


def _tree_rss(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:  # PSS: a page shared by n processes counts 1/n
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:")) * 1024
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def measured(cmd: list[str] | str, env: dict[str, str] | None = None, shell: bool = False) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, shell=shell)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"bench: {cmd} failed ({proc.returncode}): {err[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, peak)


def timed(
    cmd: list[str] | str, repeat: int, env: dict[str, str] | None = None, shell: bool = False
) -> list[Run]:
    """``repeat`` timed runs after one untimed warm-up run (as ``hyperfine --warmup 1``): the first run of
    a command after another one pays for the page cache and the CPU's frequency; it was the slowest of
    the first image's rows in every run of this bench (python-app's warm row: 0.27-0.28 s against
    0.16-0.20 s for the same work later). The tools' own caches stay off: ``--no-cache``, trivy's memory
    cache."""
    measured(cmd, env, shell)
    return [measured(cmd, env, shell) for _ in range(repeat)]


def med(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs)


def layer_blobs(layout: Path, tag: str) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    entry = next(
        m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    )
    manifest = json.loads((layout / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    return [layout / "blobs" / "sha256" / layer["digest"][7:] for layer in manifest["layers"]]


def images(tmp: Path, wanted: set[str] | None) -> list[Image]:
    out = []
    if wanted is None or "python-app:debian" in wanted:
        archive = tmp / "python-app-debian.docker.tar"
        subprocess.run(
            [
                "skopeo",
                "copy",
                "-q",
                f"oci:{LAYOUT}:python-app:debian",
                f"docker-archive:{archive}:python-app:debian",
            ],
            check=True,
        )
        out.append(
            Image(
                "python-app:debian",
                f"oci:{LAYOUT}:python-app:debian",
                layer_blobs(LAYOUT, "python-app:debian"),
                archive,
                "python-app:debian",
            )
        )
    if wanted is None or "manyfiles" in wanted:
        target = manyfiles.ensure(IMAGES_DIR)
        out.append(
            Image(
                "manyfiles",
                f"oci:{target / 'oci'}:{manyfiles.TAG}",
                layer_blobs(target / "oci", manyfiles.TAG),
                target / "manyfiles.docker.tar",
                manyfiles.TAG,
                json.loads((target / "expected.json").read_text()),
            )
        )
    for suite in ("bookworm", "trixie"):
        name = f"debian-{suite}-venv"
        if wanted is not None and name not in wanted:
            continue
        built = IMAGES_DIR / name
        if not (built / "done").exists():
            print(
                f"{name}: skipped, not built (bench/debian_images.sh needs root, mmdebstrap, umoci and "
                "network to deb.debian.org and pypi.org)"
            )
            continue
        tag = f"{suite}-venv"
        out.append(
            Image(
                name,
                f"oci:{built / 'oci'}:{tag}",
                layer_blobs(built / "oci", tag),
                built / "image.docker.tar",
                tag,
            )
        )
    return out


def check_inventory(image: Image, env: dict[str, str]) -> None:
    """The many-file image's inventory is what the generator put in it: timing a wrong answer is moot."""
    if image.expected is None:
        return
    out = subprocess.run(
        [*ALPINIST, "sbom", f"docker-archive:{image.archive}", "--format", "json", "--no-cache"],
        check=True,
        capture_output=True,
        env=env,
    ).stdout
    packages = json.loads(out)["packages"]
    python = sorted(
        f"{p['name']}=={p['version']}@{p['locations'][0].rsplit('/', 1)[0]}"
        for p in packages
        if p["type"] == "python"
    )
    deb = sorted(f"{p['name']}=={p['version']}" for p in packages if p["type"] == "deb")
    if python != image.expected["python"] or deb != image.expected["deb"]:
        raise SystemExit(
            f"bench: the inventory of {image.name} is wrong: {len(python)} python, {len(deb)} deb"
        )
    print(f"  inventory checked: {len(python)} python and {len(deb)} deb packages, as generated")


def row(
    results: list[dict[str, object]],
    image: str,
    name: str,
    runs: list[Run],
    ref: list[Run] | None = None,
    ref_name: str = "",
) -> None:
    wall, cpu, rss = med(runs, "wall"), med(runs, "cpu"), med(runs, "peak_rss")
    item: dict[str, object] = {
        "image": image,
        "name": name,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_mib": round(rss / 2**20, 1),
        "walls": [round(r.wall, 3) for r in runs],
    }
    line = f"  {name:<42} {wall:6.3f} s wall {cpu:6.3f} s cpu {rss / 2**20:6.0f} MiB"
    if ref:
        item.update(
            vs=ref_name,
            ratio_wall=round(wall / med(ref, "wall"), 3),
            ratio_cpu=round(cpu / med(ref, "cpu"), 3),
            ratio_memory=round(rss / med(ref, "peak_rss"), 3),
        )
        line += f"   {item['ratio_wall']:.2f}× wall {item['ratio_cpu']:.2f}× cpu {item['ratio_memory']:.2f}× memory vs {ref_name}"
    print(line, flush=True)
    results.append(item)


def compile_sources(*trees: Path) -> None:
    """Byte-compile the alpinist trees being timed, as an installed package is: an editable install
    under ``PYTHONDONTWRITEBYTECODE=1`` (this machine's environment) would otherwise compile every module
    changed since the last compile at every run, and time Python's compiler rather than alpinist."""
    for tree in trees:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--image",
        action="append",
        help="python-app:debian, manyfiles, debian-bookworm-venv, debian-trixie-venv (default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-syft", action="store_true", help="syft takes 5x trivy's time: leave it out")
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    compile_sources(ROOT / "src")
    tmp = Path(tempfile.mkdtemp(prefix="alpinist-bench-"))
    try:
        env = dict(os.environ, ALPINIST_CACHE_DIR=str(tmp / "cache"))
        print(f"{os.cpu_count()} CPUs; {args.repeat} runs each; load {os.getloadavg()[0]:.1f}")
        trivy, syft = PEERS / "trivy", PEERS / "syft"
        db = tmp / "advisories.db"
        subprocess.run(
            [*ALPINIST, "db", "update", "--db", str(db), "--mirror", str(FEEDS)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for image in images(tmp, set(args.image) if args.image else None):
            print(
                f"{image.name}: {len(image.layout_blobs)} layers, {sum(b.stat().st_size for b in image.layout_blobs) / 2**20:.0f} MiB compressed"
            )
            check_inventory(image, env)
            blobs = " ".join(str(b) for b in image.layout_blobs)
            gz = timed(f"gzip -dc {blobs} > /dev/null", args.repeat, shell=True)
            row(results, image.name, "gzip -dc <layer blobs>", gz)
            reference: list[Run] | None = None
            oci_reference: list[Run] | None = None
            if trivy.exists():

                def trivy_runs(target: Path) -> list[Run]:
                    """trivy's inventory of ``target`` (an archive or a layout directory), cold."""
                    return timed(
                        [
                            str(trivy),
                            "image",
                            "--input",
                            str(target),
                            "--list-all-pkgs",
                            "--scanners",
                            "",
                            "--format",
                            "json",
                            "--cache-backend",
                            "memory",
                            "--skip-version-check",
                            "--disable-telemetry",
                            "-q",
                        ],
                        args.repeat,
                        dict(os.environ, TRIVY_CACHE_DIR=str(tmp / "trivy")),
                    )

                # the layout's peer: trivy reading an OCI layout directory of this one image (gzip layers)
                oci_dir = tmp / f"{image.name.replace(':', '-')}-layout"
                subprocess.run(
                    ["skopeo", "copy", "-q", image.layout_ref, f"oci:{oci_dir}:{image.tag}"], check=True
                )
                oci_reference = trivy_runs(oci_dir)
                row(results, image.name, "trivy image --input OCI-LAYOUT", oci_reference)
                shutil.rmtree(oci_dir)
                reference = trivy_runs(image.archive)
                row(results, image.name, "trivy image --input (memory cache)", reference)
            if syft.exists() and not args.skip_syft:
                runs = timed(
                    [str(syft), f"docker-archive:{image.archive}", "-o", "syft-json", "-q"],
                    args.repeat,
                    dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false"),
                )
                row(results, image.name, "syft docker-archive:", runs, reference, "trivy")
            for mode in ("auto", "threads", "processes"):
                mode_env = dict(env, ALPINIST_LAYER_WORKERS=mode)
                for label, ref in (
                    ("docker-archive", f"docker-archive:{image.archive}"),
                    ("oci", image.layout_ref),
                ):
                    runs = timed(
                        [*ALPINIST, "sbom", ref, "--format", "json", "--no-cache"], args.repeat, mode_env
                    )
                    peer = oci_reference if label == "oci" else reference
                    row(
                        results,
                        image.name,
                        f"alpinist sbom {label}: ({mode})",
                        runs,
                        peer,
                        "trivy oci" if label == "oci" else "trivy",
                    )
                    if label == "oci" and mode == "auto":
                        print(f"  {'':<42} {med(runs, 'wall') / med(gz, 'wall'):.2f}× gzip -dc")
            # the whole scan, cold (no inventory cache), against a database built once from the corpus feeds
            runs = timed(
                [
                    *ALPINIST,
                    "scan",
                    f"docker-archive:{image.archive}",
                    "--format",
                    "json",
                    "--no-cache",
                    "--offline",
                    "--db",
                    str(db),
                ],
                args.repeat,
                env,
            )
            row(
                results,
                image.name,
                "alpinist scan docker-archive: (goal ≤ 1.0× trivy)",
                runs,
                reference,
                "trivy",
            )
            subprocess.run(
                [*ALPINIST, "sbom", image.layout_ref, "--format", "json"],
                check=True,
                stdout=subprocess.DEVNULL,
                env=env,
            )
            warm = timed([*ALPINIST, "sbom", image.layout_ref, "--format", "json"], args.repeat, env)
            row(results, image.name, "alpinist sbom oci: (warm, cached; goal ≤ 0.25 s)", warm)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
