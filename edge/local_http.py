"""The device's small HTTP servers (the acknowledge page, the set-up page): one server thread, one way
to answer.

    server = LocalServer("127.0.0.1", 0, on_get, on_post, "fallwatch-web")  # port 0: a free one
    server.start(); server.port; server.close()
    send(request, 200, "<p>hello</p>", "text/html; charset=utf-8")
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

Route = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """Serves on_get / on_post (called on the server's threads) on host:port until close().

    log_requests: False keeps request lines out of the log (a secret token in the path).
    """

    def __init__(
        self, host: str, port: int, on_get: Route, on_post: Route, name: str, log_requests: bool = True
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                on_get(self)

            def do_POST(self) -> None:
                on_post(self)

            def log_message(self, format: str, *args: object) -> None:
                if log_requests:
                    logger.debug("%s %s: " + format, name, self.client_address[0], *args)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(
    request: BaseHTTPRequestHandler,
    status: int,
    body: str | bytes,
    kind: str,
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    """Answer with `body` (text is UTF-8 encoded) of content type `kind` and any further `headers`;
    never cached, never framed."""
    data = body.encode() if isinstance(body, str) else body
    request.send_response(status)
    for name, value in headers:
        request.send_header(name, value)
    request.send_header("Content-Type", kind)
    request.send_header("Content-Length", str(len(data)))
    request.send_header("Cache-Control", "no-store")
    request.send_header("X-Frame-Options", "DENY")
    request.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
    request.end_headers()
    request.wfile.write(data)
