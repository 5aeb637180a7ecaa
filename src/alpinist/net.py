"""The network's few shared settings: ``Retry-After``, download deadlines and cancellation.

Deadlines (``Deadlines``): every download of the registry client and of the feed fetcher obeys two
rules, with the same defaults for both:

* the *stall timeout*: no byte for ``stall`` seconds (default 30) ends the download; it is the HTTP
  client's read timeout, so it also bounds waiting for a response's headers;
* the *minimum throughput*: once a body has been read for ``window`` seconds (default 60), fewer than
  ``min_rate * window`` bytes received in the last ``window`` seconds (default 10 KiB/s) end it.

A download ended by either rule is not retried (a retry of a stalled server waits as long again); the
error names the server or URL, the blob or file, and the rule. ``--timeout`` (the CLI) or the
environment variable ``ALPINIST_TIMEOUT`` sets them: ``STALL[,RATE/WINDOW]`` (``parse_timeout``), for
example ``30s``, ``10s,50KiB/20s``, ``2m,off`` (no throughput rule) or ``off`` (neither rule).

Cancellation: ``cancel()`` (called by the CLI's SIGINT/SIGTERM handler on the main thread) sets one
process-wide event that download loops check between chunks (``check_cancelled``), and shuts down the
sockets of the downloads that registered with ``watch_socket``, so that a thread blocked in a read
wakes at once instead of after the stall timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from alpinist.errors import EXIT_USAGE, AlpinistError

TIMEOUT_ENV = "ALPINIST_TIMEOUT"
KIB = 1024


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # here: 20 ms of imports every command would pay, for a rare HTTP-date answer

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


# -- deadlines -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """The stall timeout and the minimum-throughput rule of a download (0 disables a rule)."""

    stall: float = 30.0  # seconds without a byte
    min_rate: float = 10.0 * KIB  # bytes per second, averaged over ``window``
    window: float = 60.0  # seconds

    @property
    def read_timeout(self) -> float | None:
        """The HTTP client's read timeout (None: wait forever)."""
        return self.stall if self.stall > 0 else None

    def describe(self) -> str:
        stall = f"stall timeout {_seconds(self.stall)}" if self.stall > 0 else "no stall timeout"
        if self.min_rate > 0 and self.window > 0:
            rate = f"minimum {_rate(self.min_rate)} over {_seconds(self.window)}"
        else:
            rate = "no minimum throughput"
        return f"{stall}, {rate}"


DEFAULT_DEADLINES = Deadlines()

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": KIB, "kb": 1000, "kib": KIB, "m": KIB * KIB, "mb": 1000**2, "mib": KIB * KIB}


def _parse_seconds(text: str) -> float:
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"{text.strip()!r} is not a duration (examples: 30s, 500ms, 2m)")
    return float(found.group(1)) * _DURATION_UNITS[(found.group(2) or "s").lower()]


def parse_timeout(text: str) -> Deadlines:
    """``STALL[,RATE/WINDOW]`` -> ``Deadlines``: ``30s``, ``10s,50KiB/20s``, ``2m,off``, ``off``.

    A bare number is seconds; RATE is bytes per second (``B``, ``KiB``/``K``, ``KB``, ``MiB``/``M``,
    ``MB``); an omitted rate rule keeps the default one. ValueError (one line) otherwise.
    """
    value = text.strip().lower()
    if value in ("off", "0", "none"):
        return Deadlines(stall=0.0, min_rate=0.0, window=0.0)
    stall_text, sep, rate_text = value.partition(",")
    stall = _parse_seconds(stall_text)
    if not sep:
        return Deadlines(stall=stall)
    if rate_text.strip() in ("off", "0", "none"):
        return Deadlines(stall=stall, min_rate=0.0, window=0.0)
    amount, slash, window_text = rate_text.partition("/")
    found = _SIZE.match(amount)
    if not slash or not found:
        raise ValueError(f"{rate_text.strip()!r} is not RATE/WINDOW (examples: 10KiB/60s, 1MiB/30s, off)")
    rate = float(found.group(1)) * _SIZE_UNITS[(found.group(2) or "b").lower()]
    window = _parse_seconds(window_text)
    if rate > 0 and window <= 0:
        raise ValueError(f"{rate_text.strip()!r}: the window must be longer than 0s")
    return Deadlines(stall=stall, min_rate=rate, window=window)


class TimeoutSettingError(AlpinistError):
    """A malformed ``ALPINIST_TIMEOUT`` (read where no ``--timeout`` option parsed it first): usage."""

    exit_code = EXIT_USAGE


_configured: Deadlines | None = None


