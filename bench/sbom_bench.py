"""Benchmark of `alpinist sbom`: every figure is a ratio against a reference measured in this run.

1. cold `alpinist sbom oci:…:python-app:debian` vs `gzip -dc` of the same layer blobs (goal ≤ 1.0×)
2. the same image as a docker-archive: alpinist vs syft and trivy on that archive (goal: < 1.0× both)
3. warm rerun (inventory cached) vs cold (goal: ≤ 0.25 s)
Each command runs --repeat times (default 5); medians are compared. Whole CLI invocations are timed,
interpreter start-up included, as a user would see them.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT.parent / "shared" / "corpus" / "images" / "oci"
PEERS = ROOT / "bench" / ".peers" / "bin"
ALPINIST = [str(ROOT / ".venv" / "bin" / "alpinist")]


def timed(
    cmd: list[str] | str, repeat: int, env: dict[str, str] | None = None, shell: bool = False
) -> list[float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, shell=shell
        )
        runs.append(time.perf_counter() - start)
    return runs


def layer_blobs(tag: str) -> list[Path]:
    index = json.loads((LAYOUT / "index.json").read_text())
    entry = next(
        m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    )
    manifest = json.loads((LAYOUT / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    return [LAYOUT / "blobs" / "sha256" / layer["digest"][7:] for layer in manifest["layers"]]


def row(name: str, runs: list[float], ref: float | None = None, ref_name: str = "") -> dict[str, object]:
    med = statistics.median(runs)
    out: dict[str, object] = {"name": name, "median_s": round(med, 3), "runs": [round(r, 3) for r in runs]}
    if ref:
        out["ratio"] = round(med / ref, 3)
        out["vs"] = ref_name
    print(f"{name:<44} median {med:7.3f} s" + (f"   {med / ref:6.2f}× {ref_name}" if ref else ""), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tag", default="python-app:debian")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results: list[dict[str, object]] = []
    tmp = Path(tempfile.mkdtemp(prefix="alpinist-bench-"))
    try:
        env = dict(os.environ, ALPINIST_CACHE_DIR=str(tmp / "cache"))
        ref = f"oci:{LAYOUT}:{args.tag}"
        print(
            f"image {args.tag}: {len(layer_blobs(args.tag))} layers; {os.cpu_count()} CPUs; {args.repeat} runs each"
        )

        blobs = " ".join(str(b) for b in layer_blobs(args.tag))
        gz = timed(f"gzip -dc {blobs} > /dev/null", args.repeat, shell=True)
        gz_med = statistics.median(gz)
        results.append(row("gzip -dc <layer blobs>", gz))
        cold = timed([*ALPINIST, "sbom", ref, "--format", "json", "--no-cache"], args.repeat, env)
        results.append(row("alpinist sbom oci: (cold)", cold, gz_med, "gzip -dc (goal ≤ 1.0)"))

        archive = tmp / "image.docker.tar"
        subprocess.run(
            ["skopeo", "copy", "-q", f"oci:{LAYOUT}:{args.tag}", f"docker-archive:{archive}:{args.tag}"],
            check=True,
        )
        ours = timed(
            [*ALPINIST, "sbom", f"docker-archive:{archive}", "--format", "json", "--no-cache"],
            args.repeat,
            env,
        )
        ours_med = statistics.median(ours)
        results.append(row("alpinist sbom docker-archive: (cold)", ours))
        syft = PEERS / "syft"
        if syft.exists():
            runs = timed(
                [str(syft), f"docker-archive:{archive}", "-o", "syft-json", "-q"],
                args.repeat,
                dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false"),
            )
            results.append(row("syft docker-archive: -o syft-json", runs))
            print(f"{'  alpinist / syft':<44} {ours_med / statistics.median(runs):6.2f}×  (goal < 1.0)")
            results.append({"name": "alpinist/syft", "ratio": round(ours_med / statistics.median(runs), 3)})
        trivy = PEERS / "trivy"
        if trivy.exists():
            runs = timed(
                [
                    str(trivy),
                    "image",
                    "--input",
                    str(archive),
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
            results.append(row("trivy image --input (memory cache)", runs))
            print(f"{'  alpinist / trivy':<44} {ours_med / statistics.median(runs):6.2f}×  (goal < 1.0)")
            results.append({"name": "alpinist/trivy", "ratio": round(ours_med / statistics.median(runs), 3)})

        subprocess.run(
            [*ALPINIST, "sbom", ref, "--format", "json"], check=True, stdout=subprocess.DEVNULL, env=env
        )
        warm = timed([*ALPINIST, "sbom", ref, "--format", "json"], args.repeat, env)
        results.append(row("alpinist sbom oci: (warm, cached)", warm, statistics.median(cold), "cold"))
        print(f"{'  warm median (goal ≤ 0.25 s)':<44} {statistics.median(warm):7.3f} s")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
