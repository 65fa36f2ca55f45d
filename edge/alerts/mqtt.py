"""MQTT: every event as JSON, one Home Assistant device, its buttons, availability with a last will.

Topics, with base = <mqtt.topic_prefix>/<node> (node = mqtt.node_id, or the room name as a slug):
- base/event         each event as its JSON line (not retained); HA's `event` entity reads it
- base/fall          "ON" while any tracked person is in fall alert, else "OFF" (retained)
- base/state         "idle" | "suspected" | "alert" (retained)
- base/attributes    the last alarm's event JSON (the fall sensor's attributes; retained)
- base/camera        "ON" while the camera is lost (HA `problem` sensor; retained)
- base/last_seen     ISO 8601 time a person was last seen (timestamp sensor; retained, at most once a minute)
- base/image         the skeleton picture (PNG) of the last alarm (HA `image` entity; retained)
- base/command       HA's buttons publish "acknowledge", "cancel" or "test" here; `on_command` gets it
- base/availability  "online" once connected; the broker sends the retained last will "offline"
                     when the connection dies uncleanly, and stop() sends it on a clean exit
- <mqtt.discovery_prefix>/device/<node>/config: Home Assistant device-based discovery (device and
  origin info, every entity as a component), retained, re-published when HA's birth message
  ("online" on <discovery_prefix>/status) arrives.

On every connect the retained state (fall, state, camera, attributes) is published from what this
process knows *before* "online": a retained "ON" left by a process that died during an alert is
replaced at once, so Home Assistant never shows a fall that is not there after a restart.

paho-mqtt 2.x (CallbackAPIVersion.VERSION2): connect_async + loop_start, so nothing here waits on
the network and paho reconnects by itself (1 s .. 60 s). A connect the broker refuses (bad
password, not authorised) is logged as an error and `connected` stays clear. Messages published
while disconnected are queued (up to QUEUE_MAX) and sent in order on the next connect; a QoS 1
message in flight when the connection drops is re-sent by paho itself after reconnecting.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from edge import __version__
from edge.config import MqttConfig
from edge.event_kinds import EVENT_KINDS, KINDS, RANK
from edge.events import Event

logger = logging.getLogger(__name__)

QUEUE_MAX = 10000
COMMANDS = ("acknowledge", "cancel", "test")
LAST_SEEN_EVERY_S = 60.0


def node_name(cfg: MqttConfig, room: str) -> str:
    """mqtt.node_id, or `room` as a topic-safe slug ("Living room" -> "living_room")."""
    return cfg.node_id or re.sub(r"[^a-z0-9_-]+", "_", room.lower()).strip("_") or "fallwatch"


def discovery_config(cfg: MqttConfig, room: str) -> dict[str, dict[str, Any]]:
    """The retained Home Assistant device discovery message: {topic: payload}. A pure function.

    The payload follows HA's DEVICE_DISCOVERY_SCHEMA (homeassistant/components/mqtt/schemas.py):
    device, origin (with a name) and components, each with a platform and a unique_id."""
    node = node_name(cfg, room)
    base = f"{cfg.topic_prefix}/{node}"

    def button(name: str, payload: str, icon: str) -> dict[str, Any]:
        return {"platform": "button", "name": name, "unique_id": f"fallwatch_{node}_{payload}",
                "command_topic": f"{base}/command", "payload_press": payload, "icon": icon}  # fmt: skip

    components: dict[str, dict[str, Any]] = {
        "fall": {
            "platform": "binary_sensor", "name": "Fall detected", "unique_id": f"fallwatch_{node}_fall",
            "device_class": "safety", "state_topic": f"{base}/fall", "payload_on": "ON", "payload_off": "OFF",
            "json_attributes_topic": f"{base}/attributes",
        },
        "state": {
            "platform": "sensor", "name": "Fall state", "unique_id": f"fallwatch_{node}_state",
            "state_topic": f"{base}/state", "device_class": "enum", "options": list(RANK),
            "icon": "mdi:human-handsdown",
        },
        "event": {
            "platform": "event", "name": "Event", "unique_id": f"fallwatch_{node}_event",
            "state_topic": f"{base}/event", "event_types": list(EVENT_KINDS),
            "value_template": '{{ {"event_type": value_json.event, "track_id": value_json.track_id,'
                              ' "id": value_json.id} | tojson }}',
        },
        "camera": {
            "platform": "binary_sensor", "name": "Camera problem", "unique_id": f"fallwatch_{node}_camera",
            "device_class": "problem", "state_topic": f"{base}/camera", "payload_on": "ON", "payload_off": "OFF",
        },
        "last_seen": {
            "platform": "sensor", "name": "Person last seen", "unique_id": f"fallwatch_{node}_last_seen",
            "device_class": "timestamp", "state_topic": f"{base}/last_seen",
        },
        "image": {
            "platform": "image", "name": "Last alert skeleton", "unique_id": f"fallwatch_{node}_image",
            "image_topic": f"{base}/image", "content_type": "image/png",
        },
        "acknowledge": button("Acknowledge", "acknowledge", "mdi:account-check"),
        "cancel": button("Cancel alarm", "cancel", "mdi:alarm-off"),
        "test": button("Test alert", "test", "mdi:bell-ring"),
    }  # fmt: skip
    payload = {
        "device": {
            "identifiers": [f"fallwatch_{node}"],
            "name": f"FallWatch {room}",
            "manufacturer": "FallWatch",
            "model": "FallWatch fall detector",
            "sw_version": __version__,
        },
        "origin": {"name": "FallWatch", "sw_version": __version__},
        "availability_topic": f"{base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
        "components": components,
    }
    return {f"{cfg.discovery_prefix}/device/{node}/config": payload}


def legacy_discovery_topics(cfg: MqttConfig, room: str) -> list[str]:
    """The per-entity discovery topics of FallWatch 0.1 (cleared with an empty retained message)."""
    node = node_name(cfg, room)
    return [
        f"{cfg.discovery_prefix}/binary_sensor/{node}/fall/config",
        f"{cfg.discovery_prefix}/sensor/{node}/state/config",
    ]


class MqttPublisher:
    """Publishes one room's events and state; hands Home Assistant's button presses to `on_command`.

    password: the MQTT password (from the file or the environment). `on_command(name)`, set by its
    owner (AlertHub), is called on paho's thread with "acknowledge", "cancel" or "test" (must return
    quickly). `connected` is set
    only after the broker accepted the connection; `last_error` says why not.
    """

    def __init__(self, cfg: MqttConfig, room: str, password: str = "") -> None:
        import paho.mqtt.client as paho

        self.cfg = cfg
        self.room = room
        self.node = node_name(cfg, room)
        self.base = f"{cfg.topic_prefix}/{self.node}"
        self.availability = f"{self.base}/availability"
        self.birth = f"{cfg.discovery_prefix}/status"
        self.on_command: Callable[[str], None] | None = None
        self.connected = threading.Event()
        self.last_error = ""
        self._paho = paho
        self._queue: collections.deque[tuple[str, str | bytes, int, bool]] = collections.deque()
        self._lock = threading.RLock()
        self._tracks: dict[int | None, str] = {}
        self._retained: dict[str, str | bytes] = {"fall": "OFF", "state": "idle", "camera": "OFF"}
        self._last_seen_at = -float("inf")
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"fallwatch-{self.node}")
        if cfg.username:
            client.username_pw_set(cfg.username, password or None)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.tls_ca or None)
        client.will_set(self.availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        self.client = client

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until stop()."""
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        """Publish "offline", disconnect cleanly and stop paho's thread."""
        if self.connected.is_set():
            info = self.client.publish(self.availability, "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not sent in time: the will says offline
                info.wait_for_publish(timeout=2.0)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.last_error = str(reason)
            self.connected.clear()
            logger.error("MQTT broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason)
            return
        logger.info("MQTT connected to %s:%d", self.cfg.host, self.cfg.port)
        client.subscribe([(f"{self.base}/command", 1), (self.birth, 1)])
        with self._lock:
            self._publish_device(client)  # state first, then "online": no stale retained fall survives
            self.last_error = ""
            self.connected.set()
            while self._queue:
                client.publish(*self._queue.popleft())

    def _publish_device(self, client: Any) -> None:
        """The retained state this process knows, the discovery, then "online" (caller holds the lock)."""
        for topic in legacy_discovery_topics(self.cfg, self.room):
            client.publish(topic, "", qos=1, retain=True)
        for name, payload in self._retained.items():
            client.publish(f"{self.base}/{name}", payload, qos=1, retain=True)
        for topic, config in discovery_config(self.cfg, self.room).items():
            client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.publish(self.availability, "online", qos=1, retain=True)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = message.payload.decode("utf-8", "replace").strip()
        if message.topic == self.birth:
            if payload == "online":
                logger.info("Home Assistant came online: discovery and state published again")
                with self._lock:
                    self._publish_device(client)
            return
        if payload.lower() not in COMMANDS:
            logger.warning("MQTT command %r on %s ignored; expected one of %s", payload[:40], message.topic, COMMANDS)
            return
        logger.warning("MQTT command: %s", payload.lower())
        if self.on_command is not None:
            try:
                self.on_command(payload.lower())
            except Exception:
                logger.exception("MQTT command %s failed", payload)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            logger.warning("MQTT connection to %s:%d lost (%s); reconnecting", self.cfg.host, self.cfg.port, reason)

    def _publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish now if connected, else queue for the next connect (never dropped silently)."""
        with self._lock:
            if self.connected.is_set():
                self.client.publish(topic, payload, qos=qos, retain=retain)
                return
            if len(self._queue) >= QUEUE_MAX:
                dropped = self._queue.popleft()
                logger.error("MQTT queue full (%d); dropped the oldest message for %s", QUEUE_MAX, dropped[0])
            self._queue.append((topic, payload, qos, retain))

    def _retain(self, name: str, payload: str | bytes) -> None:
        """Set a retained state topic (republished on every connect) and publish it."""
        with self._lock:
            self._retained[name] = payload
            self._publish(f"{self.base}/{name}", payload, retain=True)

    def publish_event(self, event: Event, suppressed: bool = False, picture: bytes | None = None) -> None:
        """Publish `event` and the fall/state/camera topics it changes (levels from edge.event_kinds).

        A suppressed alarm (cancelled during the pre-alarm) is not published. picture: the skeleton
        PNG of an alarm, for the image entity."""
        if suppressed:
            return
        self._publish(f"{self.base}/event", event.to_json())
        kind = event.event
        if kind in ("source_lost", "source_restored"):
            self._retain("camera", "ON" if kind == "source_lost" else "OFF")
        level = KINDS[kind].state
        if level is None:
            return
        if level == "alert":
            self._retain("attributes", event.to_json())
            if picture is not None:
                self._retain("image", picture)
        before = max(self._tracks.values(), key=RANK.__getitem__, default="idle")
        if level == "idle":
            self._tracks.pop(event.track_id, None)
        else:
            self._tracks[event.track_id] = level
        after = max(self._tracks.values(), key=RANK.__getitem__, default="idle")
        if after != before:
            self._retain("state", after)
            if (after == "alert") != (before == "alert"):
                self._retain("fall", "ON" if after == "alert" else "OFF")

    def restore_alerts(self, tracks: list[int | None]) -> None:
        """Before start(): these tracks are still in alert (an episode open before a restart), so the
        state published at connect is "alert" / "ON", not a clean slate."""
        for track in tracks:
            self._tracks[track] = "alert"
        if tracks:
            self._retained.update(state="alert", fall="ON")

    def person_seen(self, now: float) -> None:
        """Publish the wall clock now (ISO 8601) as last seen, at most once every LAST_SEEN_EVERY_S of the
        monotonic `now` (s): called every frame with someone in view, it formats a time only when due."""
        if now - self._last_seen_at >= LAST_SEEN_EVERY_S:
            self._last_seen_at = now
            self._retain("last_seen", datetime.now(timezone.utc).isoformat(timespec="seconds"))
