"""Every endpoint over real HTTP, against the server running on a free loopback port."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import datetime

from app import __version__
from app.main import MAX_BODY, AppServer
from conftest import Client

JSON = {"Content-Type": "application/json"}


def assert_error(doc: object, status: int, error: str, path: str) -> dict[str, object]:
    """The error body has the fields of Spring Boot's ``DefaultErrorAttributes``."""
    assert isinstance(doc, dict)
    assert doc["status"] == status
    assert doc["error"] == error
    assert doc["path"] == path
    assert isinstance(doc["message"], str) and doc["message"]
    stamp = datetime.fromisoformat(str(doc["timestamp"]))
    assert stamp.tzinfo is not None
    return doc


# -- actuator ------------------------------------------------------------------------------------------
def test_health_is_up(client: Client) -> None:
    for path in ("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness"):
        reply = client.get(path)
        assert reply.status == 200, path
        assert reply.json() == {"status": "UP"}


def test_readiness_goes_out_of_service_when_shutdown_begins(client: Client, server: AppServer) -> None:
    server.accepting_traffic = False
    reply = client.get("/actuator/health/readiness")
    assert reply.status == 503
    assert reply.json() == {"status": "OUT_OF_SERVICE"}
    assert client.get("/actuator/health/liveness").status == 200  # alive, only not ready


def test_info_names_the_app(client: Client) -> None:
    reply = client.get("/actuator/info")
    assert reply.status == 200
    doc = reply.json()
    assert isinstance(doc, dict)
    assert doc["app"] == {"name": "python-spring-equivalent", "version": __version__}
    assert doc["python"]["implementation"] == "CPython"


def test_head_has_headers_without_body(client: Client) -> None:
    reply = client.request("HEAD", "/actuator/health")
    assert reply.status == 200
    assert reply.raw == b""
    assert reply.headers["Content-Length"] == str(len(json.dumps({"status": "UP"})))


def test_server_header_does_not_advertise_python(client: Client) -> None:
    server = client.get("/actuator/health").headers["Server"]
    assert server == "python-spring-equivalent"


# -- items ---------------------------------------------------------------------------------------------
def test_create_read_list_delete(client: Client) -> None:
    assert client.get("/api/items").json() == []

    created = client.post_json("/api/items", {"name": " ice axe ", "quantity": 2})
    assert created.status == 201
    assert created.headers["Location"] == "/api/items/1"
    assert created.json() == {"id": 1, "name": "ice axe", "quantity": 2}
    second = client.post_json("/api/items", {"name": "rope", "quantity": 0})
    assert second.json() == {"id": 2, "name": "rope", "quantity": 0}

    got = client.get("/api/items/1")
    assert got.status == 200
    assert got.json() == {"id": 1, "name": "ice axe", "quantity": 2}
    assert client.get("/api/items").json() == [
        {"id": 1, "name": "ice axe", "quantity": 2},
        {"id": 2, "name": "rope", "quantity": 0},
    ]

    deleted = client.request("DELETE", "/api/items/1")
    assert deleted.status == 204
    assert deleted.raw == b""
    assert "Content-Length" not in deleted.headers
    assert_error(client.get("/api/items/1").json(), 404, "Not Found", "/api/items/1")
    assert client.request("DELETE", "/api/items/1").status == 404
    assert client.get("/api/items").json() == [{"id": 2, "name": "rope", "quantity": 0}]


def test_query_string_does_not_change_the_route(client: Client) -> None:
    client.post_json("/api/items", {"name": "rope", "quantity": 1})
    assert client.get("/api/items?page=0").json() == [{"id": 1, "name": "rope", "quantity": 1}]


def test_unknown_item_is_404(client: Client) -> None:
    reply = client.get("/api/items/42")
    assert reply.status == 404
    doc = assert_error(reply.json(), 404, "Not Found", "/api/items/42")
    assert "42" in str(doc["message"])


def test_non_integer_id_is_400(client: Client) -> None:
    for raw in ("abc", "-1", "1.5", "9" * 19, "%C2%B2"):
        reply = client.get(f"/api/items/{raw}")
        assert reply.status == 400, raw
        assert_error(reply.json(), 400, "Bad Request", f"/api/items/{raw}")


