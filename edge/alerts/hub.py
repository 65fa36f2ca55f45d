"""The alert hub: turns events into the local alarm, the voice, push notifications and MQTT, in that order.

`handle(event)` drives the GPIO pins first (no network, no disk), then hands the voice its prompt
(spoken by its own thread), then commits push alerts to the SQLite outbox (sent later by its own
threads), then queues the MQTT messages (sent by paho's thread): nothing in it waits on a network.
What each kind does comes from the one table, edge.event_kinds.KINDS.

Alerts also start things, which the pipeline collects with `poll(video_time)` (each loop, also
while the camera is lost) and then logs and hands back to `handle`: `escalated` (the next tier or
a reminder is due), `acknowledged` (Home Assistant's Acknowledge button, the device's page, or
`acknowledge()`), `inactivity` (nobody seen for hours). The cancel button works through
`cancel_requested()` (True once per press that stopped an alarm: the pipeline then ends every
episode with `cancelled`) and an optional `on_cancel(track_ids)` callback; Home Assistant's Cancel
button presses it. `people_seen(n)` (per frame) feeds "person last seen" and the inactivity check.
`test_alert(who)` (the set-up page's Test alert, Home Assistant's Test button) tries every channel:
the buzzer and LED for TEST_SOUND_S, the voice's test sentence, a test push to every tier; it raises
no event and opens no episode, and does nothing while a real alarm is on.
It satisfies edge.pipeline.Alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge.alerts.ack_page import AckPage
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import create_pins
from edge.alerts.inactivity import Inactivity
from edge.alerts.mqtt import MqttPublisher
from edge.alerts.notify import Notifier, all_urls
from edge.alerts.redact import install_secret_filter
from edge.alerts.voice import Voice
from edge.config import Config, secret
from edge.event_kinds import ALARMS, KINDS, Level
from edge.events import Event

logger = logging.getLogger(__name__)

MQTT_PASSWORD_ENV = "FALLWATCH_MQTT_PASSWORD"
# How often poll() looks at the escalation schedule and the inactivity watch (they count minutes).
CHECK_EVERY_S = 1.0
# How long a test alert sounds the buzzer and LED.
TEST_SOUND_S = 3.0


@dataclass(frozen=True)
class Drill:
    """What a test alert did besides the buzzer and LED: whether the voice says the test sentence
    (False: no voice configured, or a real prompt came first), and the test push's outbox key ("" with no push channel)."""

    voice: bool
    key: str


