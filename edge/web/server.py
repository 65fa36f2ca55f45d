"""The page's HTTP server: login, status and the live view, events and their history, the bed zones
and the settings saved and applied live, a test alert, acknowledge, and the doctor's checks.

Routes (every one but /login needs a logged-in session; a page without one redirects to /login, data
and changes without one get 401/403; every POST must come from the page's own origin, and every change
needs the session's CSRF token in X-CSRF-Token; the login form carries its own token):
  GET  /login, POST /login      the password form; a right password sets the session cookie; after
                                LoginLimiter's free wrong passwords an address waits, longer each time
  GET  /                        the page (edge/web/page.py)
  GET  /app.js                  the page's script
  GET  /status.json             state, fps, people, live skeletons, latest events, zones, open alert,
                                the last test alert's deliveries
  GET  /snapshot.jpg            the latest camera frame, only with web.show_camera (else 403)
  GET  /events/<id>.png         the skeleton picture of a latest event's person (as alerts attach it)
  GET  /history.json?page=N     the events log, newest first, edge.web.history.PER_PAGE a page;
                                routine events (heartbeats) only with &routine=1
  POST /zones                   {"zones": [[[x, y], ...], ...]}: validated, saved to the config file,
                                applied to the running detector
  POST /test-alert              a test alert through every channel: buzzer and LED, voice, every push
                                channel of every tier (AlertHub.test_alert); 409 during a real alarm
  POST /acknowledge             acknowledges the open alert (as Home Assistant's button does)
  POST /doctor                  runs `fallwatch doctor`'s checks on this service's config
  POST /logout                  ends the session
  GET  /settings.json           the Settings form's sections and fields, from the config's declarations
                                (edge.web.settings; no secret's value)
  POST /settings                {"values": {"events.confirm_s": 5, ...}}: validated, saved to the config
                                file; events.* applied to the running detector, the rest after a restart
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
import threading
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.alerts import AlertHub
from edge.alerts.hub import MQTT_PASSWORD_ENV, TEST_SOUND_S
from edge.alerts.notify import all_urls, skeleton_picture
from edge.alerts.redact import SecretFilter
from edge.config import Config, ConfigError, WebConfig, secret
from edge.doctor import run_checks
from edge.local_http import LocalServer, send
from edge.pipeline import Pipeline
from edge.web import page
from edge.web.auth import LoginLimiter, Sessions, verify_password
from edge.web.history import events_page
from edge.web.settings import check_editable, page_settings, save_settings
from edge.web.state import held_checks, open_alert, status, test_deliveries

logger = logging.getLogger(__name__)

COOKIE = "fallwatch_session"
LOGIN_COOKIE = "fallwatch_login"
MAX_BODY = 64 * 1024
_EVENT_PICTURE = re.compile(r"^/events/([0-9A-Za-z_-]{1,64})\.png$")
HTML = "text/html; charset=utf-8"
# A history page number: ASCII digits, few enough that the reader's skip stays a machine-size int.
_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


class WebPage:
    """Serves the page for `pipeline` on cfg.host:cfg.port (0 = a free port; `port` says which).

    config_path: the config file the zones are saved into and the doctor checks (the service's own).
    """

    def __init__(self, cfg: WebConfig, config_path: str | Path, pipeline: Pipeline, room: str = "room") -> None:
        if not cfg.password_hash:
            raise ConfigError("web.password_hash = '': the page is never served without a password")
        self.cfg, self.config_path, self.pipeline, self.room = cfg, Path(config_path), pipeline, room
        self.sessions = Sessions(cfg.session_h * 3600)
        self.limiter = LoginLimiter()
        # every answer is scrubbed of exactly these, whatever a route put in it
        self.secrets = SecretFilter([*config_secrets(pipeline.cfg), cfg.password_hash], redact_urls=False)
        self._doctor = threading.Lock()
        self._test_key = ""
        self.server = LocalServer(cfg.host, cfg.port, self._get, self._post, "fallwatch-web")
        self.port = self.server.port

    def start(self) -> None:
        self.server.start()
        logger.info("set-up page on http://%s:%d/", self.cfg.host, self.port)

    def close(self) -> None:
        self.server.close()

    # -- routes -------------------------------------------------------------------------------------
    def _get(self, req: BaseHTTPRequestHandler) -> None:
        path, _, query = req.path.partition("?")
        if path == "/login":
            return self._login_form(req, "", 200)
        csrf = self.sessions.csrf(_cookie(req, COOKIE))
        if csrf is None:
            if path == "/":
                return _redirect(req, "/login")
            return self._json(req, 401, {"error": "log in first"})
        if path == "/":
            return send(req, 200, page.main(self.room, csrf, self.cfg.show_camera), HTML)
        if path == "/app.js":
            return send(req, 200, page.SCRIPT, "text/javascript; charset=utf-8")
        if path == "/status.json":
            return self._json(req, 200, self.status())
        if path == "/snapshot.jpg":
            return self._snapshot(req)
        if path == "/history.json":
            return self._history(req, query)
        if path == "/settings.json":
            return self._settings_form(req)
        picture = _EVENT_PICTURE.match(path)
        if picture:
            return self._event_picture(req, picture.group(1))
        self._json(req, 404, {"error": "no such page"})

    def _post(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        length = req.headers.get("Content-Length") or "0"
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
            return self._json(req, 413, {"error": f"Content-Length must be 0..{MAX_BODY}"})
        body = req.rfile.read(int(length))
        if not _same_origin(req):
            logger.warning("web: a POST from another site (%s) was refused", req.headers.get("Origin"))
            return self._json(req, 403, {"error": "Origin: requests from another site are refused"})
        if path == "/login":
            return self._login(req, body)
        sid = _cookie(req, COOKIE)
        csrf = self.sessions.csrf(sid)
        if csrf is None:
            return self._json(req, 403, {"error": "log in first"})
        if not _same(req.headers.get("X-CSRF-Token", ""), csrf):
            logger.warning("web: a change from %s without the CSRF token was refused", req.client_address[0])
            return self._json(req, 403, {"error": "X-CSRF-Token: missing or wrong"})
        if path == "/zones":
            return self._zones(req, body)
        if path == "/settings":
            return self._settings(req, body)
        if path == "/test-alert":
            return self._test_alert(req)
        if path == "/acknowledge":
            return self._acknowledge(req)
        if path == "/doctor":
            return self._run_doctor(req)
        if path == "/logout":
            self.sessions.end(sid)
            return self._json(req, 200, {"ok": True})
        self._json(req, 404, {"error": "no such page"})

    # -- login --------------------------------------------------------------------------------------
    def _login_form(self, req: BaseHTTPRequestHandler, error: str, code: int, wait_s: float = 0.0) -> None:
        """The form, with a fresh login token in both a cookie and the form (they must match)."""
        token = secrets.token_urlsafe(24)
        headers = [("Set-Cookie", f"{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login")]
        if wait_s:
            headers.append(("Retry-After", str(math.ceil(wait_s))))
        send(req, code, page.login(self.room, error, token), HTML, headers)

    def _login(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        address = req.client_address[0]
        wait = self.limiter.begin(address)
        if wait > 0:  # refused before the password is even looked at
            return self._login_form(req, f"Too many wrong passwords: wait {math.ceil(wait)} s.", 429, wait)
        try:  # the try ends before the answer goes out: the client's next try may follow at once
            form = parse_qs(body.decode("utf-8", "replace"))
            fresh = _same(form.get("token", [""])[0], _cookie(req, LOGIN_COOKIE) or "")
            right = fresh and verify_password(form.get("password", [""])[0], self.cfg.password_hash)
            if right:
                self.limiter.succeeded(address)
            elif fresh:
                self.limiter.failed(address)
        finally:
            self.limiter.end(address)
        if not fresh:
            return self._login_form(req, "The form had expired: log in again.", 403)
        if not right:
            logger.warning("web: a wrong password from %s", address)
            return self._login_form(req, "Wrong password.", 401)
        sid, _ = self.sessions.create()
        cookie = f"{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age={int(self.sessions.lifetime_s)}"
        _redirect(req, "/", cookie)

    # -- changes ------------------------------------------------------------------------------------
    def _zones(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            zones = json.loads(body)["zones"]
            saved = save_settings(self.config_path, {"events.bed_zones": zones}, self.pipeline.detector)
        except (ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            error = str(exc) if isinstance(exc, ConfigError) else 'the body must be {"zones": [...]}'
            return self._json(req, 400, {"error": error})
        zones = saved.cfg.events.bed_zones
        logger.info("web: %d bed zone(s) saved to %s and applied", len(zones), self.config_path)
        self._json(req, 200, {"zones": zones})

    def _settings_form(self, req: BaseHTTPRequestHandler) -> None:
        try:
            self._json(req, 200, page_settings(self.config_path))
        except (OSError, ConfigError) as exc:  # the file was removed or broken by hand since the start
            self._json(req, 500, {"error": str(exc)})

    def _settings(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            values = json.loads(body)["values"]
            if not isinstance(values, dict):
                raise TypeError
            check_editable(values)
            saved = save_settings(self.config_path, values, self.pipeline.detector)
        except (ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            error = str(exc) if isinstance(exc, ConfigError) else 'the body must be {"values": {"key": value}}'
            return self._json(req, 400, {"error": error})
        keys = ", ".join([*saved.live, *saved.restart]) or "nothing changed"
        logger.warning("web: settings saved to %s by %s: %s", self.config_path, req.client_address[0], keys)
        self._json(req, 200, {"live": saved.live, "restart": saved.restart})

    def _hub(self, req: BaseHTTPRequestHandler) -> AlertHub | None:
        """The running alert hub, or None after answering 503 (not started yet)."""
        hub = self.pipeline.alerts
        if isinstance(hub, AlertHub):
            return hub
        self._json(req, 503, {"error": "the alerts have not started yet"})
        return None

    def _test_alert(self, req: BaseHTTPRequestHandler) -> None:
        hub = self._hub(req)
        if hub is None:
            return
        drill = hub.test_alert(f"the set-up page from {req.client_address[0]}")
        if drill is None:
            return self._json(req, 409, {"error": "a real alarm is on: no test until it ends"})
        self._test_key = drill.key
        answer = {"sound_s": TEST_SOUND_S, "voice": drill.voice, "deliveries": test_deliveries(hub, drill.key)}
        self._json(req, 200, answer)

    def _acknowledge(self, req: BaseHTTPRequestHandler) -> None:
        hub = self._hub(req)
        if hub is None:
            return
        if not open_alert(hub):
            return self._json(req, 409, {"error": "no alert is open"})
        hub.acknowledge(f"the set-up page from {req.client_address[0]}")
        self._json(req, 200, {"ok": True})

    def _run_doctor(self, req: BaseHTTPRequestHandler) -> None:
        if not self._doctor.acquire(blocking=False):
            return self._json(req, 409, {"error": "the checks are already running"})
        try:
            checks = run_checks(str(self.config_path), held=held_checks(self.pipeline))
        finally:
            self._doctor.release()
        rows = [{"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix} for c in checks]
        self._json(req, 200, {"checks": rows})

    # -- pictures and data --------------------------------------------------------------------------
    def _snapshot(self, req: BaseHTTPRequestHandler) -> None:
        import cv2

        if not self.cfg.show_camera:
            return self._json(req, 403, {"error": "web.show_camera = false: the camera picture stays in the room"})
        live = self.pipeline.live
        if live is None:
            return self._json(req, 503, {"error": "no frame yet"})
        ok, jpeg = cv2.imencode(".jpg", live.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        send(req, 200 if ok else 500, jpeg.tobytes() if ok else b"", "image/jpeg")

    def _event_picture(self, req: BaseHTTPRequestHandler, event_id: str) -> None:
        skeleton = self.pipeline.event_skeletons.get(event_id)
        if skeleton is None:
            return self._json(req, 404, {"error": f"event {event_id}: no skeleton kept (only the latest events)"})
        send(req, 200, skeleton_picture(*skeleton), "image/png")

    def _history(self, req: BaseHTTPRequestHandler, query: str) -> None:
        args = parse_qs(query)
        number, routine = args.get("page", ["0"])[0], args.get("routine", ["0"])[0] == "1"
        if not _PAGE_NUMBER.fullmatch(number):  # not str.isdigit: "\u00b2" is a digit int() refuses
            return self._json(req, 400, {"error": f"page = {number!r}: must be a whole number, 0 = the newest"})
        path = self.pipeline.events_path
        events, older = events_page(path, int(number), routine=routine) if path else ([], False)
        answer = {"page": int(number), "routine": routine, "events": events, "older": older, "logged": bool(path)}
        self._json(req, 200, answer)

    def status(self) -> dict[str, Any]:
        """What the page shows (edge.web.state.status) and the last test alert's deliveries."""
        data = status(self.pipeline, self.room, self.cfg.show_camera)
        hub = self.pipeline.alerts
        data["test"] = test_deliveries(hub, self._test_key) if self._test_key and isinstance(hub, AlertHub) else []
        return data

    def _json(self, req: BaseHTTPRequestHandler, code: int, data: Any) -> None:
        send(req, code, json_answer(self.secrets, data), "application/json")


def json_answer(secrets: SecretFilter, data: Any) -> str:
    """`data` as JSON with every secret scrubbed from its strings (keys too) before they are encoded:
    json.dumps escapes a secret's quote, backslash or non-ASCII letter, so scrubbing the encoded text
    would miss it."""

    def scrubbed(value: Any) -> Any:
        if isinstance(value, str):
            return secrets.scrub(value)
        if isinstance(value, dict):
            return {scrubbed(key): scrubbed(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [scrubbed(item) for item in value]
        return value

    return json.dumps(scrubbed(data))


def config_secrets(cfg: Config) -> list[str]:
    """The secret values of a config (what Config.has_secrets() counts, from the file or the
    environment) and the camera's password in source.uri (rtsp://user:password@...)."""
    try:
        camera = urlsplit(cfg.source.uri).password or ""
    except ValueError:  # not a URL (an unbalanced [ ): nothing to take apart
        camera = ""
    return [*all_urls(cfg.notify), secret(cfg.mqtt.password, MQTT_PASSWORD_ENV), cfg.web.password_hash, camera]


def _cookie(req: BaseHTTPRequestHandler, name: str) -> str | None:
    cookie = SimpleCookie(req.headers.get("Cookie") or "")
    return cookie[name].value if name in cookie else None


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _same_origin(req: BaseHTTPRequestHandler) -> bool:
    """A browser's POST names the page it came from (Origin); it must be this server as the browser
    reached it (Host). A client that sends no Origin (curl, a script on the device) is no browser."""
    origin = req.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == (req.headers.get("Host") or "") and origin.startswith("http://")


def _redirect(req: BaseHTTPRequestHandler, to: str, cookie: str = "") -> None:
    req.send_response(HTTPStatus.SEE_OTHER)
    req.send_header("Location", to)
    if cookie:
        req.send_header("Set-Cookie", cookie)
    req.send_header("Content-Length", "0")
    req.end_headers()
