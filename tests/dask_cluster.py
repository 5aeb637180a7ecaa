"""A real Dask cluster for the tests: one scheduler and two single-threaded workers, each its own process
(``python -m distributed.cli.dask_scheduler`` / ``dask_worker`` of the running interpreter), on 127.0.0.1.

The workers import alpinist from the same ``src`` as the tests (the directory this process imported it from)
and the test helpers from the repository root (``tests.fleet_tasks``): both go first on their PYTHONPATH.

The scheduler runs with ``distributed.scheduler.allowed-failures`` at 0 (``DASK_DISTRIBUTED__SCHEDULER__
ALLOWED_FAILURES=0`` in its environment): a task whose worker dies is KilledWorker at once instead of after
three more workers died under it (each of them restarted by its nanny, seconds apiece). The engine's answer
to KilledWorker does not depend on it: it runs the item again alone to tell the culprit from bystanders.

``start_dask_cluster(directory)`` is a context manager; the ``dask_cluster`` fixture (session scope) is in
``tests/conftest.py``. The processes' output goes to ``directory/*.log`` (shown when the cluster does not
come up).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import alpinist

REPO = Path(__file__).resolve().parent.parent
SRC = Path(alpinist.__file__).resolve().parent.parent
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class DaskCluster:
    address: str  # tcp://127.0.0.1:PORT
    scheduler_file: Path
    directory: Path
    scheduler_pid: int  # a test that loses the scheduler kills it (it leads a process group of its own)

    def wait_for_workers(self, count: int = 2, timeout: float = START_TIMEOUT) -> None:
        """Returns once the scheduler has ``count`` workers (a worker killed by a test comes back through
        its nanny)."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(count, timeout=timeout)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in sorted(self.directory.glob("*.log"))
        )


def worker_environment() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(SRC), str(REPO)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    return env


def _start(command: list[str], log: IO[bytes], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    # a session of its own: the worker's nanny and its worker process are ended together at teardown
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)


@contextlib.contextmanager
def start_dask_cluster(directory: Path, workers: int = 2) -> Iterator[DaskCluster]:
    scheduler_file = directory / "scheduler.json"
    env = worker_environment()
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    try:
        log: IO[bytes] = open(directory / "scheduler.log", "wb")  # noqa: SIM115 (closed in finally)
        logs.append(log)
        processes.append(
            _start(
                [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                 "--scheduler-file", str(scheduler_file), "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                log, env, directory,
            )
        )
        address = _wait_for_address(scheduler_file, processes[0], directory)
        for n in range(workers):
            log = open(directory / f"worker-{n}.log", "wb")  # noqa: SIM115 (closed in finally)
            logs.append(log)
            processes.append(
                _start(
                    [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                     "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{n}"],
                    log, env, directory,
                )
            )
        cluster = DaskCluster(address, scheduler_file, directory, processes[0].pid)
        try:
            if workers:  # a scheduler alone (workers=0) is a cluster a test wants empty
                cluster.wait_for_workers(workers)
        except Exception as e:
            raise RuntimeError(f"the Dask workers did not come up: {e}\n{cluster.logs()}") from e
        yield cluster
    finally:
        _stop(list(reversed(processes)))  # workers first, then the scheduler
        for log in logs:
            log.close()


def _wait_for_address(scheduler_file: Path, scheduler: subprocess.Popen[bytes], directory: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            break
        with contextlib.suppress(OSError, ValueError):
            info: dict[str, Any] = json.loads(scheduler_file.read_text())
            if info.get("address"):
                return str(info["address"])
        time.sleep(0.1)
    log = (directory / "scheduler.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the Dask scheduler did not start (exit status {scheduler.poll()}):\n{log}")
