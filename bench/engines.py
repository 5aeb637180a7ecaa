"""Dask against Ray as the engine of ``alpinist fleet`` (issue 16), measured on this machine in one run.

One command: ``python3 bench/engines.py [--repeat 3] [--workers 1,2] [--json FILE]``. It creates (once) the
venv ``bench/.engines-venv`` (ignored by git) with ``pip install 'dask[distributed]' ray`` and alpinist's
own dependencies from PyPI, then runs itself there with this tree's ``src`` (and ``bench``, for the task
functions) on PYTHONPATH. For each engine and each worker count (1 and 2 processes, one thread each):

(a) per-task overhead: 2,000 no-op tasks, and 200 tasks each returning ~200 kB (a list of ``FindingRef``,
    what one image's findings weigh pickled), all submitted at once and gathered, wall time divided by the
    task count; for Dask also through alpinist's own ``DaskEngine.run`` (at most 2 × workers in flight, a
    Dask Event checked at each task start) and, for reference, the local process pool (``LocalEngine``);
(b) memory: the proportional set size (``Pss`` of ``/proc/PID/smaps_rollup``) of each worker process when
    idle (after one no-op task each) and after a task on each worker imports alpinist's scan stack; the
    other processes of the engine (Dask scheduler and nanny host; Ray's GCS, raylet and agents) summed
    apart. Dask is measured here as deployed on a cluster: ``dask scheduler`` and ``dask worker --nworkers
    N`` as processes;
(c) install size: the files (RECORD, plus their ``.pyc``) of each engine's distributions and of their own
    dependencies, transitively, in the venv (so on top of a bare venv; shared dependencies count for each);
(d) start-up: a local cluster (Dask ``LocalCluster`` + ``Client``; Ray ``ray.init``) until it returns, and
    until one no-op task per worker came back.

Times are medians of ``--repeat`` runs (start-up: ``--repeat`` fresh clusters); memory is one sample per
process. Ray may fail on a small machine: the error is recorded and the rest measured.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".engines-venv"
ENGINE_PACKAGES = ["dask[distributed]", "ray"]
PYPROJECT = ROOT / "pyproject.toml"


# ---------------------------------------------------------------------------------------------------------
# task functions (module-level: the workers import this module as ``engines``)


def noop(x: int) -> int:
    return x


_FINDINGS: list[Any] = []


def findings(x: int) -> list[Any]:
    """~200 kB pickled: what the findings of one image weigh (built once per worker process)."""
    if not _FINDINGS:
        from alpinist.scan.model import FindingRef

        n = 0
        while True:
            batch = [
                FindingRef(f"CVE-2024-{n + i:05d}", "deb", f"libpackage{(n + i) % 97}", f"1.{(n + i) % 13}.{i}-1+deb12u1",
                           "HIGH", f"1.{(n + i) % 13}.{i}-2", "affected")
                for i in range(100)
            ]
            _FINDINGS.extend(batch)
            n += 100
            if len(pickle.dumps(_FINDINGS)) >= 200_000:
                break
    return list(_FINDINGS)


SCAN_STACK = (
    "alpinist.images.open",
    "alpinist.inventory.build",
    "alpinist.inventory.serialize",
    "alpinist.advisories.store",
    "alpinist.scan.scanning",
    "alpinist.scan.policy",
)


def import_scan_stack(_: int = 0) -> int:
    import importlib

    for name in SCAN_STACK:
        importlib.import_module(name)
    time.sleep(1.0)  # holds the worker: the next task goes to another one
    return os.getpid()


def pid(_: int = 0) -> int:
    time.sleep(0.5)
    return os.getpid()


# ---------------------------------------------------------------------------------------------------------
# measuring


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss for {pid}")


def tree(pids: Iterable[int]) -> list[Any]:
    import psutil

    out: dict[int, Any] = {}
    for p in pids:
        try:
            root = psutil.Process(p)
        except psutil.NoSuchProcess:
            continue
        for proc in [root, *root.children(recursive=True)]:
            out[proc.pid] = proc
    return list(out.values())


def is_ray_worker(proc: Any) -> bool:
    name: str = proc.name()
    return name.startswith("ray::") and not name.endswith("Agent")  # ray::IDLE, ray::noop; not the agents


def describe(proc: Any) -> str:
    if proc.name() in ("gcs_server", "raylet") or proc.name().startswith("ray::"):
        return str(proc.name())
    try:
        cmd = " ".join(proc.cmdline())
    except Exception:
        cmd = proc.name()
    for marker in ("log_monitor", "monitor.py", "dashboard.py", "dask_scheduler", "dask_worker", "resource_tracker",
                   "forkserver"):
        if marker in cmd:
            return marker
    return proc.name()


def med(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def overheads(submit_all: Callable[[Callable[[int], Any], int], Any], repeat: int) -> dict[str, float]:
    """ms per task: 2,000 no-ops, 200 × ~200 kB results."""
    import engines  # the functions by this name, so that the workers import them (not __main__'s, by value)

    submit_all(engines.noop, 20)  # warm: functions imported once, the result list built once per worker
    submit_all(engines.findings, 8)
    noop_s = [timed(lambda: submit_all(engines.noop, 2000)) / 2000 * 1000 for _ in range(repeat)]
    big_s = [timed(lambda: submit_all(engines.findings, 200)) / 200 * 1000 for _ in range(repeat)]
    return {"noop_ms_per_task": med(noop_s), "result_200kB_ms_per_task": med(big_s),
            "noop_runs_ms": noop_s, "result_200kB_runs_ms": big_s}


def memory(worker_pids: list[int], system: list[Any]) -> dict[str, Any]:
    workers = {p: pss_kib(p) for p in worker_pids}
    others = {f"{describe(p)} ({p.pid})": pss_kib(p.pid) for p in system if p.pid not in workers and p.is_running()}
    return {"worker_pss_mib": [round(v / 1024, 1) for v in workers.values()],
            "worker_pss_mib_median": round(med(list(workers.values())) / 1024, 1),
            "other_processes_pss_mib": {k: round(v / 1024, 1) for k, v in sorted(others.items())},
            "other_processes_pss_mib_total": round(sum(others.values()) / 1024, 1)}


# ---------------------------------------------------------------------------------------------------------
# Dask


def dask_rows(workers: int, repeat: int) -> dict[str, Any]:
    import engines  # this module, by the name the workers import it under
    from distributed import Client, LocalCluster

    from alpinist.fleet.engine import Done, open_engine

    row: dict[str, Any] = {"engine": "dask", "workers": workers}
    starts, ready = [], []
    cluster = client = None
    for r in range(repeat):
        t = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=50,
                               scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        client = Client(cluster, set_as_default=False)
        client.wait_for_workers(workers)
        starts.append(time.perf_counter() - t)
        client.gather(client.map(engines.noop, range(workers), pure=False))
        ready.append(time.perf_counter() - t)
        if r < repeat - 1:
            client.close()
            cluster.close()
    row["start_s"] = med(starts)
    row["start_until_tasks_s"] = med(ready)
    row["start_runs_s"] = starts
    assert client is not None and cluster is not None

    def raw(fn: Callable[[int], Any], n: int) -> None:
        client.gather(client.map(fn, range(n), pure=False))

    row["raw"] = overheads(raw, repeat)
    with open_engine("dask", scheduler=cluster.scheduler_address) as engine:
        def bounded(fn: Callable[[int], Any], n: int) -> None:
            for event in engine.run(fn, range(n)):
                assert isinstance(event, Done), event

        row["alpinist_engine"] = overheads(bounded, repeat)
    client.close()
    cluster.close()
    row["memory"] = dask_memory(workers)
    return row


def dask_memory(workers: int) -> dict[str, Any]:
    import tempfile

    import engines
    from distributed import Client

    with tempfile.TemporaryDirectory() as tmp:
        sched_file = Path(tmp) / "scheduler.json"
        env = dict(os.environ)
        procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--scheduler-file", str(sched_file), "--no-dashboard",
                                   "--dashboard-address", "127.0.0.1:0"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            while not sched_file.exists():
                time.sleep(0.1)
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                           str(sched_file), "--nworkers", str(workers), "--nthreads", "1",
                                           "--host", "127.0.0.1", "--no-dashboard"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with Client(scheduler_file=str(sched_file), set_as_default=False) as client:
                client.wait_for_workers(workers)
                client.gather(client.map(engines.noop, range(workers * 4), pure=False))
                worker_pids = list(client.run(os.getpid).values())
                time.sleep(1.0)
                system = tree([p.pid for p in procs])
                idle = memory(worker_pids, system)
                ran_on = set(client.gather(client.map(engines.import_scan_stack, range(workers), pure=False)))
                client.run(engines.import_scan_stack)  # every worker, whichever ran the tasks
                loaded = memory(worker_pids, tree([p.pid for p in procs]))
                return {"idle": idle, "after_scan_imports": loaded, "tasks_ran_on_distinct_workers": len(ran_on)}
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                p.wait(30)


# ---------------------------------------------------------------------------------------------------------
# Ray


def ray_rows(workers: int, repeat: int) -> dict[str, Any]:
    import engines
    import ray

    row: dict[str, Any] = {"engine": "ray", "workers": workers}
    before = {p.pid for p in tree([os.getpid()])}  # this process and its children of the other benches
    starts, ready = [], []
    remote_noop = remote_findings = None
    for r in range(repeat):
        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        starts.append(time.perf_counter() - t)
        remote_noop = ray.remote(num_cpus=1)(engines.noop)
        ray.get([remote_noop.remote(i) for i in range(workers)])
        ready.append(time.perf_counter() - t)
        if r < repeat - 1:
            ray.shutdown()
    row["start_s"] = med(starts)
    row["start_until_tasks_s"] = med(ready)
    row["start_runs_s"] = starts
    remote_findings = ray.remote(num_cpus=1)(engines.findings)
    remotes = {engines.noop: remote_noop, engines.findings: remote_findings}

    def raw(fn: Callable[[int], Any], n: int) -> None:
        remote = remotes[fn]
        assert remote is not None
        ray.get([remote.remote(i) for i in range(n)])

    row["raw"] = overheads(raw, repeat)
    row["memory"] = ray_memory(workers, engines, before)
    ray.shutdown()
    return row


def ray_memory(workers: int, engines: Any, before: set[int]) -> dict[str, Any]:
    import ray

    remote_pid = ray.remote(num_cpus=1)(engines.pid)
    remote_import = ray.remote(num_cpus=1)(engines.import_scan_stack)
    used = set(ray.get([remote_pid.remote() for _ in range(workers)]))
    time.sleep(1.0)
    system = [p for p in tree([os.getpid()]) if p.pid not in before]
    worker_pids = [p.pid for p in system if is_ray_worker(p)]
    idle = memory(worker_pids, system)
    idle["workers_running_tasks"] = len(used)
    ran_on = set(ray.get([remote_import.remote() for _ in range(workers)]))
    system = [p for p in tree([os.getpid()]) if p.pid not in before]
    worker_pids = [p.pid for p in system if is_ray_worker(p)]
    loaded = memory([p for p in worker_pids if p in ran_on], [p for p in system if p.pid not in set(worker_pids) - ran_on])
    loaded["idle_workers_left_out"] = len(set(worker_pids) - ran_on)
    return {"idle": idle, "after_scan_imports": loaded, "tasks_ran_on_distinct_workers": len(ran_on)}


# ---------------------------------------------------------------------------------------------------------
# the local engine, for reference


def local_rows(workers: int, repeat: int) -> dict[str, Any]:
    from alpinist.fleet.engine import Done, open_engine

    row: dict[str, Any] = {"engine": "alpinist local (process pool)", "workers": workers}
    with open_engine("local", workers=workers) as engine:
        def bounded(fn: Callable[[int], Any], n: int) -> None:
            for event in engine.run(fn, range(n)):
                assert isinstance(event, Done), event

        row["alpinist_engine"] = overheads(bounded, repeat)
    return row


# ---------------------------------------------------------------------------------------------------------
# install size


def install_sizes() -> dict[str, Any]:
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}

    def closure(root: str) -> set[str]:
        seen: set[str] = set()
        todo = [Requirement(root)]
        while todo:
            req = todo.pop()
            name = canonicalize_name(req.name)
            extras = req.extras
            if name not in dists:
                continue
            first = name not in seen
            seen.add(name)
            for spec in dists[name].requires or []:
                sub = Requirement(spec)
                if sub.marker is None:
                    wanted = first
                else:
                    wanted = (first and sub.marker.evaluate({"extra": ""})) or any(
                        sub.marker.evaluate({"extra": e}) for e in extras
                    )
                if wanted:
                    todo.append(sub)
        return seen

    def size(name: str) -> int:
        total = 0
        dist = dists[name]
        paths = {Path(str(dist.locate_file(f))) for f in dist.files or []}
        for path in paths:
            if path.is_file():
                total += path.stat().st_size
                if path.suffix == ".py":  # the .pyc compiled at install time, when RECORD does not list it
                    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                        if pyc not in paths:
                            total += pyc.stat().st_size
        return total

    out: dict[str, Any] = {}
    for root in ENGINE_PACKAGES:
        names = sorted(closure(root))
        sizes = {n: round(size(n) / 2**20, 1) for n in names}
        out[root] = {"mib": round(sum(sizes.values()), 1), "distributions": len(names),
                     "largest": dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:6])}
    return out


# ---------------------------------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Re-runs this script in bench/.engines-venv (created and filled on first use)."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        import tomllib

        deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ENGINE_PACKAGES, *deps], check=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")])
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]], env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--engine", action="append", choices=["dask", "ray", "local"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_venv()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")])  # for the workers
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]
    import dask
    import distributed

    versions: dict[str, str] = {"python": platform.python_version(), "dask": dask.__version__,
                                "distributed": distributed.__version__}
    try:
        import ray

        versions["ray"] = ray.__version__
    except Exception as e:
        versions["ray"] = f"import failed: {e}"
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_at_start": os.getloadavg(), "platform": platform.platform()},
        "versions": versions, "repeat": args.repeat, "rows": [], "errors": [],
    }
    result["install"] = install_sizes()
    print(json.dumps(result["install"], indent=1), flush=True)
    benches = {"dask": dask_rows, "ray": ray_rows, "local": local_rows}
    for workers in [int(w) for w in args.workers.split(",")]:
        for name in args.engine or ["dask", "ray", "local"]:
            try:
                row = benches[name](workers, args.repeat)
            except Exception as e:
                result["errors"].append({"engine": name, "workers": workers, "error": f"{type(e).__name__}: {e}"})
                print(f"{name} ({workers} workers) failed: {type(e).__name__}: {e}", flush=True)
                continue
            result["rows"].append(row)
            print(json.dumps(row, indent=1), flush=True)
    result["machine"]["load_at_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
