"""Benchmark of registry pulls (issue 15): cold ``alpinist sbom`` of an image on a loopback registry
against ``skopeo copy`` of the same image to an OCI layout; the goal is ≤ 1.1× skopeo's wall time.

Starts Debian's ``docker-registry`` on 127.0.0.1 (``tests/registry_server.py``), pushes the corpus image
``python-app:debian`` and the many-file image of ``bench/manyfiles.py`` (``manyfiles.ensure()``), then,
``--repeat`` times for each image, alternating the two commands so that a change of the machine's load
falls on both:

* ``skopeo copy --src-tls-verify=false docker://127.0.0.1:PORT/REPO:TAG oci:TMP:TAG``, TMP fresh each run;
* ``alpinist sbom 127.0.0.1:PORT/REPO:TAG --format json --no-cache`` with an empty
  ``ALPINIST_CACHE_DIR`` each run (cold: every blob comes from the registry), run from this tree's
  ``src`` with the interpreter running the benchmark.

More rows put the figure in context: ``alpinist sbom oci:`` of the same image's local layout (the
cost of reading the layers with no network: what streaming can at best hide the download behind),
``gzip -dc`` of the layer blobs (what decompressing them costs one core: skopeo copies compressed bytes and
never pays it), and,
with ``--baseline-src DIR``, the registry run of another tree's ``src`` (an A/B of a change).

Medians of wall time, CPU time (the command and every process it waited for) and peak memory (the
proportional set size of the process tree), as ``bench/sbom_bench.py`` prints its rows; the ratio is
alpinist's median wall over skopeo's. Whole invocations are timed, interpreter start-up included.
Not part of CI: ``.venv/bin/python bench/registry_bench.py [--repeat 5] [--image NAME]
[--baseline-src DIR] [--images DIR] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import manyfiles  # noqa: E402 - a sibling script
from sbom_bench import Run, compile_sources, layer_blobs, measured, med, row  # noqa: E402 - a sibling script

from tests.registry_server import CORPUS_OCI, RunningRegistry, start_registry  # noqa: E402


def skopeo(workdir: Path, *args: str) -> list[str]:
    """``skopeo`` with the bench's accept-anything policy (the images are the bench's own)."""
    policy = workdir / "policy.json"
    if not policy.exists():
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    return ["skopeo", "--policy", str(policy), "copy", "--quiet", *args]


def push(registry: RunningRegistry, layout: Path, tag: str, repository: str) -> str:
    """``skopeo copy oci:LAYOUT:TAG docker://HOST/REPOSITORY:TAG``; returns ``HOST/REPOSITORY:TAG``."""
    image_tag = tag.partition(":")[2]
    target = f"{registry.host}/{repository}:{image_tag}"
    subprocess.run(
        skopeo(registry.workdir, "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{target}"),
        check=True,
        timeout=600,
        env=skopeo_env(registry.workdir),
    )
    return target


def skopeo_env(workdir: Path) -> dict[str, str]:
    """No auth file of the user's leaks in; skopeo's blob-info cache stays in the bench's directory."""
    return dict(
        os.environ,
        REGISTRY_AUTH_FILE=str(workdir / "skopeo-auth.json"),
        DOCKER_CONFIG=str(workdir / "skopeo-docker"),
        XDG_DATA_HOME=str(workdir / "skopeo-data"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--image", action="append", help="python-app:debian, manyfiles (default: both)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--images", type=Path, default=manyfiles.DEFAULT_OUT, help="where manyfiles.ensure() keeps its image"
    )
    parser.add_argument("--baseline-src", type=Path, help="also time the registry run of this src tree")
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        raise SystemExit("bench: skopeo is needed")
    tmp = Path(tempfile.mkdtemp(prefix="alpinist-registry-bench-"))
    registry = start_registry(tmp / "registry")
    results: list[dict[str, object]] = []
    try:
        images: dict[str, tuple[str, str]] = {}  # name -> (registry reference, oci: reference)
        layouts: dict[str, tuple[Path, str]] = {}  # name -> (its OCI layout, its tag there)
        wanted = set(args.image or ["python-app:debian", "manyfiles"])
        if "python-app:debian" in wanted:
            tag = "python-app:debian"
            images[tag] = (push(registry, CORPUS_OCI, tag, "library/python-app"), f"oci:{CORPUS_OCI}:{tag}")
            layouts[tag] = (CORPUS_OCI, tag)
        if "manyfiles" in wanted:
            layout = manyfiles.ensure(args.images) / "oci"
            images["manyfiles"] = (
                push(registry, layout, manyfiles.TAG, "bench/manyfiles"),
                f"oci:{layout}:{manyfiles.TAG}",
            )
            layouts["manyfiles"] = (layout, manyfiles.TAG)
        print(f"{os.cpu_count()} CPUs; {args.repeat} runs each; load {os.getloadavg()[0]:.2f}", flush=True)
        srcs = {"this": ROOT / "src"}
        if args.baseline_src is not None:
            srcs["baseline"] = args.baseline_src.resolve()
        compile_sources(*srcs.values())

        def sbom(src: Path, ref: str, i: int) -> Run:
            cache = tmp / f"cache-{i}"
            env = dict(os.environ, ALPINIST_CACHE_DIR=str(cache), PYTHONPATH=str(src))
            env.pop("ALPINIST_TIMEOUT", None)
            cmd = [sys.executable, "-m", "alpinist.cli", "sbom", ref, "--format", "json", "--no-cache"]
            try:
                return measured(cmd, env)
            finally:
                shutil.rmtree(cache, ignore_errors=True)

        for name, (ref, local) in images.items():
            print(f"{name}: {ref}", flush=True)
            copies: list[Run] = []
            gunzips: list[Run] = []
            blobs = " ".join(str(b) for b in layer_blobs(*layouts[name]))
            runs: dict[str, list[Run]] = {label: [] for label in (*srcs, "oci")}
            for i in range(args.repeat):
                out = tmp / f"copy-{name.replace(':', '_')}-{i}"
                copy = skopeo(
                    registry.workdir,
                    "--src-tls-verify=false",
                    f"docker://{ref}",
                    f"oci:{out}:{ref.rpartition(':')[2]}",
                )
                copies.append(measured(copy, skopeo_env(registry.workdir)))
                shutil.rmtree(out, ignore_errors=True)
                for label, src in srcs.items():
                    runs[label].append(sbom(src, ref, i))
                runs["oci"].append(sbom(ROOT / "src", local, i))
                # what any reader that decompresses the layers must spend on one core, network aside
                gunzips.append(measured(f"gzip -dc {blobs} > /dev/null", shell=True))
            row(results, name, "skopeo copy docker:// -> oci:", copies)
            row(results, name, "alpinist sbom registry (cold cache)", runs["this"], copies, "skopeo copy")
            ratio = med(runs["this"], "wall") / med(copies, "wall")
            print(f"  {'':<42} {ratio:.2f}× skopeo copy (goal ≤ 1.10×)")
            if "baseline" in runs:
                row(results, name, "  the same, --baseline-src", runs["baseline"], copies, "skopeo copy")
            row(results, name, "alpinist sbom oci: (local layout, cold)", runs["oci"], copies, "skopeo copy")
            row(results, name, "gzip -dc of the layer blobs (one core)", gunzips, copies, "skopeo copy")
        print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
