"""Downloading advisory feeds: one ``Fetcher`` over an ``httpx.Client``.

- Mirrors: with ``mirror="https://mirror.example/feeds"`` every ``https://HOST/PATH`` is fetched as
  ``https://mirror.example/feeds/HOST/PATH`` (query string kept) - the layout of an internal mirror for
  air-gapped sites, and of the test corpus' ``advisories/feeds``. The CLI reads ``ALPINIST_MIRROR``; this
  module reads no environment.
- Directory mirrors: ``mirror="/srv/feeds"`` (or ``file:///srv/feeds``) reads ``/srv/feeds/HOST/PATH``
  from disk: the same layout, for a mirror synced onto an air-gapped machine (and for the bundled
  corpus). The query string is ignored there; where ``HOST/PATH`` is a directory (an API endpoint such
  as NVD's ``rest/json/cves/2.0``), its ``all.json`` holds the endpoint's complete answer.
- Retries: transport failures (connection refused or reset, timeouts, a body cut short) and the statuses
  of ``retry_statuses`` (429 and 5xx by default; NVD adds 403, its rate-limit answer) are retried with
  exponential backoff; a ``Retry-After`` header is honoured, and one asking for more than ``max_delay``
  seconds makes the fetch give up at once rather than hang. Other statuses fail at once.
- Bounds: a body larger than ``max_bytes`` (after content decoding, so a gzip bomb is caught too) is
  refused. ``get_to_file`` streams to a temporary file beside ``dest`` and renames it into place only
  when complete, so ``dest`` never holds a partial download.
- Deadlines (``net.Deadlines``: ``--timeout`` / ``ALPINIST_TIMEOUT`` unless given): no byte for the
  stall timeout (the read timeout) or a body below the minimum throughput ends the fetch at once, not
  retried (a stalled server would stall again); ``net.cancel()`` (Ctrl-C) stops it between two reads
  and wakes a blocked read.
- Errors: ``FeedError`` naming the URL (mirror applied, query included, headers never) and the reason.

The sleep is injectable so that the tests of retries and rate limits take no wall time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx

from alpinist import __version__
from alpinist.errors import FeedError
from alpinist.net import (
    DeadlineExceeded,
    Deadlines,
    RateGuard,
    cancellable_sleep,
    check_cancelled,
    current_deadlines,
    parse_retry_after,
    response_socket,
    stall_message,
    watch_socket,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MAX_BYTES = 1024**3  # 1 GiB: the largest single feed file (Debian's tracker JSON is ~50 MB today)
DEFAULT_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 256 * 1024

Params = Mapping[str, str | int]
Headers = Mapping[str, str]
# progress(bytes received so far, Content-Length or None): called after every chunk
ProgressCallback = Callable[[int, int | None], None]


def mirror_url(url: str, mirror: str | None) -> str:
    """``https://HOST/PATH?Q`` -> ``MIRROR/HOST/PATH?Q``; unchanged without a mirror."""
    if not mirror:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedError(url, "not an absolute http(s) URL, cannot be fetched through a mirror")
    rewritten = f"{mirror.rstrip('/')}/{parts.netloc}{parts.path or '/'}"
    return f"{rewritten}?{parts.query}" if parts.query else rewritten


def _local_root(mirror: str | None) -> Path | None:
    """The directory of a directory mirror (a path or a ``file://`` URL), else None."""
    if not mirror:
        return None
    if mirror.startswith("file://"):
        return Path(urlsplit(mirror).path)
    if "://" not in mirror:
        return Path(mirror)
    return None


