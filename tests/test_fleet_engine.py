"""The fleet engines (alpinist.fleet.engine): every behaviour on the local process pool and on a real Dask
cluster (tests/dask_cluster.py: a scheduler and two workers as subprocesses on 127.0.0.1). The task
functions are in tests/fleet_tasks.py, which the worker processes import."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import pytest

from alpinist.errors import EngineError
from alpinist.fleet.engine import Done, Engine, Failed, open_engine
from tests import fleet_tasks
from tests.dask_cluster import SRC, DaskCluster, start_dask_cluster

KINDS = ["local", "dask"]


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A two-worker engine of each kind: a local pool, and a client of the session's Dask cluster."""
    if request.param == "local":
        opened = open_engine("local", workers=2)
    else:
        cluster: DaskCluster = request.getfixturevalue("dask_cluster")
        cluster.wait_for_workers(2)  # a test that killed a worker leaves it to its nanny to bring back
        opened = open_engine("dask", scheduler=cluster.address, connect_timeout=30)
    with opened:
        yield opened


def _by_index(events: Iterator[Done[Any] | Failed]) -> dict[int, Done[Any] | Failed]:
    seen: dict[int, Done[Any] | Failed] = {}
    for event in events:
        assert event.index not in seen, f"item {event.index} came back twice: {seen[event.index]} and {event}"
        seen[event.index] = event
    return seen


def test_every_item_comes_back_once_with_its_value(engine: Engine) -> None:
    """Twenty items: twenty Done, one per index, each with fn(item); the engine says what it is."""
    events = _by_index(engine.run(fleet_tasks.square, range(20)))
    assert events == {i: Done(i, i * i) for i in range(20)}
    assert engine.workers == 2
    if engine.description.startswith("local"):
        assert engine.description == "local (2 processes)"
    else:
        assert engine.description.startswith("dask tcp://127.0.0.1:")
        assert engine.description.endswith(" (2 workers)")


def test_a_raising_item_is_failed_with_its_message_and_the_others_are_done(engine: Engine) -> None:
    """The exception of one item is its Failed (type and message on one line); the rest are Done."""
    events = _by_index(engine.run(fleet_tasks.raise_on_bad, range(8)))
    assert events[fleet_tasks.BAD] == Failed(fleet_tasks.BAD, "ValueError: item 3 is bad")
    assert {i: e for i, e in events.items() if i != fleet_tasks.BAD} == {
        i: Done(i, i * i) for i in range(8) if i != fleet_tasks.BAD
    }


@pytest.mark.parametrize(
    ("task", "local_error"),
    [
        (fleet_tasks.exit_on_bad, "worker process died (exit code 3)"),
        (fleet_tasks.sigkill_on_bad, "worker process died (killed by SIGKILL; out of memory?)"),
    ],
    ids=["os._exit", "SIGKILL"],
)
def test_an_item_that_kills_its_worker_is_failed_and_the_rest_still_finish(
    engine: Engine, request: pytest.FixtureRequest, task: Any, local_error: str
) -> None:
    """The item whose worker process dies under it is Failed ("worker process died (...)"); the items that
    ran beside it or waited behind it are Done, each once. Local: the pool is rebuilt and the exit status is
    named; Dask: KilledWorker (the test scheduler allows 0 retries), then the suspects run alone."""
    events = _by_index(engine.run(task, range(10)))
    bad = events[fleet_tasks.BAD]
    assert isinstance(bad, Failed)
    if engine.description.startswith("local"):
        assert bad.error == local_error
    else:
        assert bad.error.startswith("worker process died (KilledWorker: "), bad.error
    assert {i: e for i, e in events.items() if i != fleet_tasks.BAD} == {
        i: Done(i, i * i) for i in range(10) if i != fleet_tasks.BAD
    }
    if not engine.description.startswith("local"):
        cluster: DaskCluster = request.getfixturevalue("dask_cluster")
        cluster.wait_for_workers(2)


def test_the_local_engine_runs_again_after_a_worker_died() -> None:
    """The pool rebuilt after a death serves the next run of the same engine too."""
    with open_engine("local", workers=2) as engine:
        first = _by_index(engine.run(fleet_tasks.exit_on_bad, range(5)))
        assert isinstance(first[fleet_tasks.BAD], Failed)
        assert _by_index(engine.run(fleet_tasks.square, range(5))) == {i: Done(i, i * i) for i in range(5)}