def set_deadlines(deadlines: Deadlines | None) -> None:
    """Set this process's deadlines (the CLI's ``--timeout``); None goes back to the environment."""
    global _configured
    _configured = deadlines


def current_deadlines() -> Deadlines:
    """The deadlines set by ``set_deadlines``, else ``$ALPINIST_TIMEOUT``, else the defaults.

    A malformed ``ALPINIST_TIMEOUT`` raises ``TimeoutSettingError`` naming the variable (exit 64).
    """
    if _configured is not None:
        return _configured
    env = os.environ.get(TIMEOUT_ENV)
    if env:
        try:
            return parse_timeout(env)
        except ValueError as exc:
            raise TimeoutSettingError(f"{TIMEOUT_ENV}: {exc}") from None
    return DEFAULT_DEADLINES


class DeadlineExceeded(Exception):
    """A download broke one of its ``Deadlines`` rules; the message says which (the caller adds where)."""


class RateGuard:
    """Count a body's bytes as they arrive and raise ``DeadlineExceeded`` when the minimum-throughput
    rule fails. ``feed(n)`` after every piece received (n may be 0 for a mere check)."""

    def __init__(self, deadlines: Deadlines, clock: Callable[[], float] = time.monotonic) -> None:
        self.deadlines = deadlines
        self._clock = clock
        self._start = clock()
        self._total = 0
        self._samples: deque[tuple[float, int]] = deque([(self._start, 0)])

    def feed(self, n: int) -> None:
        now = self._clock()
        self._total += n
        rules = self.deadlines
        if rules.min_rate <= 0 or rules.window <= 0:
            return
        samples = self._samples
        samples.append((now, self._total))
        # keep the newest sample at least ``window`` old: the rate is measured over a full window
        while len(samples) > 1 and now - samples[1][0] >= rules.window:
            samples.popleft()
        oldest_time, oldest_total = samples[0]
        if now - oldest_time < rules.window:
            return
        rate = (self._total - oldest_total) / (now - oldest_time)
        if rate < rules.min_rate:
            raise DeadlineExceeded(
                f"too slow: {_rate(rate)} over the last {_seconds(now - oldest_time)}, below the minimum "
                f"of {_rate(rules.min_rate)} over {_seconds(rules.window)} (--timeout / {TIMEOUT_ENV})"
            )


def stall_message(deadlines: Deadlines) -> str:
    """What a read timeout means, for an error line."""
    return f"stalled: no data for {_seconds(deadlines.stall)} (the stall timeout; --timeout / {TIMEOUT_ENV})"


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}s"


def _rate(value: float) -> str:
    if value >= KIB * KIB:
        return f"{value / (KIB * KIB):.1f} MiB/s"
    if value >= KIB:
        return f"{value / KIB:.1f} KiB/s"
    return f"{value:.0f} B/s"


# -- cancellation ----------------------------------------------------------------------------------


class Cancelled(Exception):
    """The process is being interrupted: a download loop noticed ``cancel()`` and stopped."""


_cancel = threading.Event()
_sockets: set[socket.socket] = set()
_sockets_lock = threading.Lock()


def cancel() -> None:
    """Stop every download: set the cancel event and wake every registered socket's reader."""
    _cancel.set()
    with _sockets_lock:
        watched = list(_sockets)
    for sock in watched:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def cancelled() -> bool:
    return _cancel.is_set()


def check_cancelled() -> None:
    """Raise ``Cancelled`` once ``cancel()`` was called."""
    if _cancel.is_set():
        raise Cancelled("interrupted")


def cancellable_sleep(seconds: float) -> None:
    """``time.sleep`` that ends early, raising ``Cancelled``, when ``cancel()`` is called."""
    if _cancel.wait(seconds):
        raise Cancelled("interrupted")


def reset_cancel() -> None:
    """Clear the cancel event (tests that cancel in-process, then go on)."""
    _cancel.clear()


@contextlib.contextmanager
def watch_socket(sock: socket.socket | None) -> Iterator[None]:
    """While the block runs, ``cancel()`` shuts ``sock`` down (None: nothing to watch)."""
    if sock is None:
        yield
        return
    with _sockets_lock:
        _sockets.add(sock)
    try:
        if _cancel.is_set():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        yield
    finally:
        with _sockets_lock:
            _sockets.discard(sock)


def response_socket(extensions: dict[str, object]) -> socket.socket | None:
    """The socket under an httpx response (its ``network_stream`` extension), when there is one."""
    stream = extensions.get("network_stream")
    get_extra = getattr(stream, "get_extra_info", None)
    if get_extra is None:
        return None
    sock = get_extra("socket")
    return sock if isinstance(sock, socket.socket) else None
