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
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import numpy as np

from edge.alerts.channels import Channel, Message, create_channel
from edge.alerts.escalation import Episode, Escalation, Tier
from edge.alerts.outbox import Failure, Outbox, OutboxWorker
from edge.alerts.redact import install_secret_filter
from edge.config import Config, ConfigError, NotifyConfig
from edge.event_kinds import KINDS
from edge.events import CAMERA_LOST, Event
from edge.skeleton import EDGES

logger = logging.getLogger(__name__)
# The message key of every test message (`Notifier.test`): a real alarm drops those still pending.
TEST_KEY_PREFIX = "test-"

URLS_ENV = "FALLWATCH_NOTIFY_URLS"


def notify_urls(cfg: NotifyConfig) -> list[str]:
    """The channel URLs: `cfg.urls`, or FALLWATCH_NOTIFY_URLS split on whitespace when that is empty."""
    return list(cfg.urls) or os.environ.get(URLS_ENV, "").split()


def create_channels(cfg: NotifyConfig, urls: list[str] | None = None, key: str = "notify.urls") -> list[Channel]:
    """One channel per URL (default: notify_urls(cfg)); raises ConfigError naming key[i] (URL hidden)
    for a bad one."""
    channels = []
    for i, url in enumerate(notify_urls(cfg) if urls is None else urls):
        try:
            channels.append(create_channel(url, cfg.timeout_s))
        except ValueError as exc:
            raise ConfigError(f"{key}[{i}]: {exc}") from None
    return channels


def create_tiers(cfg: NotifyConfig) -> list[list[Channel]]:
    """Channels per escalation tier: notify.urls (or the environment) first, then each [[notify.tiers]]."""
    return [create_channels(cfg)] + [
        create_channels(cfg, tier.urls, f"notify.tiers[{i}].urls") for i, tier in enumerate(cfg.tiers)
    ]


def pending_deliveries(cfg: NotifyConfig) -> int:
    """Deliveries still pending in the outbox (0 when it does not exist)."""
    if not os.path.isfile(cfg.outbox):
        return 0
    outbox = Outbox(cfg.outbox)
    try:
        return outbox.counts()["pending"]
    finally:
        outbox.close()


def all_urls(cfg: NotifyConfig) -> list[str]:
    """Every channel URL of every tier (secrets to hide from the logs)."""
    return notify_urls(cfg) + [url for tier in cfg.tiers for url in tier.urls]


def local_time(wall_time: str) -> str:
    """An event's ISO 8601 wall time as the device's local time, e.g. "14:03:12 on Sun 29 Nov 2026"."""
    when = datetime.fromisoformat(wall_time.replace("Z", "+00:00")).astimezone()
    return when.strftime("%H:%M:%S on %a %d %b %Y")


