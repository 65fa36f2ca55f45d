"""MQTT against Debian's mosquitto started here: discovery, fall on/off, the last will, a refused
login and messages queued while the broker is down, all seen by a real paho subscriber."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from edge.alerts.mqtt import MqttPublisher, discovery_config
from edge.config import ConfigError, MqttConfig
from edge.events import Event
from tests.mosquitto import free_port, make_certificates, running_mosquitto
from tests.support import wait_until

REPO = Path(__file__).resolve().parents[1]


class Subscriber:
    """A paho client subscribed to '#', recording (topic, payload, retain) in arrival order."""

    def __init__(self, port: int, username: str = "", password: str = "", ca: Path | None = None) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: object, userdata: object, message: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload.decode(errors="replace"), bool(message.retain)))

    def payloads(self, topic: str) -> list[str]:
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def wait_for(self, topic: str, payload: str | None = None, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(payload is None or p == payload for p in self.payloads(topic)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {payload!r} on {topic}; got {self.messages}")
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    with running_mosquitto(tmp_path) as port:
        yield port


def test_discovery_and_fall_on_off_reach_a_subscriber(broker):
    cfg = MqttConfig(enabled=True, port=broker)
    publisher = MqttPublisher(cfg, "Living room")
    publisher.start()
    wait_until(publisher.connected.is_set)
    for kind in ("fall_suspected", "fall_alert", "recovered"):
        publisher.publish_event(Event(kind, 1.0, track_id=1))
    publisher.publish_event(Event("fall_alert", 9.0, track_id=2))
    # A subscriber that comes later still gets the retained discovery, availability and state.
    time.sleep(0.2)
    late = Subscriber(broker)
    late.wait_for("fallwatch/living_room/fall", "ON")
    publisher.publish_event(Event("cancelled", 10.0, track_id=2))
    late.wait_for("fallwatch/living_room/fall", "OFF")
    publisher.stop()
    late.wait_for("fallwatch/living_room/availability", "offline")
    late.close()
    retained = {topic: payload for topic, payload, retain in late.messages if retain}
    device = json.loads(retained["homeassistant/device/living_room/config"])
    binary = device["components"]["fall"]
    assert binary["device_class"] == "safety" and binary["unique_id"] == "fallwatch_living_room_fall"
    assert device["device"]["identifiers"] == ["fallwatch_living_room"]
    assert device["availability_topic"] == "fallwatch/living_room/availability"
    assert device["components"]["state"]["state_topic"] == "fallwatch/living_room/state"
    assert retained["fallwatch/living_room/availability"] == "online"
    assert late.payloads("fallwatch/living_room/fall") == ["ON", "OFF"]
    assert late.payloads("fallwatch/living_room/state") == ["alert", "idle"]
    events = [json.loads(p)["event"] for p in late.payloads("fallwatch/living_room/event")]
    assert events == ["cancelled"]  # event messages are not retained: the late one saw only the last


def test_events_on_off_and_state_in_order(broker):
    watcher = Subscriber(broker)
    publisher = MqttPublisher(MqttConfig(enabled=True, port=broker, node_id="hall"), "Hall")
    publisher.start()
    wait_until(publisher.connected.is_set)
    for kind in ("fall_suspected", "fall_alert", "recovered"):
        publisher.publish_event(Event(kind, 1.0, track_id=1))
    watcher.wait_for("fallwatch/hall/fall", "OFF")
    publisher.stop()
    watcher.close()
    assert [json.loads(p)["event"] for p in watcher.payloads("fallwatch/hall/event")] == [
        "fall_suspected",
        "fall_alert",
        "recovered",
    ]
    # The state known at connect ("nothing going on") comes first, then the changes.
    assert watcher.payloads("fallwatch/hall/state") == ["idle", "suspected", "alert", "idle"]
    assert watcher.payloads("fallwatch/hall/fall") == ["OFF", "ON", "OFF"]


_PUBLISHER_SCRIPT = """
import sys, time
from edge.alerts.mqtt import MqttPublisher
from edge.config import MqttConfig
publisher = MqttPublisher(MqttConfig(enabled=True, port=int(sys.argv[1]), keepalive_s=5), "Bedroom")
publisher.start()
while not publisher.connected.is_set():
    time.sleep(0.02)
