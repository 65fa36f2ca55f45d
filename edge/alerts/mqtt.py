"""MQTT: every event as JSON, a retained Home Assistant discovery config, availability with a last will.

Topics, with base = <mqtt.topic_prefix>/<node> (node = mqtt.node_id, or the room name as a slug):
- base/event         each event as its JSON line (not retained)
- base/fall          "ON" while any tracked person is in fall alert, else "OFF" (retained)
- base/state         "idle" | "suspected" | "alert" (retained)
- base/availability  "online" on connect; the broker sends the retained last will "offline" when
                     the connection dies uncleanly, and stop() sends it on a clean exit
- <mqtt.discovery_prefix>/binary_sensor/<node>/fall/config and .../sensor/<node>/state/config:
  retained Home Assistant discovery (device_class safety; unique ids with a device block).

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
from typing import Any

from edge import __version__
from edge.config import MqttConfig
from edge.events import Event

logger = logging.getLogger(__name__)

QUEUE_MAX = 10000
_RANK = {"idle": 0, "suspected": 1, "alert": 2}


def node_name(cfg: MqttConfig, room: str) -> str:
    """mqtt.node_id, or `room` as a topic-safe slug ("Living room" -> "living_room")."""
    return cfg.node_id or re.sub(r"[^a-z0-9_-]+", "_", room.lower()).strip("_") or "fallwatch"


def discovery_config(cfg: MqttConfig, room: str) -> dict[str, dict[str, Any]]:
    """The retained Home Assistant discovery messages: {topic: payload}. A pure function."""
    node = node_name(cfg, room)
    base = f"{cfg.topic_prefix}/{node}"
    common = {
        "availability_topic": f"{base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [f"fallwatch_{node}"],
            "name": f"FallWatch {room}",
            "manufacturer": "FallWatch",
            "model": "FallWatch fall detector",
            "sw_version": __version__,
        },
    }
    return {
        f"{cfg.discovery_prefix}/binary_sensor/{node}/fall/config": {
            "name": "Fall detected",
            "unique_id": f"fallwatch_{node}_fall",
            "device_class": "safety",
            "state_topic": f"{base}/fall",
            "payload_on": "ON",
            "payload_off": "OFF",
            "json_attributes_topic": f"{base}/event",
            **common,
        },
        f"{cfg.discovery_prefix}/sensor/{node}/state/config": {
            "name": "Fall state",
            "unique_id": f"fallwatch_{node}_state",
            "state_topic": f"{base}/state",
            "device_class": "enum",
            "options": list(_RANK),
            "icon": "mdi:human-handsdown",
            **common,
        },
    }


class MqttPublisher:
    """Publishes one room's events. password: the MQTT password (from the file or the environment).

    `connected` is set only after the broker accepted the connection; `last_error` says why not.
    """

    def __init__(self, cfg: MqttConfig, room: str, password: str = "") -> None:
        import paho.mqtt.client as paho

        self.cfg = cfg
        self.room = room
        self.node = node_name(cfg, room)
        self.base = f"{cfg.topic_prefix}/{self.node}"
        self.availability = f"{self.base}/availability"
        self.connected = threading.Event()
        self.last_error = ""
        self._paho = paho
        self._queue: collections.deque[tuple[str, str, int, bool]] = collections.deque()
        self._lock = threading.Lock()
        self._tracks: dict[int | None, str] = {}
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"fallwatch-{self.node}")
        if cfg.username:
            client.username_pw_set(cfg.username, password or None)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.tls_ca or None)
        client.will_set(self.availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
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
        client.publish(self.availability, "online", qos=1, retain=True)
        for topic, payload in discovery_config(self.cfg, self.room).items():
            client.publish(topic, json.dumps(payload), qos=1, retain=True)
        with self._lock:
            self.last_error = ""
            self.connected.set()
            while self._queue:
                client.publish(*self._queue.popleft())

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            logger.warning("MQTT connection to %s:%d lost (%s); reconnecting", self.cfg.host, self.cfg.port, reason)

    def _publish(self, topic: str, payload: str, qos: int = 1, retain: bool = False) -> None:
        """Publish now if connected, else queue for the next connect (never dropped silently)."""
        with self._lock:
            if self.connected.is_set():
                self.client.publish(topic, payload, qos=qos, retain=retain)
                return
            if len(self._queue) >= QUEUE_MAX:
                dropped = self._queue.popleft()
                logger.error("MQTT queue full (%d); dropped the oldest message for %s", QUEUE_MAX, dropped[0])
            self._queue.append((topic, payload, qos, retain))

    def publish_event(self, event: Event, suppressed: bool = False) -> None:
        """Publish `event` and the resulting fall/state topics. A suppressed alarm (cancelled during the
        pre-alarm) is not published."""
        if suppressed:
            return
        self._publish(f"{self.base}/event", event.to_json())
        level = {"fall_suspected": "suspected", "fall_alert": "alert", "long_lie": "alert"}.get(event.event)
        if level is None and event.event not in ("recovered", "cancelled"):
            return
        before = max(self._tracks.values(), key=_RANK.__getitem__, default="idle")
        if level is None:
            self._tracks.pop(event.track_id, None)
        else:
            self._tracks[event.track_id] = level
        after = max(self._tracks.values(), key=_RANK.__getitem__, default="idle")
        if after != before:
            self._publish(f"{self.base}/state", after, retain=True)
            if (after == "alert") != (before == "alert"):
                self._publish(f"{self.base}/fall", "ON" if after == "alert" else "OFF", retain=True)
