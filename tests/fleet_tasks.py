"""Task functions for tests/test_fleet_engine.py. Module-level, in a module the worker processes import
(local pool workers and the Dask workers of tests/dask_cluster.py, which have the repository root on their
PYTHONPATH)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

BAD = 3  # the item that raises or kills its worker


def square(x: int) -> int:
    return x * x


def slow_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


def raise_on_bad(x: int) -> int:
    if x == BAD:
        raise ValueError(f"item {x} is\nbad")
    return x * x


def exit_on_bad(x: int) -> int:
    """Item BAD ends its worker process with os._exit(3); the others take a moment, so that one of them is
    running (local) or waiting on the same worker (Dask) when it dies."""
    if x == BAD:
        time.sleep(0.1)
        os._exit(3)
    time.sleep(0.2)
    return x * x


def sigkill_on_bad(x: int) -> int:
    """Item BAD is killed as the kernel's OOM killer kills (SIGKILL)."""
    if x == BAD:
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return x * x


def hold(item: tuple[str, int]) -> int:
    """Writes ``started-N`` (holding its pid); item 0 returns at once, the others wait for the file ``go``
    (at most 60 s), then write ``finished-N``."""
    directory, n = Path(item[0]), item[1]
    (directory / f"started-{n}").write_text(str(os.getpid()))
    if n != 0:
        deadline = time.monotonic() + 60
        while not (directory / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        (directory / f"finished-{n}").write_text("")
    return n
