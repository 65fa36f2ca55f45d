"""The page's HTTP server: login, status, the snapshot, and the bed zones saved and applied live.

Routes (every one but /login needs a logged-in session; a page without one redirects to /login, data
and changes without one get 401/403; every change needs the session's CSRF token in X-CSRF-Token):
  GET  /login, POST /login      the password form; a right password sets the session cookie
  GET  /                        status and the zone editor (edge/web/page.py)
  GET  /app.js                  the page's script
  GET  /status.json             state, fps, people in view, the latest events, the bed zones
  GET  /snapshot.jpg            the latest camera frame
  POST /zones                   {"zones": [[[x, y], ...], ...]}: validated, saved to the config file,
                                applied to the running detector
  POST /logout                  ends the session
"""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from edge.config import ConfigError, WebConfig
from edge.local_http import LocalServer, send
from edge.pipeline import Pipeline
from edge.web import page
from edge.web.auth import Sessions, verify_password
from edge.web.zones import save_bed_zones

logger = logging.getLogger(__name__)

COOKIE = "fallwatch_session"
MAX_BODY = 64 * 1024
LATEST_EVENTS = 10


class WebPage:
    """Serves the page for `pipeline` on cfg.host:cfg.port (0 = a free port; `port` says which).

    config_path: the config file the zones are saved into (the running service's own file).
    """

    def __init__(self, cfg: WebConfig, config_path: str | Path, pipeline: Pipeline, room: str = "room") -> None:
        if not cfg.password_hash:
            raise ConfigError("web.password_hash = '': the page is never served without a password")
        self.cfg, self.config_path, self.pipeline, self.room = cfg, Path(config_path), pipeline, room
        self.sessions = Sessions(cfg.session_h * 3600)
        self.server = LocalServer(cfg.host, cfg.port, self._get, self._post, "fallwatch-web")
        self.port = self.server.port

    def start(self) -> None:
        self.server.start()
        logger.info("set-up page on http://%s:%d/", self.cfg.host, self.port)

    def close(self) -> None:
        self.server.close()

    # -- routes -------------------------------------------------------------------------------------
    def _get(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        if path == "/login":
            return send(req, 200, page.login(self.room, ""), "text/html; charset=utf-8")
        csrf = self.sessions.csrf(_session(req))
        if csrf is None:
            if path == "/":
                return _redirect(req, "/login")
            return _send_json(req, 401, {"error": "log in first"})
        if path == "/":
            return send(req, 200, page.main(self.room, csrf), "text/html; charset=utf-8")
        if path == "/app.js":
            return send(req, 200, page.SCRIPT, "text/javascript; charset=utf-8")
        if path == "/status.json":
            return _send_json(req, 200, self.status())
        if path == "/snapshot.jpg":
            return self._snapshot(req)
        _send_json(req, 404, {"error": "no such page"})

    def _post(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        length = req.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY:
            return _send_json(req, 413, {"error": f"Content-Length must be 0..{MAX_BODY}"})
        body = req.rfile.read(int(length))
        if path == "/login":
            return self._login(req, body)
        sid = _session(req)
        csrf = self.sessions.csrf(sid)
        if csrf is None:
            return _send_json(req, 403, {"error": "log in first"})
        if not _same(req.headers.get("X-CSRF-Token", ""), csrf):
            logger.warning("web: a change from %s without the CSRF token was refused", req.client_address[0])
            return _send_json(req, 403, {"error": "missing or wrong CSRF token"})
        if path == "/zones":
            return self._zones(req, body)
        if path == "/logout":
            self.sessions.end(sid)
            return _send_json(req, 200, {"ok": True})
        _send_json(req, 404, {"error": "no such page"})

    def _login(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        password = parse_qs(body.decode("utf-8", "replace")).get("password", [""])[0]
        if not verify_password(password, self.cfg.password_hash):
            logger.warning("web: a wrong password from %s", req.client_address[0])
            return send(req, 401, page.login(self.room, "Wrong password."), "text/html; charset=utf-8")
        sid, _ = self.sessions.create()
        cookie = f"{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age={int(self.sessions.lifetime_s)}"
        _redirect(req, "/", cookie)

    def _zones(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            zones = json.loads(body)["zones"]
            saved = save_bed_zones(self.config_path, zones)
        except (ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            return _send_json(req, 400, {"error": str(exc) if isinstance(exc, ConfigError) else "bad request"})
        detector = self.pipeline.detector
        if detector is not None:  # one assignment: the detector's thread sees the old or the new list
            detector.events.cfg.bed_zones = saved
        logger.info("web: %d bed zone(s) saved to %s and applied", len(saved), self.config_path)
        _send_json(req, 200, {"zones": saved})

    def _snapshot(self, req: BaseHTTPRequestHandler) -> None:
        import cv2

        live = self.pipeline.live
        if live is None:
            return _send_json(req, 503, {"error": "no frame yet"})
        ok, jpeg = cv2.imencode(".jpg", live.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        send(req, 200 if ok else 500, jpeg.tobytes() if ok else b"", "image/jpeg")

    def status(self) -> dict[str, Any]:
        """What the page shows: the room's state, fps, people in view, the latest events, the zones."""
        live, events = self.pipeline.live, self.pipeline.events[-LATEST_EVENTS:]
        states = set(live.states.values()) if live is not None else set()
        state = next((s for s in ("alert", "suspected") if s in states), "ok")
        if live is None:
            state = "starting"
        elif live.source_lost:
            state = "camera lost"
        detector = self.pipeline.detector
        return {
            "room": self.room,
            "state": state,
            "fps": round(live.fps, 1) if live is not None else 0.0,
            "people": live.people if live is not None else 0,
            "video_time": live.video_time if live is not None else None,
            "events": [
                {"event": e.event, "video_time": e.video_time, "wall_time": e.wall_time, "track_id": e.track_id}
                for e in reversed(events)
            ],
            "zones": detector.events.cfg.bed_zones if detector is not None else [],
        }


def _session(req: BaseHTTPRequestHandler) -> str | None:
    cookie = SimpleCookie(req.headers.get("Cookie") or "")
    return cookie[COOKIE].value if COOKIE in cookie else None


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _redirect(req: BaseHTTPRequestHandler, to: str, cookie: str = "") -> None:
    req.send_response(HTTPStatus.SEE_OTHER)
    req.send_header("Location", to)
    if cookie:
        req.send_header("Set-Cookie", cookie)
    req.send_header("Content-Length", "0")
    req.end_headers()


def _send_json(req: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    send(req, status, json.dumps(data), "application/json")
