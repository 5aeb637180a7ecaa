"""Where fleet tasks run: a local process pool or a Dask cluster, behind one small interface.

``open_engine(kind, ...)`` gives an :class:`Engine`; ``engine.run(fn, items)`` yields one :class:`Done` or
:class:`Failed` per item, in completion order. Both engines share the driver (:func:`_drive`): it keeps at most
``2 × workers`` items in flight (items are read from the sequence only when they are submitted, so a lazy
sequence of stored SBOMs is never all in memory or in a scheduler), cancels what is in flight when the
iterator is closed, and deals with a worker that dies under an item. When the engine cannot tell which of the
items that were running killed their worker, each of them runs again alone ("solo"): an item whose worker
dies while it runs alone is the one, and is :class:`Failed`; the others finish normally. A Ray engine would be
one more backend class (``submit``/``wait``/``cancel``) and one more branch of :func:`open_engine`.

``distributed`` is imported only for ``kind="dask"`` (it is in the optional ``fleet`` extra).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

from alpinist.errors import EngineError

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'alpinist[fleet]'"
IN_FLIGHT_PER_WORKER = 2
_BARREN_BREAKS = 3  # the local pool broke this many times in a row before any item started: give up


@dataclass(frozen=True)
class Done(Generic[R]):
    """Item ``index`` of the input finished; ``value`` is what the function returned."""

    index: int
    value: R


@dataclass(frozen=True)
class Failed:
    """Item ``index`` raised (``error``: one line, type and message) or its worker process died."""

    index: int
    error: str


class Engine(Protocol):
    """Runs a module-level function over items on worker processes. A context manager (``close`` on exit)."""

    description: str  # "local (2 processes)", "dask tcp://127.0.0.1:8786 (2 workers)"
    workers: int  # parallel task slots (worker processes, or Dask worker threads)

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Done[R] | Failed, None, None]:
        """Every item exactly once, in completion order. ``fn`` must be a module-level function, items and
        results picklable; at most ``2 × workers`` items in flight; closing the iterator cancels them."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def open_engine(
    kind: Literal["local", "dask"],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    worker_timeout: float = 60.0,
) -> Engine:
    """``local``: a process pool of ``workers`` processes (default: the CPU count). ``dask``: a client of the
    scheduler at ``scheduler`` (``tcp://HOST:PORT``), or of a local cluster of ``workers`` single-threaded
    worker processes on 127.0.0.1 when no scheduler is given. Raises :class:`EngineError` when the engine
    cannot start, the scheduler cannot be reached within ``connect_timeout`` seconds, or it has no worker
    after ``worker_timeout`` seconds (a run would wait for ever)."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if kind == "local":
        if scheduler is not None:
            raise ValueError("a scheduler address is for the dask engine, not the local one")
        return LocalEngine(workers or os.cpu_count() or 1)
    if kind == "dask":
        return DaskEngine(
            workers=workers,
            scheduler=scheduler,
            connect_timeout=connect_timeout,
            worker_timeout=worker_timeout,
        )
    raise ValueError(f"unknown engine {kind!r}: local or dask")


# ---------------------------------------------------------------------------------------------------------
# the driver, shared by the engines


@dataclass(frozen=True)
class _Again:
    """Item ``index`` did not start (or was only a bystander when a worker died): run it again."""

    index: int


@dataclass(frozen=True)
class _Died:
    """The worker process running item ``index`` died, but the item may have been a bystander."""

    index: int
    reason: str


_Event = Done[Any] | Failed | _Again | _Died


class _Backend(Protocol):
    def submit(self, index: int) -> None: ...

    def wait(self) -> list[_Event]:
        """Blocks until at least one submitted item has an event; an item has exactly one per submission."""
        ...

    def cancel(self) -> None:
        """Drops everything in flight: none of it starts any more."""
        ...


def _drive(count: int, bound: int, backend: _Backend) -> Generator[Done[Any] | Failed, None, None]:
    fresh = iter(range(count))
    again: deque[int] = deque()
    suspects: deque[int] = deque()  # their worker died while they ran with others: each runs again alone
    in_flight: set[int] = set()
    solo: int | None = None
    try:
        while True:
            if suspects:
                if not in_flight:
                    solo = suspects.popleft()
                    backend.submit(solo)
                    in_flight.add(solo)
            else:
                while len(in_flight) < bound:
                    index = again.popleft() if again else next(fresh, None)
                    if index is None:
                        break
                    backend.submit(index)
                    in_flight.add(index)
            if not in_flight:
                return
            for event in backend.wait():
                in_flight.discard(event.index)
                if isinstance(event, _Again):
                    again.append(event.index)
                elif isinstance(event, _Died):
                    if event.index == solo:
                        yield Failed(event.index, f"worker process died ({event.reason})")
                    else:
                        suspects.append(event.index)
                else:
                    yield event
            if solo is not None and solo not in in_flight:
                solo = None
    finally:
        if in_flight:
            backend.cancel()


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line (the message's whitespace runs folded to single spaces)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _outcome(fn: Callable[[Any], Any], item: Any) -> tuple[bool, Any]:
    """(True, value) or (False, one line): an exception never crosses to the parent as an object (some do
    not unpickle, and an unpicklable one breaks a process pool)."""
    try:
        return True, fn(item)
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the worker lives on to the next item
        return False, one_line(e)


# ---------------------------------------------------------------------------------------------------------
# local: a process pool


def _start_method() -> str:
    # never 'fork': the CLI has threads (httpx, the store), and a forked child inherits their locks
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _init_local_worker(environment: dict[str, str]) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides, and terminates the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the driver's environment as it is when the pool starts (cache dir, credentials, timeouts): a
    # forkserver started earlier by this process would otherwise hand down the environment of that moment
    os.environ.clear()
    os.environ.update(environment)


def _local_task(markers: str, index: int, payload: bytes) -> bytes:
    """Runs in a worker process. The marker file (named by the index, holding the pid) says the item started;
    it is left behind only when the process dies under the item."""
    marker = os.path.join(markers, str(index))
    with open(marker, "w", encoding="ascii") as f:
        f.write(str(os.getpid()))
    try:
        try:
            fn, item = pickle.loads(payload)
        except BaseException as e:
            return pickle.dumps((False, f"cannot read the item in the worker: {one_line(e)}"))
        return _pickled(*_outcome(fn, item))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(marker)


def _unpack(index: int, data: bytes) -> Done[Any] | Failed:
    try:
        ok, value = pickle.loads(data)
    except Exception as e:
        return Failed(index, f"cannot read the result: {one_line(e)}")
    return Done(index, value) if ok else Failed(index, str(value))


def _exit_text(code: int | None) -> str:
    if code is None:
        return "its exit status is unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}; out of memory?" if -code == signal.SIGKILL else f"killed by {name}"
    return f"exit code {code}"


class _Closing:
    """``with engine:`` closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LocalEngine(_Closing):
    """A ``concurrent.futures`` process pool ('forkserver' or 'spawn'); rebuilt when a worker dies."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = f"local ({workers} process{'es' if workers != 1 else ''})"
        self._context = multiprocessing.get_context(_start_method())
        self._pool: ProcessPoolExecutor | None = None
        self._markers = tempfile.mkdtemp(prefix="alpinist-engine-")

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Done[R] | Failed, None, None]:
        try:
            pickle.dumps(fn)
        except Exception as e:
            raise TypeError(f"the task function must be a module-level function: {one_line(e)}") from None
        markers = tempfile.mkdtemp(prefix="run-", dir=self._markers)
        try:
            yield from _drive(
                len(items), IN_FLIGHT_PER_WORKER * self.workers, _LocalRun(self, fn, items, markers)
            )
        finally:
            shutil.rmtree(markers, ignore_errors=True)

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=self._context,
                initializer=_init_local_worker,
                initargs=(dict(os.environ),),
            )
        return self._pool

    def discard_pool(self, *, kill: bool) -> dict[int, int | None]:
        """Shuts the pool down (``kill``: terminating its workers first, running items and all) and returns
        the exit code of each of its worker processes by pid."""
        pool, self._pool = self._pool, None
        if pool is None:
            return {}
        # CPython's process table (a private attribute; the exit codes and the only way to stop a running item
        # before Python 3.14's terminate_workers). Without it a death is still handled, by running alone.
        processes = dict(getattr(pool, "_processes", None) or {})
        if kill:
            for process in processes.values():
                with contextlib.suppress(Exception):
                    process.terminate()
            for process in processes.values():
                with contextlib.suppress(Exception):
                    process.join(10)
        pool.shutdown(wait=True, cancel_futures=True)
        return {pid: process.exitcode for pid, process in processes.items()}

    def close(self) -> None:
        self.discard_pool(kill=True)
        shutil.rmtree(self._markers, ignore_errors=True)


class _LocalRun:
    def __init__(
        self, engine: LocalEngine, fn: Callable[[Any], Any], items: Sequence[Any], markers: str
    ) -> None:
        self._engine = engine
        self._fn = fn
        self._items = items
        self._markers = markers
        self._futures: dict[Future[bytes], int] = {}
        self._ready: list[_Event] = []
        self._barren = 0

    def submit(self, index: int) -> None:
        try:
            payload = pickle.dumps((self._fn, self._items[index]), pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            self._ready.append(Failed(index, f"cannot send the item to a worker: {one_line(e)}"))
            return
        self._futures[self._engine.pool().submit(_local_task, self._markers, index, payload)] = index

    def wait(self) -> list[_Event]:
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        done, _ = wait_futures(self._futures, return_when=FIRST_COMPLETED)
        events: list[_Event] = []
        broken: list[int] = []
        for future in done:
            self._collect(future, self._futures.pop(future), events, broken)
        if broken:
            events.extend(self._after_break(broken, events))
        return events

    def _collect(self, future: Future[bytes], index: int, events: list[_Event], broken: list[int]) -> None:
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            broken.append(index)
            return
        events.append(
            Failed(index, one_line(error)) if error is not None else _unpack(index, future.result())
        )
        self._barren = 0

    def _after_break(self, broken: list[int], events: list[_Event]) -> list[_Event]:
        """A worker died: every item still in the pool fails with BrokenProcessPool. The ones whose marker
        file is left started; the one whose process did not end by the pool's SIGTERM is the culprit."""
        rest, self._futures = self._futures, {}
        wait_futures(rest)
        for future, index in rest.items():
            self._collect(future, index, events, broken)
        codes = self._engine.discard_pool(kill=False)
        started: dict[int, int | None] = {}
        for index in broken:
            marker = os.path.join(self._markers, str(index))
            try:
                with open(marker, encoding="ascii") as f:
                    text = f.read().strip()
            except OSError:
                continue  # never started: it goes again
            os.unlink(marker)
            started[index] = int(text) if text.isdigit() else None
        died = {
            index: code
            for index, pid in started.items()
            if (code := codes.get(pid) if pid is not None else None) is not None and code != -signal.SIGTERM
        }
        out: list[_Event] = []
        for index in broken:
            if index in died:
                out.append(Failed(index, f"worker process died ({_exit_text(died[index])})"))
            elif index in started and not died:
                pid = started[index]
                out.append(_Died(index, _exit_text(codes.get(pid) if pid is not None else None)))
            else:
                out.append(_Again(index))
        if not started:
            self._barren += 1
            if self._barren >= _BARREN_BREAKS:
                raise EngineError(
                    f"the local worker processes keep dying before they run an item ({_BARREN_BREAKS} times"
                    f" in a row; last: {_exit_text(next(iter(codes.values()), None))})"
                )
        return out

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._engine.discard_pool(kill=True)


