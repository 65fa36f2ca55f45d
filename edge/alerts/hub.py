"""The alert hub: turns events into the local alarm, push notifications and MQTT, in that order.

`handle(event)` drives the GPIO pins first (no network, no disk), then commits a push alert to the
SQLite outbox (sent later by its own thread), then queues the MQTT messages (sent by paho's thread):
nothing in it waits on a network. The cancel button works through `cancel_requested()`, which the
pipeline polls each frame (True once per press that stopped an alarm: it then ends every episode
with `cancelled`), and an optional `on_cancel(track_ids)` callback. It satisfies
edge.pipeline.Alerts (handle, cancel_requested, close).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import create_pins
from edge.alerts.mqtt import MqttPublisher
from edge.alerts.notify import Notifier, notify_urls
from edge.alerts.redact import install_secret_filter
from edge.config import Config, secret
from edge.events import Event

logger = logging.getLogger(__name__)

MQTT_PASSWORD_ENV = "FALLWATCH_MQTT_PASSWORD"

# Events that sound the full alarm and are pushed to caregivers.
ALARMS = ("fall_alert", "long_lie")
# Events that end an alarm; pushed only when that track's alarm was pushed.
ALL_CLEAR = ("recovered", "cancelled")
# Camera problems: pushed always (nobody is protected while the camera is lost).
CAMERA = ("source_lost", "source_restored")


class AlertHub:
    """Local alarm, notifier and MQTT publisher for one room (notifier and mqtt may be None).

    on_cancel: called with the track ids whose alarm the cancel button stopped, on the GPIO thread.
    """

    def __init__(
        self,
        alarm: LocalAlarm,
        notifier: Notifier | None = None,
        mqtt: MqttPublisher | None = None,
        on_cancel: Callable[[list[int | None]], None] | None = None,
    ) -> None:
        self.alarm = alarm
        self.notifier = notifier
        self.mqtt = mqtt
        self.on_cancel = on_cancel
        self._cancels: set[int | None] = set()
        self._pressed = False
        self._pushed: set[int | None] = set()
        self._lock = threading.Lock()
        alarm.on_press = self._button_pressed

    @classmethod
    def from_config(cls, cfg: Config, on_cancel: Callable[[list[int | None]], None] | None = None) -> AlertHub:
        """Build every part from the config; hides the configured secrets in all log output.

        Raises ConfigError for a notify URL no backend accepts and RuntimeError for unusable GPIO.
        """
        install_secret_filter([*notify_urls(cfg.notify), secret(cfg.mqtt.password, MQTT_PASSWORD_ENV)])
        alarm = LocalAlarm(cfg.gpio, create_pins(cfg.gpio))
        notifier = Notifier.from_config(cfg) if notify_urls(cfg.notify) else None
        mqtt = (
            MqttPublisher(cfg.mqtt, cfg.room, secret(cfg.mqtt.password, MQTT_PASSWORD_ENV))
            if cfg.mqtt.enabled
            else None
        )
        if notifier is None:
            logger.warning("no notify channels configured: alerts stay local (and on MQTT if enabled)")
        return cls(alarm, notifier, mqtt, on_cancel)

    def start(self) -> None:
        """Start the outbox sender and the MQTT connection (both retry on their own)."""
        if self.notifier is not None:
            self.notifier.start()
        if self.mqtt is not None:
            self.mqtt.start()

    def close(self) -> None:
        """Undo start() in reverse and release the pins (alarm off)."""
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.notifier is not None:
            self.notifier.stop()
        self.alarm.close()

    def handle(
        self,
        event: Event,
        keypoints: np.ndarray | None = None,
        aspect: float = 1.0,
        frame: np.ndarray | None = None,
    ) -> None:
        """React to one event. keypoints (18, 3) of the fallen person give the skeleton picture;
        aspect is the frame's width/height; frame is attached only if notify.attach_camera_frame."""
        kind, track = event.event, event.track_id
        with self._lock:
            suppressed = kind in ALARMS and track in self._cancels
        # 1. Local alarm: pins only.
        if kind == "fall_suspected":
            self.alarm.set(track, "suspected")
        elif kind in ALARMS and not suppressed:
            self.alarm.set(track, "alert")
        elif kind in ALL_CLEAR:
            self.alarm.set(track, "idle")
        # 2. Push: committed to the outbox, sent by its thread. 3. MQTT: queued for paho's thread.
        # A failure here (a full disk, a broken outbox file) is logged loudly but never stops the
        # pipeline: the local alarm keeps working.
        try:
            if self.notifier is not None:
                self._push(event, suppressed, keypoints, aspect, frame)
        except Exception:
            logger.exception("%s %s could NOT be queued for push notification", kind, event.id)
        try:
            if self.mqtt is not None:
                self.mqtt.publish_event(event, suppressed=suppressed)
        except Exception:
            logger.exception("%s %s could not be published on MQTT", kind, event.id)
        if kind in ALL_CLEAR:
            with self._lock:
                self._cancels.discard(track)

    def _push(
        self, event: Event, suppressed: bool, keypoints: np.ndarray | None, aspect: float, frame: np.ndarray | None
    ) -> None:
        assert self.notifier is not None
        kind, track = event.event, event.track_id
        if kind in ALARMS:
            if suppressed:
                logger.info("%s for track %s not pushed: the cancel button was pressed during the pre-alarm",
                            kind, track)  # fmt: skip
                return
            self.notifier.alert(event, keypoints, aspect, frame)
            with self._lock:
                self._pushed.add(track)
        elif kind in ALL_CLEAR:
            with self._lock:
                was_pushed = track in self._pushed
                self._pushed.discard(track)
            if was_pushed:
                self.notifier.alert(event)
        elif kind in CAMERA:
            self.notifier.alert(event)
        elif kind == "heartbeat":
            self.notifier.report_failures(event)

    def _button_pressed(self) -> None:
        """Cancel every active track's alarm: silence it locally now and ask the state machine to cancel."""
        tracks = list(self.alarm.active_tracks())
        if not tracks:
            logger.info("cancel button pressed with no alarm active")
            return
        with self._lock:
            self._cancels.update(tracks)
            self._pressed = True
        for track in tracks:
            self.alarm.set(track, "idle")
        logger.warning("cancel button pressed: alarm stopped for track(s) %s", tracks)
        if self.on_cancel is not None:
            self.on_cancel(tracks)

    def cancel_requested(self) -> bool:
        """True once after a cancel-button press that stopped a pre-alarm or alarm; the caller then ends
        every suspected or alerted episode with a `cancelled` event."""
        with self._lock:
            pressed, self._pressed = self._pressed, False
            return pressed
