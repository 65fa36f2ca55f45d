"""The device's acknowledge page: the link in an alert message, usable on the home network.

GET /ack/<token> shows the alert and one button; only the POST it sends acknowledges (a messenger's
link preview fetches the GET, and must not acknowledge for anyone). <token> is the secret of an
open episode (edge/alerts/escalation.py); any other path is 404. A phone reaches the page only
where it can reach the device: on the same network, or through a VPN; not from the mobile network.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from edge.local_http import LocalServer, send

logger = logging.getLogger(__name__)

_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>FallWatch {room}</title></head><body style="font-family: sans-serif; font-size: 1.3em">
<h1>FallWatch: {room}</h1><p>{text}</p>{form}</body></html>"""
_FORM = '<form method="post"><button style="font-size: 1.5em">I am taking care of it (acknowledge)</button></form>'


class AckPage:
    """Serves the page on host:port (port 0 = a free one; `port` says which) until close().

    is_token(token): True for the secret of an episode still escalating. on_ack(who): called on the
    server's thread for each acknowledge (must return quickly).
    """

    def __init__(
        self, host: str, port: int, room: str, is_token: Callable[[str], bool], on_ack: Callable[[str], None]
    ) -> None:
        self.room = room
        self.is_token = is_token
        self.on_ack = on_ack
        self.server = LocalServer(  # the token is in the path: keep request lines out of the log
            host, port, lambda r: self._answer(r, False), lambda r: self._answer(r, True), "fallwatch-ack", False
        )
        self.port = self.server.port

    def start(self) -> None:
        self.server.start()
        logger.info("acknowledge page on port %d", self.port)

    def close(self) -> None:
        self.server.close()

    def _answer(self, request: BaseHTTPRequestHandler, acknowledge: bool) -> None:
        parts = request.path.split("?", 1)[0].strip("/").split("/")
        valid = len(parts) == 2 and parts[0] == "ack" and self.is_token(parts[1])
        if not valid:
            self._send(request, 404, "This alert link is not valid, or the alert has ended.", "")
            return
        if acknowledge:
            logger.warning("alert acknowledged through the device's page by %s", request.client_address[0])
            self.on_ack(f"link from {request.client_address[0]}")
            self._send(request, 200, "Acknowledged. The reminders stop; the contacts are told.", "")
            return
        self._send(request, 200, "A fall alert is open and nobody has acknowledged it yet.", _FORM)

    def _send(self, request: BaseHTTPRequestHandler, status: int, text: str, form: str) -> None:
        body = _PAGE.format(room=html.escape(self.room), text=html.escape(text), form=form)
        send(request, status, body, "text/html; charset=utf-8")