# ---------------------------------------------------------------------------------------------------------
# dask: a distributed.Client


def _dask_task(closed: str, fn: Callable[[Any], Any], item: Any) -> bytes:
    """Runs on a Dask worker. ``closed`` names a Dask Event the engine sets (and the scheduler has, before
    ``close`` returns) when the run is closed: a task a worker starts after that does not run ``fn``. Dask's
    own cancel is a message the worker may get only after it started the next queued task.

    The outcome goes back pickled, as bytes: Dask serializes a list or tuple result element by element, and
    a finding list of ~200 kB took 250 ms that way against 11 ms as one pickle (bench/engines.md)."""
    distributed: Any = importlib.import_module("distributed")
    if distributed.Event(closed).is_set():
        return pickle.dumps((False, "not run: the run was closed"))
    return _pickled(*_outcome(fn, item))


def _pickled(ok: bool, value: Any) -> bytes:
    try:
        return pickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        return pickle.dumps((False, f"cannot send the result back: {one_line(e)}"))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class DaskEngine(_Closing):
    """A ``distributed.Client`` of a scheduler, or of a local cluster it starts and owns."""

    def __init__(
        self,
        *,
        workers: int | None,
        scheduler: str | None,
        connect_timeout: float,
        worker_timeout: float = 60.0,
    ) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")  # typed as Any: it is partly untyped
        except ImportError as e:
            raise EngineError(f"the dask engine needs distributed ({INSTALL_HINT}): {one_line(e)}") from None
        self._distributed = distributed
        self._cluster: Any = None
        self.closed_runs: list[str] = []  # the Dask Events of the runs closed early
        if scheduler is not None:
            try:
                self._client = distributed.Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except Exception as e:  # OSError (refused, timed out), ValueError (a malformed address), ...
                raise EngineError(
                    f"cannot reach the Dask scheduler at {scheduler}: {' '.join(str(e).split()) or one_line(e)}"
                ) from None
            try:
                self._client.wait_for_workers(1, timeout=worker_timeout)
            except Exception:  # TimeoutError, or the scheduler went away meanwhile
                with contextlib.suppress(Exception):
                    self._client.close()
                raise EngineError(
                    f"the Dask scheduler at {scheduler} has no worker (waited {worker_timeout:g} s): start "
                    f"`dask worker {scheduler}` where alpinist and the advisory database are"
                ) from None
            where = scheduler
        else:
            try:
                self._cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # no dashboard; the scheduler's HTTP server (/health) on a free loopback port, not 8787
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.CRITICAL,  # a dying worker is reported as the item's failure
                )
                self._client = distributed.Client(
                    self._cluster, timeout=connect_timeout, set_as_default=False
                )
            except Exception as e:
                if self._cluster is not None:
                    with contextlib.suppress(Exception):
                        self._cluster.close()
                raise EngineError(f"cannot start a local Dask cluster: {one_line(e)}") from None
            where = f"local cluster {self._cluster.scheduler_address}"
        self.where = where  # the scheduler's address, or "local cluster ADDRESS"
        threads = self._threads()
        self.workers = max(1, sum(threads.values()))
        shape = _plural(len(threads), "worker")
        if self.workers != len(threads):
            shape += f", {_plural(self.workers, 'thread')}"
        self.description = f"dask {where} ({shape})"

    def _threads(self) -> dict[str, int]:
        try:
            return dict(self._client.nthreads())
        except Exception as e:
            raise EngineError(f"lost the Dask scheduler at {self.where}: {one_line(e)}") from None

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Done[R] | Failed, None, None]:
        # the cluster may have grown or shrunk since it was opened: the bound follows it
        self.workers = max(1, sum(self._threads().values()))
        return _drive(len(items), IN_FLIGHT_PER_WORKER * self.workers, _DaskRun(self, fn, items))

    @property
    def client(self) -> Any:
        return self._client

    def close(self) -> None:
        with contextlib.suppress(Exception):
            for name in self.closed_runs:  # the scheduler forgets them (an Event is kept while it is set)
                self._distributed.Event(name, client=self._client).clear()
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