print("connected", flush=True)
time.sleep(600)
"""


def test_last_will_offline_when_the_publisher_dies_uncleanly(broker):
    watcher = Subscriber(broker)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", _PUBLISHER_SCRIPT, str(broker)], env=env, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"connected"
        watcher.wait_for("fallwatch/bedroom/availability", "online")
        process.send_signal(signal.SIGKILL)  # no DISCONNECT packet: only the will can say offline
        process.wait()
        watcher.wait_for("fallwatch/bedroom/availability", "offline")
    finally:
        process.kill()
        watcher.close()
    assert watcher.payloads("fallwatch/bedroom/availability") == ["online", "offline"]


def test_a_refused_login_is_an_error_not_connected_and_the_right_one_works(tmp_path):
    with running_mosquitto(tmp_path, users={"fallwatch": "right-pw"}) as port:
        cfg = MqttConfig(enabled=True, port=port, username="fallwatch")
        wrong = MqttPublisher(cfg, "Kitchen", password="wrong-pw")
        wrong.start()
        wait_until(lambda: wrong.last_error != "")
        assert not wrong.connected.is_set()
        wrong.publish_event(Event("fall_alert", 1.0, 1))  # queued, not lost, not "sent"
        wrong.stop()
        assert "Not authorized" in wrong.last_error or "Bad user name or password" in wrong.last_error
        watcher = Subscriber(port, "fallwatch", "right-pw")
        right = MqttPublisher(cfg, "Kitchen", password="right-pw")
        right.start()
        wait_until(right.connected.is_set)
        right.publish_event(Event("fall_alert", 1.0, 1))
        watcher.wait_for("fallwatch/kitchen/fall", "ON")
        right.stop()
        watcher.close()


def test_events_published_while_the_broker_is_down_arrive_after_it_starts(tmp_path):
    port = free_port()
    publisher = MqttPublisher(MqttConfig(enabled=True, port=port), "Attic")
    publisher.start()
    events = [Event(kind, float(i), 7) for i, kind in enumerate(("fall_suspected", "fall_alert"))]
    for event in events:
        publisher.publish_event(event)
    assert not publisher.connected.is_set()
    with running_mosquitto(tmp_path, port=port):
        watcher = Subscriber(port)
        watcher.wait_for("fallwatch/attic/fall", "ON", timeout=30)
        publisher.stop()
        watcher.close()
    # The late subscriber sees retained state; the connection's first publishes follow the queue.
    assert "alert" in watcher.payloads("fallwatch/attic/state")


def test_discovery_config_is_pure_and_mqtt_settings_are_checked():
    cfg = MqttConfig(enabled=True, node_id="room_1", discovery_prefix="ha")
    assert set(discovery_config(cfg, "Room 1")) == {"ha/device/room_1/config"}
    with pytest.raises(ConfigError, match=r"mqtt\.node_id"):
        MqttConfig(node_id="bad id")
    with pytest.raises(ConfigError, match=r"mqtt\.tls_ca"):
        MqttConfig(tls_ca="/etc/ca.pem")


def test_tls_with_a_login(tmp_path):
    """A TLS-only listener with a throwaway CA: the publisher verifies the broker and logs in."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    certificates = make_certificates(tmp_path / "tls")
    with running_mosquitto(tmp_path, users={"fallwatch": "tls-pw"}, tls=certificates) as port:
        cfg = MqttConfig(enabled=True, port=port, username="fallwatch", tls=True, tls_ca=str(certificates / "ca.pem"))
        publisher = MqttPublisher(cfg, "Porch", password="tls-pw")
        publisher.start()
        wait_until(publisher.connected.is_set)
        publisher.publish_event(Event("fall_alert", 1.0, 1))
        # Subscribed once connected (on_connect), as Home Assistant does: the retained "ON" arrives.
        watcher = Subscriber(port, "fallwatch", "tls-pw", ca=certificates / "ca.pem")
        watcher.wait_for("fallwatch/porch/fall", "ON", timeout=30.0)
        watcher.close()
        publisher.stop()
        # Without TLS the same port refuses to talk: never "connected".
        plain = MqttPublisher(MqttConfig(enabled=True, port=port, username="fallwatch"), "Porch", password="tls-pw")
        plain.start()
        time.sleep(1.0)
        assert not plain.connected.is_set()
        plain.stop()
