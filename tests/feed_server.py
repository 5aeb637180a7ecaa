"""A real HTTP server on 127.0.0.1 that stands in for the advisory feeds' hosts.

It serves ``../shared/corpus/advisories/feeds`` as its web root in the mirror layout: ``GET /HOST/PATH``
answers with ``feeds/HOST/PATH``, so ``Fetcher(mirror=server.url)`` fetches every upstream URL
``https://HOST/PATH`` from it. An ``overlay`` directory, checked first, lets a test add or replace files
without touching the read-only corpus (``server.put("secdb.alpinelinux.org/v3.20/main.json", data)``).

``/services.nvd.nist.gov/rest/json/cves/2.0`` is answered like the NVD API 2.0: from
``.../2.0/all.json``, filtered by ``lastModStartDate``/``lastModEndDate`` against each CVE's
``lastModified`` (both or neither; a window over 120 days is refused with 404 and a ``message`` header,
as NVD does) and paged by ``startIndex``/``resultsPerPage`` (at most 2,000).

Every request is recorded (``server.requests``: method, path, query, headers) for assertions, and
failures can be injected for the bad-input tests:

- ``fail(status, times, path=..., headers=...)``: answer ``status`` to the first ``times`` matching requests;
- ``truncate(path, keep)``: serve only the first ``keep`` bytes, with a matching Content-Length (a feed file
  that is itself cut short);
- ``cut(path, keep)``: announce the full length but close the connection after ``keep`` bytes (a transfer
  that breaks mid-body);
- ``garbage(path, body)``: serve ``body`` (an HTML error page, say) instead of the file;
- ``wrong_length(path, length)``: send the whole body under a false ``Content-Length`` and close;
- ``slow(path, chunk, delay)``: send the body ``chunk`` bytes at a time, ``delay`` seconds apart (a trickle);
- ``hold(path)``: keep the answer back until the returned ``threading.Event`` is set (at most 60 s), to
  line up two clients (the first one holds the update lock meanwhile).

Every fault applies to the request paths starting with ``path`` (``times`` of them, or all).

Fixture: ``feed_server`` (function scope). Register it with ``pytest_plugins = ["tests.feed_server"]`` in
``tests/conftest.py``, or import it into a test module.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FEEDS = REPO_ROOT.parent / "shared" / "corpus" / "advisories" / "feeds"
NVD_PATH = "/services.nvd.nist.gov/rest/json/cves/2.0"
NVD_FILE = FEEDS / "services.nvd.nist.gov" / "rest" / "json" / "cves" / "2.0" / "all.json"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # decoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Fault:
    kind: str  # "status" | "truncate" | "cut" | "garbage" | "length" | "slow" | "hold"
    path: str | None  # applies to request paths starting with this (None: every path)
    times: int | None  # how many more requests it applies to (None: all)
    status: int = 200
    keep: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    event: threading.Event | None = None

    def matches(self, path: str) -> bool:
        return (self.times is None or self.times > 0) and (self.path is None or path.startswith(self.path))


class FeedServer:
    def __init__(self, root: Path = FEEDS, overlay: Path | None = None) -> None:
        self.root = root
        self.overlay = overlay
        self.requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FeedServer:
        handler = type("Handler", (_Handler,), {"feeds": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="feed-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """The mirror base: ``http://127.0.0.1:PORT``."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls ---------------------------------------------------------------------------------
    def put(self, relpath: str, data: bytes | str) -> Path:
        """Add or replace ``HOST/PATH`` in the overlay (the corpus itself is read-only)."""
        assert self.overlay is not None, "this server has no overlay directory"
        target = self.overlay / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return target

    def fail(
        self, status: int, times: int = 1, *, path: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self._add(_Fault("status", path, times, status=status, headers=dict(headers or {})))

    def truncate(self, path: str, keep: int, times: int | None = None) -> None:
        self._add(_Fault("truncate", path, times, keep=keep))

    def cut(self, path: str, keep: int, times: int | None = None) -> None:
        self._add(_Fault("cut", path, times, keep=keep))

    def garbage(
        self, path: str, body: bytes = b"<html><body>502 Bad Gateway</body></html>", times: int | None = None
    ) -> None:
        self._add(_Fault("garbage", path, times, body=body))

    def wrong_length(self, path: str, length: int, times: int | None = None) -> None:
        self._add(_Fault("length", path, times, keep=length))

    def slow(self, path: str, chunk: int = 1024, delay: float = 0.01, times: int | None = None) -> None:
        self._add(_Fault("slow", path, times, keep=chunk, delay=delay))

    def hold(self, path: str, times: int | None = 1) -> threading.Event:
        release = threading.Event()
        self._add(_Fault("hold", path, times, event=release))
        return release

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # -- content ---------------------------------------------------------------------------------------
    def resolve(self, path: str) -> Path | None:
        parts = [p for p in path.split("/") if p]
        if not parts or any(p in (".", "..") or "\\" in p for p in parts):
            return None
        for base in (self.overlay, self.root):
            if base is not None and (candidate := base.joinpath(*parts)).is_file():
                return candidate
        return None

    def nvd_page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of an NVD API 2.0 request."""

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        source = self.resolve(NVD_PATH.lstrip("/") + "/all.json") or NVD_FILE
        records: list[dict[str, Any]] = json.loads(source.read_bytes())["vulnerabilities"]
        start_date, end_date = one("lastModStartDate"), one("lastModEndDate")
        if (start_date is None) != (end_date is None):
            return 404, {"message": "Both lastModStartDate and lastModEndDate are required"}, b""
        if start_date is not None and end_date is not None:
            try:
                low, high = _nvd_time(start_date), _nvd_time(end_date)
            except ValueError:
                return 404, {"message": "Invalid date format"}, b""
            if high - low > timedelta(days=120):
                return 404, {"message": "The date range must not exceed 120 days"}, b""
            records = [r for r in records if low <= _nvd_time(r["cve"]["lastModified"]) <= high]
        try:
            start = int(one("startIndex") or 0)
            size = int(one("resultsPerPage") or 2000)
        except ValueError:
            return 404, {"message": "Invalid paging parameter"}, b""
        if start < 0 or not 1 <= size <= 2000:
            return 404, {"message": "Invalid paging parameter"}, b""
        page = records[start : start + size]
        body = {
            "resultsPerPage": len(page),
            "startIndex": start,
            "totalResults": len(records),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000"),
            "vulnerabilities": page,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def fetch_and_parse_source(source: Any, server: FeedServer, workdir: Path) -> tuple[list[Any], list[Any]]:
    """Fetch ``source`` through ``server`` as a mirror and parse it: (affected rows, vulnerabilities)."""
    from alpinist.advisories.download import Fetcher

    with Fetcher(mirror=server.url, sleep=lambda s: None) as fetcher:
        files = source.fetch(fetcher, workdir, None)
    affected: list[Any] = []
    vulns: list[Any] = []
    for batch in source.parse(files):
        affected.extend(batch.affected)
        vulns.extend(batch.vulnerabilities)
    return affected, vulns


def _nvd_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace(" ", "+"))  # a '+' that arrived unencoded reads as a space
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    feeds: FeedServer
    server_version = "alpinist-feed-server/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):  # a client that was killed or gave up
            self.close_connection = True

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.feeds._record(
            RecordedRequest("GET", path, query, {k.lower(): v for k, v in self.headers.items()})
        )
        fault = self.feeds._take_fault(path)
        if fault is not None and fault.kind == "hold" and fault.event is not None:
            fault.event.wait(60)
        if fault is not None and fault.kind == "status":
            self._send(fault.status, fault.headers, f"injected failure {fault.status}\n".encode())
            return
        if fault is not None and fault.kind == "garbage":
            self._send(200, {"Content-Type": "text/html"}, fault.body)
            return
        if path.rstrip("/") == NVD_PATH:
            status, headers, body = self.feeds.nvd_page(query)
        else:
            file = self.feeds.resolve(path)
            if file is None:
                self._send(404, {}, b"not found\n")
                return
            status, headers, body = 200, {"Content-Type": _content_type(file)}, file.read_bytes()
        if fault is not None and fault.kind == "truncate":
            body = body[: fault.keep]
        if fault is not None and fault.kind in ("cut", "length", "slow"):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(fault.keep if fault.kind == "length" else len(body)))
            self.end_headers()
            if fault.kind == "slow":
                for start in range(0, len(body), fault.keep):
                    self.wfile.write(body[start : start + fault.keep])
                    self.wfile.flush()
                    time.sleep(fault.delay)
            else:
                self.wfile.write(body[: fault.keep] if fault.kind == "cut" else body)
                self.wfile.flush()
                self.close_connection = True
            return
        self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _content_type(path: Path) -> str:
    if path.suffix == ".zip":
        return "application/zip"
    if path.suffix == ".json" or path.name == "json":
        return "application/json"
    return "application/octet-stream"


@pytest.fixture(name="feed_server")
def feed_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedServer]:
    """The corpus feeds on a loopback HTTP server: ``.url`` is the mirror base, ``.requests`` the log."""
    server = FeedServer(overlay=tmp_path_factory.mktemp("feeds-overlay")).start()
    try:
        yield server
    finally:
        server.stop()
