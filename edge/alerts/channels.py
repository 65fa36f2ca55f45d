"""Push channels: one interface, two backends, one factory.

A channel takes a `Message` and returns a `SendResult` that says whether to retry:

- `WebhookChannel` (json:// and jsons:// URLs) posts Apprise's JSON payload with FallWatch's own
  HTTP code, because Apprise hides the HTTP status and headers: only this way can a 429/503
  `Retry-After` be honoured and a 4xx be told from a 5xx. Its body is the one Apprise's json://
  sends ({"version", "title", "message", "attachments", "type"}), so a receiver cannot tell them
  apart; it adds the header `Idempotency-Key: <event id>` for receivers that drop repeats.
- `AppriseChannel` (every other scheme: ntfy, Pushover, Telegram, LINE, mailto, Slack, Discord...)
  sends through Apprise, which returns only success or failure. The status code is read back from
  the log lines Apprise captures per attempt ("... error=404."), best effort: a 4xx other than
  408/425/429 is permanent; anything else that failed is retried with backoff (no Retry-After).

`create_channel(url, timeout_s)` picks the backend and raises ValueError (URL redacted) for a URL
that neither backend accepts. A channel's `key` is a hash of its URL: the outbox stores that, never
the URL with its token.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import json
import logging
import re
import tempfile
import time
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from edge.alerts.redact import redact
from edge.event_kinds import KINDS

logger = logging.getLogger(__name__)

RETRY_AFTER_MAX_S = 3600.0
_TRANSIENT_4XX = {408, 425, 429}


@dataclass(frozen=True)
class Message:
    """One notification.

    key: the delivery key (the event id); title, body: plain text; kind: the event kind or "test";
    image: PNG bytes or None; image_name: the attachment's file name.
    """

    key: str
    title: str
    body: str
    kind: str = "info"
    image: bytes | None = None
    image_name: str = "skeleton.png"

    @property
    def severity(self) -> str:
        """Apprise's notify type from the kinds table: failure for alarms and warnings, success for an
        all-clear, info otherwise (tests, notices)."""
        info = KINDS.get(self.kind)
        severity = info.severity if info is not None else "info"
        return {"alarm": "failure", "warning": "failure", "clear": "success"}.get(severity, "info")


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send: `ok`; else `permanent` (do not retry) or a `retry_after` hint in s."""

    ok: bool
    permanent: bool = False
    retry_after: float | None = None
    detail: str = ""


def classify_status(status: int, retry_after: float | None = None) -> SendResult:
    """Map an HTTP status to a SendResult: 2xx ok, 408/425/429/5xx retry, other 4xx permanent."""
    if 200 <= status < 300:
        return SendResult(True, detail=f"HTTP {status}")
    permanent = 400 <= status < 500 and status not in _TRANSIENT_4XX
    return SendResult(False, permanent=permanent, retry_after=retry_after, detail=f"HTTP {status}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped at 1 h; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when - (time.time() if now is None else now)), RETRY_AFTER_MAX_S)


class Channel(ABC):
    """A push destination. `name` is safe to log (redacted); `key` identifies it in the outbox."""

    def __init__(self, url: str) -> None:
        self.key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.name = redact(url)

    @abstractmethod
    def send(self, message: Message) -> SendResult:
        """Send one message; never raises for network or server errors (they are SendResults)."""


class WebhookChannel(Channel):
    """json://[user:password@]host[:port]/path[?query] (jsons:// for HTTPS), sent with http.client.

    Query arguments starting with "+" become headers (as in Apprise); the others stay in the URL.
    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        super().__init__(url)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("json", "jsons") or not parts.hostname:
            raise ValueError(f"not a json:// webhook URL: {self.name}")
        self.https = parts.scheme == "jsons"
        self.host = parts.hostname
        self.port = parts.port
        self.timeout_s = timeout_s
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        self.headers = {k[1:]: v for k, v in query if k.startswith("+")}
        rest = urllib.parse.urlencode([(k, v) for k, v in query if not k.startswith("+")])
        self.path = (parts.path or "/") + (f"?{rest}" if rest else "")
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def payload(self, message: Message) -> bytes:
        """Apprise's json:// body for `message`."""
        attachments = []
        if message.image is not None:
            attachments.append(
                {
                    "filename": message.image_name,
                    "base64": base64.b64encode(message.image).decode(),
                    "mimetype": "image/jpeg" if message.image_name.endswith(".jpg") else "image/png",
                }
            )
        body = {
            "version": "1.0",
            "title": message.title,
            "message": message.body,
            "attachments": attachments,
            "type": message.severity,
        }
        return json.dumps(body).encode()

    def send(self, message: Message) -> SendResult:
        connection_class = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        connection = connection_class(self.host, self.port, timeout=self.timeout_s)
        headers = {
            "User-Agent": "FallWatch",
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            **self.headers,
        }
        try:
            connection.request("POST", self.path, body=self.payload(message), headers=headers)
            response = connection.getresponse()
            response.read()
            retry_after = parse_retry_after(response.getheader("Retry-After"))
            return classify_status(response.status, retry_after)
        except (OSError, http.client.HTTPException) as exc:
            return SendResult(False, detail=f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()


_APPRISE_STATUS = re.compile(r"error=(\d{3})\b")


class AppriseChannel(Channel):
    """Any Apprise URL. Raises ValueError (URL redacted) when Apprise does not accept it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        import apprise

        self._apprise = apprise
        self._instance = apprise.Apprise()
        if not self._instance.add(url):
            raise ValueError(f"Apprise does not accept this URL: {self.name}")

    def send(self, message: Message) -> SendResult:
        apprise = self._apprise
        notify_type = {
            "failure": apprise.NotifyType.FAILURE,
            "success": apprise.NotifyType.SUCCESS,
        }.get(message.severity, apprise.NotifyType.INFO)
        with tempfile.TemporaryDirectory(prefix="fallwatch-") as folder:
            attach = None
            if message.image is not None:
                path = Path(folder) / message.image_name
                path.write_bytes(message.image)
                attach = apprise.AppriseAttachment(str(path))
            try:
                result = self._instance.notify(
                    body=message.body, title=message.title, notify_type=notify_type, attach=attach
                )
            except Exception as exc:  # a plugin bug must not kill the delivery worker
                logger.exception("Apprise raised while sending to %s", self.name)
                return SendResult(False, detail=f"{type(exc).__name__}")
        if bool(result):
            return SendResult(True, detail="sent")
        status = self._status_from_logs(result)
        return classify_status(status) if status else SendResult(False, detail="Apprise reported failure")

    @staticmethod
    def _status_from_logs(result: object) -> int | None:
        """The last HTTP status an Apprise plugin logged for this send ("error=NNN"), if any."""
        status = None
        for service in result:  # type: ignore[attr-defined]
            for attempt in service:
                for entry in attempt:
                    found = _APPRISE_STATUS.findall(str(entry))
                    if found:
                        status = int(found[-1])
        return status


def create_channel(url: str, timeout_s: float = 10.0) -> Channel:
    """The channel for `url`: WebhookChannel for json(s)://, AppriseChannel otherwise."""
    if url.split("://", 1)[0].lower() in ("json", "jsons"):
        return WebhookChannel(url, timeout_s)
    return AppriseChannel(url)