def compose(event: Event, room: str, image: bytes | None = None, image_name: str = "skeleton.png") -> Message:
    """The message for `event`: what happened, where (`room`), when (local time); keyed by event id.

    image: an optional picture (PNG or JPEG bytes) attached as `image_name`."""
    info = KINDS[event.event]
    headline = info.headline.format(room=room)
    title = "FallWatch: " + headline
    lines = [f"{headline} at {local_time(event.wall_time)}."]
    if info.detail:
        lines.append(info.detail)
    if event.detail and CAMERA_LOST in event.detail:
        lines.append("The camera is lost: the person has not been seen since; please check on them in person.")
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
    """Durable push notifications for one room, with escalation until someone acknowledges.

    room: the place named in every message. cfg: the notify section. tiers: channels per tier, tier 1
    (notify.urls) first, then each [[notify.tiers]] (from create_tiers). clock: wall-clock seconds.
    Raises ConfigError naming notify.outbox when the outbox cannot be opened or created.
    An alert is committed to the outbox before `alert` returns and sent by one worker thread per
    channel, so a slow or failing channel never holds back the others.
    """

    def __init__(
        self, room: str, cfg: NotifyConfig, tiers: list[list[Channel]], clock: Callable[[], float] = time.time
    ) -> None:
        self.room = room
        self.cfg = cfg
        unique = {channel.key: channel for tier in tiers for channel in tier}
        self.channels = list(unique.values())
        self.first = [channel.key for channel in tiers[0]] if tiers else []
        try:
            self.outbox = Outbox(cfg.outbox, clock)
            after = [0.0] + [tier.after_min * 60 for tier in cfg.tiers]
            self.escalation = Escalation(
                self.outbox,
                [Tier(tuple(c.key for c in tier), after_s) for tier, after_s in zip(tiers, after, strict=True)],
                cfg.repeat_min * 60,
                clock,
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"notify.outbox = {cfg.outbox!r}: cannot open the outbox: {exc}") from None
        self.workers = [OutboxWorker(self.outbox, [c], cfg.backoff_s, cfg.backoff_max_s) for c in self.channels]

    @classmethod
    def from_config(cls, cfg: Config) -> Notifier:
        return cls(cfg.room, cfg.notify, create_tiers(cfg.notify))

    def start(self) -> None:
        """Move alerts queued for channels no longer configured to tier 1, then start the senders."""
        moved = self.outbox.adopt_orphans([channel.key for channel in self.channels], self.first)
        if moved:
            logger.warning("outbox: %d alert(s) were queued for channels no longer configured; "
                           "sending them to the %d tier-1 channel(s) instead", moved, len(self.first))  # fmt: skip
        for worker in self.workers:
            worker.start()
        counts = self.outbox.counts()
        if counts["pending"]:
            logger.info("outbox: %d deliveries pending from before; sending them now", counts["pending"])

    def stop(self, drain_s: float | None = None) -> int:
        """Wait up to drain_s (default notify.drain_s) for the queue to empty, stop the senders; the
        number of deliveries still pending (they go at the next start, or `fallwatch outbox retry`)."""
        deadline = time.monotonic() + (self.cfg.drain_s if drain_s is None else drain_s)
        while self.outbox.counts()["pending"] and time.monotonic() < deadline:
            self._wake()
            time.sleep(0.1)
        for worker in self.workers:
            worker.stop()
        pending = self.outbox.counts()["pending"]
        if pending:
            logger.warning("outbox: %d deliveries still pending in %s; they are sent at the next start "
                           "(or now with `fallwatch outbox retry`)", pending, self.cfg.outbox)  # fmt: skip
        self.outbox.close()
        return pending

    def alert(
        self,
        event: Event,
        keypoints: np.ndarray | None = None,
        aspect: float = 1.0,
        frame: np.ndarray | None = None,
    ) -> tuple[bytes | None, str]:
        """Store `event` for tier 1 and wake the sender; an alarm (push "alarm" in edge.event_kinds)
        also starts its escalation. A skeleton picture is attached when keypoints (18, 3) are given
        and notify.attach_skeleton; the camera `frame` only when notify.attach_camera_frame. A
        picture that cannot be drawn is logged and left out. Returns the picture attached and its name
        (as `picture`)."""
        image, name = self.picture(event, keypoints, aspect, frame)
        if KINDS[event.event].push != "alarm":
            self.enqueue(compose(event, self.room, image, name))
            return image, name
        dropped = self.outbox.drop_pending(TEST_KEY_PREFIX, f"{event.event} came first")
        if dropped:  # "nothing happened" must never reach a caregiver after a real alarm
            logger.warning("%s: %d pending test message(s) dropped", event.event, dropped)
        self.escalation.open(event, lambda token: self._with_link(compose(event, self.room, image, name), token))
        self._wake()
        return image, name

    def picture(
        self, event: Event, keypoints: np.ndarray | None, aspect: float, frame: np.ndarray | None
    ) -> tuple[bytes | None, str]:
        """The picture for `event` and its file name (None when there is none or it cannot be drawn)."""
        try:
            if frame is not None and self.cfg.attach_camera_frame:
                return frame_picture(frame), "frame.jpg"
            if keypoints is not None and self.cfg.attach_skeleton:
                return skeleton_picture(keypoints, aspect), "skeleton.png"
        except (ValueError, ImportError):
            logger.exception("alert %s: picture left out", event.id)
        return None, "skeleton.png"

    def escalate(self, video_time: float) -> list[Event]:
        """Queue the escalation steps due now (edge.alerts.escalation); the `escalated` events."""
        events = self.escalation.due(video_time, self._escalation_message)
        if events:
            self._wake()
        return events

    def _escalation_message(self, event: Event, episode: Episode) -> Message:
        minutes = (self.outbox.clock() - episode.started) / 60
        message = compose(event, self.room)
        body = f"{message.body}\nThe first alert went out {minutes:.0f} min ago."
        return self._with_link(Message(message.key, message.title, body, message.kind), episode.token)

    def _with_link(self, message: Message, token: str) -> Message:
        """`message` with the acknowledge link appended when notify.ack_url is set."""
        if not self.cfg.ack_url:
            return message
        link = f"{self.cfg.ack_url.rstrip('/')}/ack/{token}"
        body = f"{message.body}\nAcknowledge (home network only): {link}"
        return Message(message.key, message.title, body, message.kind, message.image, message.image_name)

    def all_clear(self, event: Event) -> list[str]:
        """Tell every contact the ended episode reached (acknowledged, recovered, cancelled); the channels."""
        channels = self.escalation.close(event, compose(event, self.room))
        if channels:
            self._wake()
        return channels

    def test(self) -> str:
        """Queue a test message for every channel of every tier (Home Assistant's Test button, the
        set-up page's Test alert); its key (`outbox.deliveries(key)` says how each delivery went)."""
        key = f"{TEST_KEY_PREFIX}{uuid.uuid4().hex}"
        self.outbox.enqueue(Message(key, f"FallWatch in {self.room}: test alert",
                                    f"A test alert from FallWatch in {self.room}. Nothing happened.", "test"),
                            [channel.key for channel in self.channels])  # fmt: skip
        self._wake()
        return key

    def enqueue(self, message: Message) -> None:
        """Store a ready message for every tier-1 channel and wake the sender (a repeated key is ignored)."""
        if not self.first:
            logger.warning("alert %s: no notify channels configured; nobody is told remotely", message.key)
            return
        self.outbox.enqueue(message, self.first)
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