class WatchedItems(Sequence[int]):
    """Items 0..n-1 that record which ones the engine has taken (an engine reads an item when it submits
    it: a sequence of stored SBOMs loads each one then)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.taken: set[int] = set()

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            raise TypeError("the engine takes items one by one")
        if not 0 <= index < self.n:
            raise IndexError(index)
        self.taken.add(index)
        return index


def test_at_most_twice_the_workers_are_in_flight(engine: Engine) -> None:
    """Items taken from the input and not yet given back never exceed 2 × workers (4), and do reach it:
    40 items are never all handed to the pool or the scheduler at once."""
    items = WatchedItems(40)
    returned: set[int] = set()
    most = 0
    for event in engine.run(fleet_tasks.slow_square, items):
        in_flight = len(items.taken - returned)
        most = max(most, in_flight)
        assert in_flight <= 2 * engine.workers, f"{in_flight} items in flight with {engine.workers} workers"
        returned.add(event.index)
        assert event == Done(event.index, event.index**2)
    assert returned == set(range(40))
    assert most == 2 * engine.workers


def _started(directory: Path) -> dict[int, int]:
    return {int(p.name.split("-")[1]): int(p.read_text() or 0) for p in directory.glob("started-*")}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_closing_the_iterator_early_cancels_what_is_in_flight(engine: Engine, tmp_path: Path) -> None:
    """After the first result the run is closed while two items hold both workers and more wait in flight:
    no item starts after close (the waiting ones are cancelled), and the local engine ends the two running
    ones too (their processes are gone, they never finish). Dask cannot stop a running task; it only
    finishes."""
    items = [(str(tmp_path), n) for n in range(10)]
    run = engine.run(fleet_tasks.hold, items)
    assert next(run) == Done(0, 0)
    _wait_until(lambda: len(_started(tmp_path)) == 3, "both workers to hold an item")
    before = _started(tmp_path)
    run.close()
    (tmp_path / "go").write_text("")
    holding = [n for n in before if n != 0]
    if engine.description.startswith("local"):
        assert not any(_alive(before[n]) for n in holding), "a worker of the closed run still runs"
    else:
        _wait_until(
            lambda: all((tmp_path / f"finished-{n}").exists() for n in holding), "the held items to end"
        )
    time.sleep(1.0)  # a worker freed by the held items would start a waiting item within this
    assert set(_started(tmp_path)) == set(before)
    if engine.description.startswith("local"):
        assert not list(tmp_path.glob("finished-*"))


def test_an_item_that_cannot_be_sent_is_failed_alone(engine: Engine) -> None:
    """An unpicklable item (a lock) is Failed naming the reason; the others run."""
    items: list[Any] = [1, threading.Lock(), 3]
    events = _by_index(engine.run(fleet_tasks.square, items))
    assert events[0] == Done(0, 1) and events[2] == Done(2, 9)
    failed = events[1]
    assert isinstance(failed, Failed)
    assert failed.error == "cannot send the item to a worker: TypeError: cannot pickle '_thread.lock' object"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_an_engine_error_within_the_timeout() -> None:
    """A closed port on 127.0.0.1: EngineError "cannot reach the Dask scheduler at ADDRESS: ..." after the
    connect timeout (the call returns; a guard thread turns a hang into a failure)."""
    address = f"tcp://127.0.0.1:{_closed_port()}"
    outcome: list[BaseException | Engine] = []

    def connect() -> None:
        try:
            outcome.append(open_engine("dask", scheduler=address, connect_timeout=2))
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(60)
    assert outcome, "open_engine did not return within 60 s with a 2 s connect timeout"
    error = outcome[0]
    assert isinstance(error, EngineError), error
    assert str(error).startswith(f"cannot reach the Dask scheduler at {address}: "), str(error)
    assert error.exit_code == 1


def test_a_scheduler_without_workers_is_an_engine_error(tmp_path: Path) -> None:
    """A real scheduler with no worker: EngineError naming it and how to start one, after worker_timeout, instead
    of a run that waits for ever."""
    with start_dask_cluster(tmp_path, workers=0) as cluster, pytest.raises(EngineError) as refused:
        open_engine("dask", scheduler=cluster.address, worker_timeout=1)
    assert str(refused.value) == (
        f"the Dask scheduler at {cluster.address} has no worker (waited 1 s): start "
        f"`dask worker {cluster.address}` where alpinist and the advisory database are"
    )


def test_losing_the_scheduler_mid_run_is_an_engine_error(tmp_path: Path) -> None:
    """A scheduler killed while items are in flight (its own cluster, one worker): the run ends with
    EngineError "lost the Dask scheduler at ADDRESS" instead of waiting for ever."""
    work = tmp_path / "work"
    work.mkdir()
    with (
        start_dask_cluster(tmp_path, workers=1) as cluster,
        open_engine("dask", scheduler=cluster.address, connect_timeout=2) as engine,
    ):
        run = engine.run(fleet_tasks.hold, [(str(work), n) for n in range(6)])
        assert next(run) == Done(0, 0)
        os.kill(cluster.scheduler_pid, signal.SIGKILL)
        with pytest.raises(EngineError) as caught:
            next(run)
        assert str(caught.value) == f"lost the Dask scheduler at {cluster.address}"
        (work / "go").write_text("")


def test_the_dask_engine_without_distributed_says_how_to_install_it(tmp_path: Path) -> None:
    """In a bare venv (no distributed, no dask), open_engine("dask") is an EngineError naming the extra;
    the module itself imports without it."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = (
        "from alpinist.errors import EngineError\n"
        "from alpinist.fleet.engine import open_engine\n"
        "try:\n    open_engine('dask')\nexcept EngineError as e:\n    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("the dask engine needs distributed (pip install 'alpinist[fleet]'): "), out
    assert "ModuleNotFoundError" in out.stdout


def test_the_dask_engine_starts_its_own_local_cluster_without_a_scheduler() -> None:
    """No scheduler address: a local cluster of `workers` single-threaded processes on 127.0.0.1, closed
    with the engine."""
    with open_engine("dask", workers=1) as engine:
        assert engine.description.startswith("dask local cluster tcp://127.0.0.1:")
        assert engine.description.endswith(" (1 worker)")
        assert engine.workers == 1
        assert _by_index(engine.run(fleet_tasks.raise_on_bad, range(5)))[3] == Failed(
            3, "ValueError: item 3 is bad"
        )


def test_the_local_engine_defaults_to_one_process_per_cpu() -> None:
    """open_engine("local") without workers has os.cpu_count() processes; a scheduler is refused."""
    with open_engine("local") as engine:
        assert engine.workers == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="scheduler address is for the dask engine"):
        open_engine("local", scheduler="tcp://127.0.0.1:8786")
