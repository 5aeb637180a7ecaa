"""The HTTP layer: a threaded ``http.server`` with the routes a Spring Boot app of this size would have.

| Spring Boot | here |
|---|---|
| ``@RestController`` ``/api/items`` (``@GetMapping``, ``@PostMapping``, ``@DeleteMapping``) | ``ROUTES`` |
| ``@Valid @RequestBody`` + ``MethodArgumentNotValidException`` → 400 | ``parse_new_item`` → 400 with ``errors`` |
| the error body of ``DefaultErrorAttributes`` (timestamp, status, error, message, path) | ``error_body`` |
| ``/actuator/health`` (+ the ``liveness``/``readiness`` groups Kubernetes probes use), ``/actuator/info`` | ``health``, ``info`` |
| ``server.port`` / ``server.address`` (env ``SERVER_PORT`` / ``SERVER_ADDRESS``) | the same variables |
| graceful shutdown on ``SIGTERM`` | ``main`` stops accepting, finishes, exits 0 |

Only the standard library is used (``http.server``, ``json``), so the image needs no compiler and no wheel:
it runs the same on glibc (Debian) and musl (Alpine). ``http.server`` is not a hardened public-facing
server; behind a Kubernetes Service or an ingress, for a service this small, it is enough.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import urlsplit

from app import __version__
from app.items import FieldError, ItemRepository, ValidationError, parse_new_item

APP_NAME = "python-spring-equivalent"
DEFAULT_PORT = 8080
DEFAULT_ADDRESS = "0.0.0.0"
MAX_BODY = 64 * 1024  # bytes; a larger request body gets 413

log = logging.getLogger("app")

Response = tuple[HTTPStatus, object, Mapping[str, str]]  # status, JSON body (None: no body), headers
Endpoint = Callable[["Handler", "re.Match[str]"], Response]


class HttpError(Exception):
    """Ends a request with ``status`` and a Spring-style error body."""

    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def error_body(
    status: HTTPStatus, message: str, path: str, errors: Sequence[FieldError] = ()
) -> dict[str, object]:
    body: dict[str, object] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": int(status),
        "error": status.phrase,
        "message": message,
        "path": path,
    }
    if errors:
        body["errors"] = [e.to_json() for e in errors]
    return body


# -- endpoints ------------------------------------------------------------------------------------------
def health(handler: Handler, match: re.Match[str]) -> Response:
    return HTTPStatus.OK, {"status": "UP"}, {}


def readiness(handler: Handler, match: re.Match[str]) -> Response:
    """``OUT_OF_SERVICE`` (503) once shutdown began, so a Kubernetes readiness probe drains the pod."""
    if handler.server.accepting_traffic:
        return HTTPStatus.OK, {"status": "UP"}, {}
    return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "OUT_OF_SERVICE"}, {}


def info(handler: Handler, match: re.Match[str]) -> Response:
    return (
        HTTPStatus.OK,
        {
            "app": {"name": APP_NAME, "version": __version__},
            "python": {
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
            },
        },
        {},
    )


def list_items(handler: Handler, match: re.Match[str]) -> Response:
    return HTTPStatus.OK, [item.to_json() for item in handler.server.repository.find_all()], {}


def get_item(handler: Handler, match: re.Match[str]) -> Response:
    item_id = _item_id(match)
    item = handler.server.repository.find_by_id(item_id)
    if item is None:
        raise HttpError(HTTPStatus.NOT_FOUND, f"item {item_id} not found")
    return HTTPStatus.OK, item.to_json(), {}


def create_item(handler: Handler, match: re.Match[str]) -> Response:
    doc = handler.read_json()
    try:
        new = parse_new_item(doc)
    except ValidationError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, "validation failed", errors=exc.errors) from None
    item = handler.server.repository.save(new)
    return HTTPStatus.CREATED, item.to_json(), {"Location": f"/api/items/{item.id}"}


def delete_item(handler: Handler, match: re.Match[str]) -> Response:
    item_id = _item_id(match)
    if not handler.server.repository.delete_by_id(item_id):
        raise HttpError(HTTPStatus.NOT_FOUND, f"item {item_id} not found")
    return HTTPStatus.NO_CONTENT, None, {}


def _item_id(match: re.Match[str]) -> int:
    raw = match["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"id must be a positive integer, not {raw!r}")
    return int(raw)


ROUTES: tuple[tuple[re.Pattern[str], Mapping[str, Endpoint]], ...] = (
    (re.compile(r"/api/items"), {"GET": list_items, "POST": create_item}),
    (re.compile(r"/api/items/(?P<id>[^/]+)"), {"GET": get_item, "DELETE": delete_item}),
    (re.compile(r"/actuator/health"), {"GET": health}),
    (re.compile(r"/actuator/health/liveness"), {"GET": health}),
    (re.compile(r"/actuator/health/readiness"), {"GET": readiness}),
    (re.compile(r"/actuator/info"), {"GET": info}),
)


# -- server ---------------------------------------------------------------------------------------------
class AppServer(ThreadingHTTPServer):
    """One thread per connection (daemon threads: a stuck client does not hold up shutdown)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], repository: ItemRepository) -> None:
        super().__init__(address, Handler)
        self.repository = repository
        self.accepting_traffic = True

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server: AppServer

    def version_string(self) -> str:
        return APP_NAME  # no Python version in the Server header

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def read_json(self) -> object:
        """The request body as JSON: ``application/json``, UTF-8, with a Content-Length up to ``MAX_BODY``."""
        if self.headers.get("Content-Type") is None or self.headers.get_content_type() != "application/json":
            raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")
        charset = self.headers.get_content_charset("utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise HttpError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"charset {charset} is not supported, use utf-8"
            )
        if "Transfer-Encoding" in self.headers or "Content-Length" not in self.headers:
            raise HttpError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required")
        raw_length = self.headers["Content-Length"].strip()
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise HttpError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {raw_length!r}")
        length = int(raw_length)
        if length > MAX_BODY:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        self._body_consumed = True
        if len(raw) < length:
            self.close_connection = True
            raise HttpError(HTTPStatus.BAD_REQUEST, "body shorter than its Content-Length")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError and integers over sys.get_int_max_str_digits()
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise HttpError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {reason}") from None

    def _dispatch(self, method: str) -> None:
        self._body_consumed = False
        path = urlsplit(self.path).path
        try:
            status, body, headers = self._route(method, path)
        except HttpError as exc:
            status, body, headers = (
                exc.status,
                error_body(exc.status, exc.message, path, exc.errors),
                exc.headers,
            )
        except Exception:
            log.exception("%s %s failed", method, path)
            status, headers = HTTPStatus.INTERNAL_SERVER_ERROR, {}
            body = error_body(status, "internal error", path)
        self._send(status, body, headers, with_body=method != "HEAD")

    def _route(self, method: str, path: str) -> Response:
        for pattern, endpoints in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            endpoint = endpoints.get("GET" if method == "HEAD" else method)
            if endpoint is None:
                allowed = set(endpoints) | ({"HEAD"} if "GET" in endpoints else set())
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"method {method} is not supported on {path}",
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
            return endpoint(self, match)
        raise HttpError(HTTPStatus.NOT_FOUND, f"no endpoint {method} {path}")

    def _send(self, status: HTTPStatus, body: object, headers: Mapping[str, str], *, with_body: bool) -> None:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        unread_body = not self._body_consumed and (
            "Transfer-Encoding" in self.headers
            or self.headers.get("Content-Length", "0").strip() not in ("", "0")
        )
        if unread_body:
            self.close_connection = True  # the unread body would be taken for the next request
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if with_body and payload:
            self.wfile.write(payload)


def make_server(
    host: str = "127.0.0.1", port: int = 0, repository: ItemRepository | None = None
) -> AppServer:
    """A bound server, not yet serving (call ``serve_forever``); port 0 picks a free port."""
    return AppServer((host, port), repository or ItemRepository())


# -- entry point ----------------------------------------------------------------------------------------
def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python3 -m app", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--address", default=env.get("SERVER_ADDRESS", DEFAULT_ADDRESS), help="env SERVER_ADDRESS (0.0.0.0)"
    )
    parser.add_argument(
        "--port", type=int, default=int(env.get("SERVER_PORT", DEFAULT_PORT)), help="env SERVER_PORT (8080)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s : %(message)s"
    )
    server = make_server(args.address, args.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received, shutting down", signal.Signals(signum).name)
        server.accepting_traffic = False
        # shutdown() waits for serve_forever() to return, which runs in this (the main) thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)  # as PID 1 in a container, SIGTERM is ignored without a handler
    signal.signal(signal.SIGINT, stop)
    log.info("%s %s started on %s port %d (http)", APP_NAME, __version__, args.address, server.port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    log.info("stopped")
    return 0
