"""A webhook receiver on 127.0.0.1 (a real HTTP server, the far end of a push channel) for tests."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Arrival:
    """One request as the server saw it: monotonic time, path, headers, JSON body, status sent."""

    time: float
    path: str
    headers: dict[str, str]
    body: dict
    status: int
    accepted: bool


@dataclass
class Receiver:
    """A webhook receiver. `script` lists (status, headers) answers to give first, then 200s; a dict
    {path: list} scripts each path on its own (senders to different paths race).

    delay_s: how long to hold each request before answering. A request whose client hung up during
    the delay is not accepted (the sender cannot have seen a success for it).
    """

    script: list[tuple[int, dict[str, str]]] | dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=list)
    delay_s: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    in_flight: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def titles(self, path: str) -> list[str]:
        """Titles of the accepted messages posted to `path`, in arrival order."""
        with self.lock:
            return [a.body.get("title", "") for a in self.arrivals if a.accepted and a.path == path]

    def accepted_keys(self) -> list[str]:
        with self.lock:
            return [a.headers.get("Idempotency-Key", a.body.get("message", "")) for a in self.arrivals if a.accepted]


def _client_gone(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            body = json.loads(raw or b"{}") if self.headers.get("Content-Type") == "application/json" else {"raw": raw}
            with receiver.lock:
                script = receiver.script
                answers = script.get(self.path, []) if isinstance(script, dict) else script
                status, headers = answers.pop(0) if answers else (200, {})
            if receiver.delay_s:
                receiver.in_flight.set()
                time.sleep(receiver.delay_s)
            accepted = 200 <= status < 300 and not _client_gone(self.connection)
            with receiver.lock:
                receiver.arrivals.append(
                    Arrival(time.monotonic(), self.path, dict(self.headers), body, status, accepted)
                )
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except OSError:
                pass

        do_PUT = do_POST  # noqa: N815 (ntfy uploads attachments with PUT)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[tuple[Receiver, int]]:
    """A Receiver running on 127.0.0.1 (its port is the second item)."""
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