class _DaskRun:
    def __init__(self, engine: DaskEngine, fn: Callable[[Any], Any], items: Sequence[Any]) -> None:
        self._distributed: Any = importlib.import_module("distributed")
        self._engine = engine
        self._client = engine.client
        self._fn = fn
        self._items = items
        self._run = uuid.uuid4().hex
        self._closed = f"alpinist-closed-{self._run}"
        self._attempt = 0
        self._futures: dict[Any, int] = {}
        self._ready: list[_Event] = []
        self._completed = self._distributed.as_completed(loop=self._client.loop)

    def submit(self, index: int) -> None:
        try:
            item = self._items[index]
        except Exception as e:
            self._ready.append(Failed(index, f"cannot read the item: {one_line(e)}"))
            return
        self._attempt += 1  # a fresh key per submission: an item that runs again must not meet its old key
        key = f"alpinist-task-{self._run}-{index}-{self._attempt}"
        try:
            future = self._client.submit(_dask_task, self._closed, self._fn, item, key=key, pure=False)
        except Exception as e:  # the client pickles the task at once: an unpicklable item fails here
            cause = e.__cause__ or e.__context__ or e
            self._ready.append(Failed(index, f"cannot send the item to a worker: {one_line(cause)}"))
            return
        self._futures[future] = index
        self._completed.add(future)

    def wait(self) -> list[_Event]:
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        events: list[_Event] = []
        for future in self._completed.next_batch(block=True):
            index = self._futures.pop(future)
            events.append(self._event(index, future))
            future.release()
        return events

    def _event(self, index: int, future: Any) -> _Event:
        if future.status == "finished":
            try:
                data = future.result()
            except Exception as e:
                return Failed(index, f"cannot read the result: {one_line(e)}")
            return _unpack(index, data)
        if future.status == "error":
            error = future.exception()
            if isinstance(error, self._distributed.KilledWorker):
                deaths = _plural(error.allowed_failures + 1, "Dask worker")
                return _Died(
                    index, f"KilledWorker: {deaths} died running it, the last {error.last_worker.address}"
                )
            return Failed(index, one_line(error))
        # cancelled or lost: the scheduler went away (the client gave up reconnecting), or forgot the task
        if self._client.status != "running":
            raise EngineError(f"lost the Dask scheduler at {self._engine.where}")
        return _Again(index)

    def cancel(self) -> None:
        futures, self._futures = list(self._futures), {}
        with contextlib.suppress(Exception):  # the scheduler is gone: nothing of the run starts anyway
            self._distributed.Event(self._closed, client=self._client).set()  # acknowledged by the scheduler
            self._engine.closed_runs.append(self._closed)
        with contextlib.suppress(Exception):
            self._client.cancel(futures, reason="alpinist: the run was closed")
