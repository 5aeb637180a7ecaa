"""A fault-injecting HTTP proxy on 127.0.0.1, in front of a real server (the ``docker-registry`` of
``registry_server.py``, or its ``TokenServer``), for the fault suite of issue 12.

``FaultProxy(upstream_port)`` listens on a free loopback port; clients talk to it as to the server.
Each connection carries one request (the proxy asks the upstream for ``Connection: close`` and closes
the client's connection after the answer, so no keep-alive bookkeeping is needed). ``proxy.faults`` is
a list of ``Fault``s; the first whose ``path`` is a substring of the request's path and which has uses
left applies to that request:

=============== ==============================================================================
kind            what the client sees
=============== ==============================================================================
``delay``       the upstream's answer, ``seconds`` late
``trickle``     the answer at ``rate`` bytes per second (headers included)
``stall``       the headers and ``after`` bytes of the body, then nothing (the connection stays
                open until the proxy stops or the client gives up)
``reset``       the headers and ``after`` bytes of the body, then a TCP reset
``truncate``    the headers and ``after`` bytes of the body, then a clean close (FIN)
``status``      ``status`` with ``body`` at once; the upstream is not asked
``drop``        the connection closed at once, without an answer
=============== ==============================================================================

``times`` bounds how many requests a fault applies to (None: all of them); ``proxy.log`` records
``(path, fault kind or None)`` for every request. Everything else is relayed untouched.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str
    path: str = ""
    times: int | None = None
    seconds: float = 0.0  # delay
    rate: int = 0  # trickle: bytes per second
    after: int = 0  # stall, reset, truncate: body bytes sent first
    status: int = 500
    body: bytes = b""


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stop.set()
        self._accepter.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()

    def _pick(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path in path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    self.log.append((path, fault.kind))
                    return fault
            self.log.append((path, None))
            return None

    def _serve(self, client: socket.socket) -> None:
        try:
            with client:
                client.settimeout(30)
                head, rest = _read_head(client)
                if head is None:
                    return
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].decode("latin-1") if len(lines[0].split(b" ")) > 1 else "/"
                fault = self._pick(path)
                if fault is not None and fault.kind == "drop":
                    return  # closed without an answer
                if fault is not None and fault.kind == "status":
                    client.sendall(
                        f"HTTP/1.1 {fault.status} Fault\r\nContent-Length: {len(fault.body)}\r\n"
                        "Content-Type: application/json\r\nConnection: close\r\n\r\n".encode()
                        + fault.body
                    )
                    return
                headers = [line for line in lines[1:] if line and not line.lower().startswith(b"connection:")]
                length = next(
                    (int(h.split(b":", 1)[1]) for h in headers if h.lower().startswith(b"content-length:")), 0
                )
                while len(rest) < length:
                    more = client.recv(65536)
                    if not more:
                        return
                    rest += more
                request = b"\r\n".join([lines[0], *headers, b"Connection: close", b"", b""]) + rest
                with socket.create_connection(self.upstream, timeout=30) as upstream:
                    upstream.sendall(request)
                    self._relay(upstream, client, fault)
        except OSError:
            pass  # the client gave up (or was reset on purpose): nothing more to do

    def _relay(self, upstream: socket.socket, client: socket.socket, fault: Fault | None) -> None:
        head, body = _read_head(upstream)
        if head is None:
            return
        head += b"\r\n\r\n"
        if fault is None:
            client.sendall(head + body)
            _pump(upstream, client)
            return
        if fault.kind == "delay":
            if self._stop.wait(fault.seconds):
                return
            client.sendall(head + body)
            _pump(upstream, client)
            return
        if fault.kind == "trickle":
            self._trickle(head + body, upstream, client, fault.rate)
            return
        # stall, reset, truncate: the headers and ``after`` bytes of the body first
        sent = 0
        client.sendall(head)
        pending = body
        while sent < fault.after:
            if not pending:
                pending = upstream.recv(65536)
                if not pending:
                    return
            piece = pending[: fault.after - sent]
            client.sendall(piece)
            sent += len(piece)
            pending = pending[len(piece) :]
        if fault.kind == "stall":
            while not self._stop.wait(0.1):
                try:  # hold the line until the client hangs up
                    client.setblocking(False)
                    if client.recv(1, socket.MSG_PEEK) == b"":
                        return
                except BlockingIOError:
                    continue
                except OSError:
                    return
            return
        if fault.kind == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # truncate: a clean close (the ``with`` closes it)

    def _trickle(self, first: bytes, upstream: socket.socket, client: socket.socket, rate: int) -> None:
        piece_size = max(1, rate // 20)  # 20 writes a second
        pending = first
        while not self._stop.is_set():
            if not pending:
                pending = upstream.recv(65536)
                if not pending:
                    return
            client.sendall(pending[:piece_size])
            pending = pending[piece_size:]
            if self._stop.wait(piece_size / rate):
                return


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    """(the header block without its final blank line, the bytes read past it); None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pump(source: socket.socket, dest: socket.socket) -> None:
    while True:
        chunk = source.recv(65536)
        if not chunk:
            return
        dest.sendall(chunk)


def wait_until(condition: object, timeout: float) -> bool:
    """Poll ``condition()`` every 20 ms until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False
