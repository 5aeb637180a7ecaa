"""``python3 -m app`` as the image's CMD runs it: configuration from the environment, a start line with the
port, and a graceful exit on SIGTERM (what Kubernetes sends before it kills a pod)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.main import DEFAULT_PORT, parse_args
from conftest import EXAMPLE, Client

STARTED = re.compile(r"started on (?P<address>\S+) port (?P<port>\d+) \(http\)")


def test_port_and_address_default_to_8080_on_every_interface() -> None:
    args = parse_args([], environ={})
    assert (args.address, args.port) == ("0.0.0.0", 8080)
    assert DEFAULT_PORT == 8080


def test_spring_style_environment_variables_then_flags() -> None:
    env = {"SERVER_PORT": "9090", "SERVER_ADDRESS": "127.0.0.1"}
    assert vars(parse_args([], environ=env)) == {"address": "127.0.0.1", "port": 9090}
    assert parse_args(["--port", "7070"], environ=env).port == 7070


@contextmanager
def running(
    env_extra: dict[str, str], args: list[str]
) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVER_")} | env_extra
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=EXAMPLE,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        port = None
        for line in proc.stderr:  # the first lines: until the server says where it listens
            lines.append(line)
            found = STARTED.search(line)
            if found:
                assert found["address"] == "127.0.0.1"
                port = int(found["port"])
                break
        assert port, "".join(lines)
        rest = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
        rest.start()
        yield proc, port, lines
        rest.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_module_entry_point_serves_and_stops_on_sigterm() -> None:
    with running({"SERVER_ADDRESS": "127.0.0.1", "SERVER_PORT": "0"}, []) as (proc, port, lines):
        client = Client(port)
        assert client.get("/actuator/health").json() == {"status": "UP"}
        assert client.post_json("/api/items", {"name": "crampons", "quantity": 2}).status == 201
        assert client.get("/api/items/1").json() == {"id": 1, "name": "crampons", "quantity": 2}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    log = "".join(lines)
    assert "SIGTERM received, shutting down" in log
    assert '"POST /api/items HTTP/1.1" 201' in log  # the access log goes to stderr
    assert log.rstrip().endswith("stopped")


def test_flags_override_the_environment() -> None:
    with running(
        {"SERVER_ADDRESS": "0.0.0.0", "SERVER_PORT": "1"}, ["--address", "127.0.0.1", "--port", "0"]
    ) as (
        proc,
        port,
        _,
    ):
        assert port != 1
        assert Client(port).get("/actuator/info").status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
