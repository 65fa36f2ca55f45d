"""Push notifications: what a caregiver reads, the skeleton picture, and the durable sender.

    notifier = Notifier.from_config(cfg)       # opens the outbox, checks every URL
    notifier.start()                           # the delivery thread
    notifier.alert(event, keypoints, aspect)   # stored first, then sent (returns at once)
    notifier.stop()
    send_message(cfg.notify, "Training done", "F1 0.91")  # one immediate try, no outbox

Channel URLs come from `notify.urls` in the config file, or, when that is empty, from the
FALLWATCH_NOTIFY_URLS environment variable (whitespace-separated).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime

import numpy as np

from edge.alerts.channels import Channel, Message, create_channel
from edge.alerts.outbox import Failure, Outbox, OutboxWorker
from edge.alerts.redact import install_secret_filter
from edge.config import Config, ConfigError, NotifyConfig
from edge.events import Event
from edge.skeleton import EDGES

logger = logging.getLogger(__name__)

URLS_ENV = "FALLWATCH_NOTIFY_URLS"

_HEADLINES = {
    "fall_alert": "Fall in {room}",
    "long_lie": "Someone has been lying on the floor in {room}",
    "recovered": "All clear in {room}: the person got up",
    "cancelled": "All clear in {room}: the alarm was cancelled with the button",
    "source_lost": "FallWatch in {room} cannot see: camera lost",
    "source_restored": "FallWatch in {room} sees again: camera back",
    "fall_suspected": "Possible fall in {room}",
    "heartbeat": "FallWatch in {room} is running",
}
_DETAILS = {
    "fall_alert": "A person fell and has not got up. Please check on them now.",
    "long_lie": "A person has been lying outside the bed for a long time. Please check on them.",
    "recovered": "The person is up again after the fall alert.",
    "cancelled": "Someone in the room pressed the cancel button.",
    "source_lost": "Falls cannot be detected until the camera works again.",
    "source_restored": "Fall detection is running again.",
    "fall_suspected": "The alarm will follow unless the person gets up.",
    "heartbeat": "",
}


def notify_urls(cfg: NotifyConfig) -> list[str]:
    """The channel URLs: `cfg.urls`, or FALLWATCH_NOTIFY_URLS split on whitespace when that is empty."""
    return list(cfg.urls) or os.environ.get(URLS_ENV, "").split()


def create_channels(cfg: NotifyConfig) -> list[Channel]:
    """One channel per URL; raises ConfigError naming notify.urls[i] (URL hidden) for a bad one."""
    channels = []
    for i, url in enumerate(notify_urls(cfg)):
        try:
            channels.append(create_channel(url, cfg.timeout_s))
        except ValueError as exc:
            raise ConfigError(f"notify.urls[{i}]: {exc}") from None
    return channels


def local_time(wall_time: str) -> str:
    """An event's ISO 8601 wall time as the device's local time, e.g. "14:03:12 on Sun 29 Nov 2026"."""
    when = datetime.fromisoformat(wall_time.replace("Z", "+00:00")).astimezone()
    return when.strftime("%H:%M:%S on %a %d %b %Y")


def compose(event: Event, room: str, image: bytes | None = None, image_name: str = "skeleton.png") -> Message:
    """The message for `event`: what happened, where (`room`), when (local time); keyed by event id.

    image: an optional picture (PNG or JPEG bytes) attached as `image_name`."""
    title = "FallWatch: " + _HEADLINES.get(event.event, event.event).format(room=room)
    lines = [f"{_HEADLINES.get(event.event, event.event).format(room=room)} at {local_time(event.wall_time)}."]
    if _DETAILS.get(event.event):
        lines.append(_DETAILS[event.event])
    if event.probs:
        lines.append(f"Fall confidence {event.probs.get('fall', 0.0):.0%}.")
    if event.track_id is not None:
        lines.append(f"(person #{event.track_id}, event {event.id})")
    return Message(event.id, title, "\n".join(lines), event.event, image, image_name)


def skeleton_picture(keypoints: np.ndarray, aspect: float, height: int = 320) -> bytes:
    """A PNG of the stick figure alone on a white canvas (no camera pixels).

    keypoints: (18, 3) canonical x, y in [0, 1] and confidence (0 = missing, not drawn).
    aspect: the frame's width / height, so the figure keeps its proportions.
    Raises ValueError for another shape.
    """
    import cv2

    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.shape != (18, 3):
        raise ValueError(f"skeleton_picture: expected keypoints shaped (18, 3), got {kp.shape}")
    width = max(1, round(height * aspect))
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    points = [(round(x * (width - 1)), round(y * (height - 1))) for x, y, _ in kp]
    for a, b in EDGES:
        if kp[a, 2] > 0 and kp[b, 2] > 0:
            cv2.line(canvas, points[a], points[b], (40, 40, 40), 3, cv2.LINE_AA)
    for (x, y), score in zip(points, kp[:, 2], strict=True):
        if score > 0:
            cv2.circle(canvas, (x, y), 5, (0, 0, 220), -1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", canvas)
    if not ok:
        raise ValueError("skeleton_picture: OpenCV could not encode the PNG")
    return png.tobytes()


def frame_picture(frame: np.ndarray) -> bytes:
    """A camera frame (H, W, 3 BGR uint8) as JPEG, for users who opted in (notify.attach_camera_frame)."""
    import cv2

    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError(f"frame_picture: OpenCV could not encode a frame shaped {frame.shape}")
    return jpeg.tobytes()


class Notifier:
    """Durable push notifications for one room.

    room: the place named in every message. cfg: the notify section. channels: from create_channels.
    Raises ConfigError naming notify.outbox when the outbox cannot be opened or created.
    An alert is committed to the outbox before `alert` returns and sent by one worker thread per
    channel, so a slow or failing channel never holds back the others.
    """

    def __init__(self, room: str, cfg: NotifyConfig, channels: list[Channel]) -> None:
        self.room = room
        self.cfg = cfg
        self.channels = channels
        try:
            self.outbox = Outbox(cfg.outbox)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"notify.outbox = {cfg.outbox!r}: cannot open the outbox: {exc}") from None
        self.workers = [OutboxWorker(self.outbox, [c], cfg.backoff_s, cfg.backoff_max_s) for c in channels]

    @classmethod
    def from_config(cls, cfg: Config) -> Notifier:
        return cls(cfg.room, cfg.notify, create_channels(cfg.notify))

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        counts = self.outbox.counts()
        if counts["pending"]:
            logger.info("outbox: %d deliveries pending from before; sending them now", counts["pending"])

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.outbox.close()

    def alert(
        self,
        event: Event,
        keypoints: np.ndarray | None = None,
        aspect: float = 1.0,
        frame: np.ndarray | None = None,
    ) -> None:
        """Store `event` for every channel and wake the sender. A skeleton picture is attached when
        keypoints (18, 3) are given and notify.attach_skeleton; the camera `frame` only when
        notify.attach_camera_frame. A picture that cannot be drawn is logged and left out."""
        image, name = None, "skeleton.png"
        try:
            if frame is not None and self.cfg.attach_camera_frame:
                image, name = frame_picture(frame), "frame.jpg"
            elif keypoints is not None and self.cfg.attach_skeleton:
                image = skeleton_picture(keypoints, aspect)
        except (ValueError, ImportError):
            logger.exception("alert %s: picture left out", event.id)
        self.enqueue(compose(event, self.room, image, name))

    def enqueue(self, message: Message) -> None:
        """Store a ready message for every channel and wake the sender (a repeated key is ignored)."""
        if not self.channels:
            logger.warning("alert %s: no notify channels configured; nobody is told remotely", message.key)
            return
        self.outbox.enqueue(message, [channel.key for channel in self.channels])
        self._wake()

    def _wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def report_failures(self, heartbeat: Event) -> list[Failure]:
        """Deliveries that failed for good since the last call: logged, and sent as one notice to the
        channels that did not fail. Called on each heartbeat event."""
        failures = self.outbox.take_failures()
        if not failures:
            return failures
        names = {channel.key: channel.name for channel in self.channels}
        broken = sorted({names.get(f.channel, f.channel) for f in failures})
        logger.error("%d alert deliveries failed for good since the last heartbeat: %s", len(failures), broken)
        working = [channel.key for channel in self.channels if channel.key not in {f.channel for f in failures}]
        if working:
            body = f"{len(failures)} alert(s) could not be delivered to: {', '.join(broken)}. Check these URLs."
            notice = Message(f"{heartbeat.id}-failures", f"FallWatch in {self.room}: a channel is failing", body)
            self.outbox.enqueue(notice, working)
            self._wake()
        return failures


def send_message(cfg: NotifyConfig, title: str, body: str) -> dict[str, bool]:
    """Send one plain message now to every configured channel (one try each, no outbox).

    Returns {"#<n> <redacted URL>": delivered} in config order (numbered, since two URLs may redact
    alike); {} when no channel is configured. Raises ConfigError for a URL no backend takes. The
    URLs' secrets are hidden from the log handlers first. Used by `fallwatch notify-test` and
    `fallwatch train --notify`.
    """
    install_secret_filter(notify_urls(cfg))
    results = {}
    for number, channel in enumerate(create_channels(cfg), start=1):
        result = channel.send(Message(key=f"message-{os.getpid()}-{number}", title=title, body=body))
        if not result.ok:
            logger.warning("message to %s failed: %s", channel.name, result.detail)
        results[f"#{number} {channel.name}"] = result.ok
    return results
