"""Fixtures: the service on a free loopback port, in a thread of the test process, and a small client."""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1]
if str(EXAMPLE) not in sys.path:  # `import app` however pytest was started (rootdir, import mode)
    sys.path.insert(0, str(EXAMPLE))

from app.items import ItemRepository  # noqa: E402
from app.main import AppServer, make_server  # noqa: E402


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    def json(self) -> object:
        assert self.headers.get_content_type() == "application/json", self.headers
        return json.loads(self.raw)


class Client:
    """Real HTTP over a socket (``http.client``): every header and byte of the body as the server sent them."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        conn: http.client.HTTPConnection | None = None,
    ) -> Reply:
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            resp = c.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            if own:
                c.close()

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_json(self, path: str, doc: object) -> Reply:
        return self.request("POST", path, json.dumps(doc).encode(), {"Content-Type": "application/json"})


@pytest.fixture
def server() -> Iterator[AppServer]:
    srv = make_server("127.0.0.1", 0, ItemRepository())
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


@pytest.fixture
def client(server: AppServer) -> Client:
    return Client(server.port)