def test_validation_errors_are_400_with_every_field(client: Client) -> None:
    reply = client.post_json("/api/items", {"name": "", "quantity": -3, "colour": "red"})
    assert reply.status == 400
    doc = assert_error(reply.json(), 400, "Bad Request", "/api/items")
    assert doc["errors"] == [
        {"field": "colour", "message": "unknown field"},
        {"field": "name", "message": "must not be blank"},
        {"field": "quantity", "message": "must be between 0 and 1000000"},
    ]
    assert client.get("/api/items").json() == []  # nothing was stored


def test_malformed_json_is_400(client: Client) -> None:
    for body in (
        b'{"name": "rope",',
        b"\xff\xfe{}",
        b"[" * 50_000,
        b'{"name": "a", "quantity": ' + b"9" * 5000 + b"}",
    ):
        reply = client.request("POST", "/api/items", body, JSON)
        assert reply.status == 400, body[:20]
        doc = assert_error(reply.json(), 400, "Bad Request", "/api/items")
        assert str(doc["message"]).startswith("malformed JSON")


def test_wrong_content_type_is_415(client: Client) -> None:
    body = json.dumps({"name": "rope", "quantity": 1}).encode()
    for headers in (
        {"Content-Type": "text/plain"},
        {},
        {"Content-Type": "application/json; charset=latin-1"},
    ):
        reply = client.request("POST", "/api/items", body, headers)
        assert reply.status == 415, headers
        assert_error(reply.json(), 415, "Unsupported Media Type", "/api/items")
    ok = client.request("POST", "/api/items", body, {"Content-Type": "application/json; charset=UTF-8"})
    assert ok.status == 201


def test_body_without_length_is_411(client: Client, server: AppServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/items")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"2\r\n{}\r\n0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 411
        assert resp.headers["Connection"] == "close"  # the unread chunked body must not become a request
        assert_error(json.loads(resp.read()), 411, "Length Required", "/api/items")
    finally:
        conn.close()


def test_oversized_body_is_413_and_not_read(client: Client) -> None:
    body = json.dumps({"name": "x" * MAX_BODY, "quantity": 1}).encode()
    reply = client.request("POST", "/api/items", body, JSON)
    assert reply.status == 413
    assert reply.headers["Connection"] == "close"
    assert_error(reply.json(), 413, "Request Entity Too Large", "/api/items")


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    cases = {
        ("PUT", "/api/items"): "GET, HEAD, POST",
        ("DELETE", "/api/items"): "GET, HEAD, POST",
        ("POST", "/api/items/1"): "DELETE, GET, HEAD",
        ("PATCH", "/api/items/1"): "DELETE, GET, HEAD",
        ("POST", "/actuator/health"): "GET, HEAD",
    }
    for (method, path), allow in cases.items():
        reply = client.request(method, path)
        assert reply.status == 405, (method, path)
        assert reply.headers["Allow"] == allow
        assert_error(reply.json(), 405, "Method Not Allowed", path)


def test_unknown_path_is_404(client: Client) -> None:
    for path in ("/", "/api/items/", "/api/items/1/parts", "/actuator", "/actuator/env"):
        reply = client.get(path)
        assert reply.status == 404, path
        assert_error(reply.json(), 404, "Not Found", path)


def test_keep_alive_serves_several_requests_on_one_connection(client: Client, server: AppServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        first = client.request("POST", "/api/items", b'{"name": "a", "quantity": 1}', JSON, conn=conn)
        bad = client.request("POST", "/api/items", b'{"name": ""}', JSON, conn=conn)
        second = client.request("GET", "/api/items/1", conn=conn)
        assert (first.status, bad.status, second.status) == (201, 400, 200)
        assert second.json() == {"id": 1, "name": "a", "quantity": 1}
        assert first.headers.get("Connection") is None  # stayed open
    finally:
        conn.close()


def test_concurrent_posts_get_distinct_ids(client: Client) -> None:
    barrier = threading.Barrier(6)
    replies: list[tuple[int, object]] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        barrier.wait()
        for i in range(10):
            reply = client.post_json("/api/items", {"name": f"{n}/{i}", "quantity": i})
            with lock:
                replies.append((reply.status, reply.json()))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in replies] == [201] * 60
    ids = sorted(int(doc["id"]) for _, doc in replies if isinstance(doc, dict))
    assert ids == list(range(1, 61))
    listed = client.get("/api/items").json()
    assert isinstance(listed, list) and len(listed) == 60