class _Retry(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class Fetcher:
    """HTTP GET of feed files, with mirror rewriting, retries with backoff, and size bounds."""

    def __init__(
        self,
        *,
        mirror: str | None = None,
        client: httpx.Client | None = None,
        deadlines: Deadlines | None = None,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 120.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        sleep: Callable[[float], None] = cancellable_sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.mirror = mirror.rstrip("/") if mirror else None
        self.local_root = _local_root(self.mirror)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.sleep = sleep
        self.deadlines = current_deadlines() if deadlines is None else deadlines
        self._owns_client = client is None
        self._client = client or httpx.Client(
            follow_redirects=True,
            # the stall timeout is the read timeout: no byte for that long ends the request
            timeout=httpx.Timeout(self.deadlines.read_timeout, connect=20.0, pool=None),
            headers={"User-Agent": f"alpinist/{__version__}"},
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def url_for(self, url: str) -> str:
        """The URL actually requested for ``url`` (the mirror applied)."""
        if self.local_root is not None:
            return str(self._local_file(url))
        return mirror_url(url, self.mirror)

    def _local_file(self, url: str) -> Path:
        """The file of a directory mirror that stands for ``url`` (never outside the mirror)."""
        assert self.local_root is not None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FeedError(url, "not an absolute http(s) URL, cannot be read from a mirror directory")
        root = self.local_root.resolve()
        target = (root / parts.netloc / parts.path.lstrip("/")).resolve()
        if not target.is_relative_to(root):
            raise FeedError(url, f"resolves outside the mirror directory {root}")
        if target.is_dir():
            target = target / "all.json"
        return target

    def _read_local(self, url: str, limit: int) -> tuple[Path, str]:
        path = self._local_file(url)
        where = str(path)
        if not path.is_file():
            raise FeedError(where, "not in the mirror directory", status=404)
        if path.stat().st_size > limit:
            raise FeedError(where, f"larger than the {limit}-byte limit")
        return path, where

    # -- public API --------------------------------------------------------------------------------
    def get_to_file(
        self,
        url: str,
        dest: Path,
        params: Params | None = None,
        headers: Headers | None = None,
        progress: ProgressCallback | None = None,
        *,
        max_bytes: int | None = None,
        retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES,
    ) -> Path:
        """Stream ``url`` into ``dest`` (atomically: temporary file, then rename) and return ``dest``."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.local_root is not None:
            source, _ = self._read_local(url, limit)
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            os.close(fd)
            try:
                shutil.copyfile(source, tmp_name)
                os.replace(tmp_name, dest)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise
            if progress is not None:
                size = dest.stat().st_size
                progress(size, size)
            return dest
        target = self.url_for(url)
        where = self._describe(target, params)

        def attempt() -> Path:
            with self._client.stream("GET", target, params=params, headers=headers) as response:
                self._check_status(response, where, retry_statuses)
                total = _content_length(response)
                fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
                tmp = Path(tmp_name)
                try:
                    with os.fdopen(fd, "wb") as out:
                        for chunk in self._bounded_chunks(response, where, limit):
                            out.write(chunk)
                            if progress is not None:
                                progress(response.num_bytes_downloaded, total)
                    os.replace(tmp, dest)
                except BaseException:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise
            return dest

        return self._with_retries(where, attempt)

    def get_json(
        self,
        url: str,
        params: Params | None = None,
        headers: Headers | None = None,
        *,
        max_bytes: int | None = None,
        retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES,
    ) -> Any:
        """GET ``url`` and decode its JSON body (bounded in size)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        if self.local_root is not None:
            source, where = self._read_local(url, limit)
            try:
                return json.loads(source.read_bytes())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise FeedError(where, f"not valid JSON: {exc}") from None
        target = self.url_for(url)
        where = self._describe(target, params)

        def attempt() -> bytes:
            with self._client.stream("GET", target, params=params, headers=headers) as response:
                self._check_status(response, where, retry_statuses)
                return b"".join(self._bounded_chunks(response, where, limit))

        body = self._with_retries(where, attempt)
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FeedError(where, f"not valid JSON: {exc}") from None

    # -- internals ---------------------------------------------------------------------------------
    @staticmethod
    def _describe(target: str, params: Params | None) -> str:
        try:
            return str(httpx.URL(target, params=params)) if params else target
        except (httpx.InvalidURL, TypeError):
            return target

    def _with_retries(self, where: str, attempt: Callable[[], T]) -> T:
        for number in range(1, self.attempts + 1):
            check_cancelled()
            try:
                return attempt()
            except _Retry as retry:
                failure = retry
            except DeadlineExceeded as exc:  # too slow: a retry would be as slow
                raise FeedError(where, str(exc)) from None
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):  # stalled: not retried
                raise FeedError(where, stall_message(self.deadlines)) from None
            except httpx.TransportError as exc:  # connect failures, a body cut short
                check_cancelled()  # the socket was shut down by cancel(): stop, do not retry
                failure = _Retry(_transport_reason(exc))
            except httpx.InvalidURL as exc:
                raise FeedError(where, f"invalid URL: {exc}") from None
            except httpx.HTTPError as exc:  # too many redirects, decoding errors...
                raise FeedError(where, f"{type(exc).__name__}: {exc}") from None
            if failure.retry_after is not None and failure.retry_after > self.max_delay:
                raise FeedError(
                    where,
                    f"{failure.reason}; the server asks to retry after {failure.retry_after:.0f}s, giving up",
                    status=failure.status,
                )
            if number == self.attempts:
                break
            delay = failure.retry_after
            if delay is None:
                delay = min(self.max_delay, self.base_delay * 2.0 ** (number - 1))
            log.warning(
                "%s: %s; retrying in %.1fs (attempt %d of %d)",
                where,
                failure.reason,
                delay,
                number + 1,
                self.attempts,
            )
            self.sleep(delay)
        raise FeedError(
            where, f"{failure.reason} (gave up after {self.attempts} attempts)", status=failure.status
        )

    @staticmethod
    def _check_status(response: httpx.Response, where: str, retry_statuses: frozenset[int]) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        message = response.headers.get("message")  # NVD explains its refusals in this header
        if message:
            reason += f" ({message[:200]})"
        if status in retry_statuses:
            raise _Retry(reason, parse_retry_after(response.headers.get("retry-after")), status)
        raise FeedError(where, reason, status=status)

    def _bounded_chunks(self, response: httpx.Response, where: str, limit: int) -> Iterator[bytes]:
        """The body as it arrives (never waiting to fill a chunk, so the throughput rule sees every
        byte), bounded in size; a cancel stops it and wakes a blocked read."""
        declared = _content_length(response)
        if declared is not None and declared > limit and not response.headers.get("content-encoding"):
            raise FeedError(where, f"response of {declared} bytes exceeds the limit of {limit} bytes")
        received = 0
        counted = 0  # bytes off the wire (before content decoding) given to the guard
        guard = RateGuard(self.deadlines)
        with watch_socket(response_socket(response.extensions)):
            for chunk in response.iter_bytes():
                check_cancelled()
                guard.feed(response.num_bytes_downloaded - counted)
                counted = response.num_bytes_downloaded
                received += len(chunk)
                if received > limit:
                    raise FeedError(where, f"response exceeds the limit of {limit} bytes; refused")
                yield chunk


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _transport_reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broke: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