class AlertHub:
    """Local alarm, voice, notifier and MQTT publisher for one room (all but the alarm may be None).

    on_cancel: called with the track ids whose alarm the cancel button stopped, on the GPIO thread.
    inactivity: the "nobody seen" watcher (None = off). ack_page: the acknowledge page (None = off).
    """

    def __init__(
        self,
        alarm: LocalAlarm,
        notifier: Notifier | None = None,
        mqtt: MqttPublisher | None = None,
        on_cancel: Callable[[list[int | None]], None] | None = None,
        voice: Voice | None = None,
        inactivity: Inactivity | None = None,
        ack_page: AckPage | None = None,
    ) -> None:
        self.alarm = alarm
        self.notifier = notifier
        self.mqtt = mqtt
        self.on_cancel = on_cancel
        self.voice = voice
        self.inactivity = inactivity
        self.ack_page = ack_page
        self._cancels: set[int | None] = set()
        self._pressed = False
        self._acks: list[str] = []
        self._alerted: set[int | None] = set()
        self._next_check = 0.0
        self._lock = threading.Lock()
        alarm.on_press = self._button_pressed
        if mqtt is not None:
            mqtt.on_command = self.command

    @classmethod
    def from_config(cls, cfg: Config, on_cancel: Callable[[list[int | None]], None] | None = None) -> AlertHub:
        """Build every part from the config; hides the configured secrets in all log output.

        Raises ConfigError for a notify URL no backend accepts, RuntimeError for unusable GPIO or a
        voice without espeak-ng/aplay, and OSError when the acknowledge page's port is taken.
        """
        install_secret_filter([*all_urls(cfg.notify), secret(cfg.mqtt.password, MQTT_PASSWORD_ENV)])
        alarm = LocalAlarm(cfg.gpio, create_pins(cfg.gpio))
        notifier = Notifier.from_config(cfg) if all_urls(cfg.notify) else None
        mqtt = (
            MqttPublisher(cfg.mqtt, cfg.room, secret(cfg.mqtt.password, MQTT_PASSWORD_ENV))
            if cfg.mqtt.enabled
            else None
        )
        if notifier is None:
            logger.warning("no notify channels configured: alerts stay local (and on MQTT if enabled)")
        inactivity = Inactivity(cfg.inactivity, time.time()) if cfg.inactivity.hours > 0 else None
        hub = cls(alarm, notifier, mqtt, on_cancel, Voice.from_config(cfg.voice), inactivity)
        if notifier is not None and cfg.notify.ack_port:
            hub.ack_page = AckPage(
                cfg.notify.ack_host, cfg.notify.ack_port, cfg.room, notifier.escalation.is_token, hub.acknowledge
            )
        return hub

    def start(self) -> None:
        """Start the voice, the outbox senders, the acknowledge page and MQTT (each retries on its own)."""
        if self.voice is not None:
            self.voice.start()
        if self.notifier is not None:
            self.notifier.start()
        if self.ack_page is not None:
            self.ack_page.start()
        if self.mqtt is not None:
            if self.notifier is not None:  # alerts still open from before a restart stay "Fall detected"
                self.mqtt.restore_alerts(self.notifier.escalation.active_tracks())
            self.mqtt.start()

    def close(self) -> None:
        """Undo start() in reverse and release the pins (alarm off)."""
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.ack_page is not None:
            self.ack_page.close()
        if self.notifier is not None:
            self.notifier.stop()
        if self.voice is not None:
            self.voice.close()
        self.alarm.close()

    def handle(
        self,
        event: Event,
        keypoints: np.ndarray | None = None,
        aspect: float = 1.0,
        frame: np.ndarray | None = None,
    ) -> None:
        """React to one event as edge.event_kinds says. keypoints (18, 3) of the fallen person give the
        skeleton picture; aspect is the frame's width/height; frame is attached only if
        notify.attach_camera_frame."""
        kind, track, info = event.event, event.track_id, KINDS[event.event]
        with self._lock:
            suppressed = kind in ALARMS and track in self._cancels
        # 1. Local alarm: pins only. 2. The voice: queued for its thread.
        if info.alarm is not None and not suppressed:
            self.alarm.set(track, info.alarm)
        if self.voice is not None and info.voice is not None and not suppressed:
            self.voice.prompt(track, info.voice)
        # 3. Push: committed to the outbox, sent by its threads. 4. MQTT: queued for paho's thread.
        # A failure here (a full disk, a broken outbox file) is logged loudly but never stops the
        # pipeline: the local alarm keeps working.
        picture = None
        try:
            if self.notifier is not None:
                picture = self._push(event, suppressed, keypoints, aspect, frame)
        except Exception:
            logger.exception("%s %s could NOT be queued for push notification", kind, event.id)
        try:
            if self.mqtt is not None:
                self.mqtt.publish_event(event, suppressed=suppressed, picture=picture)
        except Exception:
            logger.exception("%s %s could not be published on MQTT", kind, event.id)
        with self._lock:
            if info.alarm == "idle":
                self._cancels.discard(track)
                self._alerted.discard(track)
            elif kind in ALARMS and not suppressed:
                self._alerted.add(track)

    def _push(
        self, event: Event, suppressed: bool, keypoints: np.ndarray | None, aspect: float, frame: np.ndarray | None
    ) -> bytes | None:
        """Hand `event` to the notifier; the skeleton picture of an alarm (for MQTT), if any."""
        assert self.notifier is not None
        kind, track, push = event.event, event.track_id, KINDS[event.event].push
        if push == "alarm":
            if suppressed:
                logger.info("%s for track %s not pushed: the cancel button was pressed during the pre-alarm",
                            kind, track)  # fmt: skip
                return None
            image, name = self.notifier.alert(event, keypoints, aspect, frame)
            if name != "skeleton.png":  # the camera frame went to the push; MQTT gets the skeleton only
                image, name = self.notifier.picture(event, keypoints, aspect, None)
            return image
        if push == "all_clear":
            self.notifier.all_clear(event)
        elif push == "always":
            self.notifier.alert(event)
        elif push == "failures":
            self.notifier.report_failures(event)
        return None

    def command(self, name: str) -> None:
        """A Home Assistant button: "acknowledge", "cancel" (the cancel button) or "test" (a test alert)."""
        if name == "acknowledge":
            self.acknowledge("Home Assistant")
        elif name == "cancel":
            self._cancel_now()
        elif name == "test":
            self.test_alert("Home Assistant")

    def test_alert(self, who: str) -> Drill | None:
        """A test through every channel (any thread): buzzer and LED for TEST_SOUND_S, the voice's test
        sentence, a test message to every push channel of every tier. None, and nothing done, while a
        person is in a pre-alarm or alarm: the real alarm wins, and no "nothing happened" reaches a
        caregiver during it."""
        if not self.alarm.sound_test(TEST_SOUND_S):
            logger.warning("test alert from %s refused: a real alarm is on", who)
            return None
        speaks = self.voice is not None and self.voice.say_test()
        drill = Drill(speaks, self.notifier.test() if self.notifier is not None else "")
        logger.warning("test alert from %s: buzzer and LED on for %.0f s, voice %s, push %s", who, TEST_SOUND_S,
                       "speaks" if drill.voice else "off", drill.key or "off (no channel)")  # fmt: skip
        return drill

    def acknowledge(self, who: str) -> None:
        """Someone acknowledged the open alerts (any thread); `poll` turns it into `acknowledged` events."""
        with self._lock:
            self._acks.append(who)

    def poll(self, video_time: float) -> list[Event]:
        """Events the alerts started since the last call: acknowledged (at once), escalated and
        inactivity (looked at once every CHECK_EVERY_S)."""
        events: list[Event] = []
        with self._lock:
            acks, self._acks = self._acks, []
        if acks:
            tracks = set(self._alerted)
            if self.notifier is not None:
                tracks |= {episode.track for episode in self.notifier.escalation.open_episodes()}
            if tracks:
                logger.warning("alert acknowledged by %s for track(s) %s", acks[0], sorted(tracks, key=str))
            else:
                logger.info("acknowledge from %s with no alert open", acks[0])
            events += [Event("acknowledged", video_time, track) for track in sorted(tracks, key=str)]
        now = time.monotonic()
        if now < self._next_check:
            return events
        self._next_check = now + CHECK_EVERY_S
        try:
            if self.notifier is not None:
                events += self.notifier.escalate(video_time)
        except Exception:
            logger.exception("escalation could not be checked; retrying next time")
        if self.inactivity is not None and self.inactivity.due(time.time()):
            events.append(Event("inactivity", video_time))
        return events

    def resume(self, track_id: int | None, state: str) -> None:
        """An episode taken up after a restart: the room's alarm and voice as for its state ("suspected"
        or "alert"); its push and MQTT messages went out before the restart and are not repeated."""
        level: Level = "alert" if state == "alert" else "suspected"
        self.alarm.set(track_id, level)
        if self.voice is not None:
            self.voice.prompt(track_id, "help" if level == "alert" else "ask")
        if level == "alert":
            with self._lock:
                self._alerted.add(track_id)

    def people_seen(self, count: int) -> None:
        """Call once per processed frame with the number of people in view."""
        if count <= 0:
            return
        if self.inactivity is not None:
            self.inactivity.seen(time.time())
        if self.mqtt is not None:
            self.mqtt.person_seen(time.monotonic())

    def _button_pressed(self) -> None:
        """During an alert with gpio.ack_hold_s set: wait that long, then a held button acknowledges
        and a released one cancels. Otherwise cancel now."""
        active = self.alarm.active_tracks()
        hold_s = self.alarm.cfg.ack_hold_s
        if hold_s > 0 and "alert" in active.values():
            threading.Timer(hold_s, self._button_decided).start()
            return
        self._cancel_now()

    def _button_decided(self) -> None:
        if self.alarm.button_held():
            logger.warning("cancel button held during an alert: acknowledged (help is here)")
            self.acknowledge("the button in the room (held)")
        else:
            self._cancel_now()

    def _cancel_now(self) -> None:
        """Cancel every active track's alarm: silence it locally now and ask the state machine to cancel."""
        tracks = list(self.alarm.active_tracks())
        if not tracks:
            if self.alarm.end_test():
                logger.warning("cancel button pressed during a test alert: the test sound stopped")
            else:
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
