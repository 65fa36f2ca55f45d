"""FallWatch as a Home Assistant device, on a real mosquitto, checked against Home Assistant's own
discovery rules.

Home Assistant itself is not installed here: the newest PyPI release that installs on Python 3.11
(2024.3.3) predates device-based discovery (added after 2024.6), and newer ones need a newer Python. So
the discovery message is checked against the rules of homeassistant/components/mqtt (schemas.py
DEVICE_DISCOVERY_SCHEMA, discovery.py TOPIC_MATCHER, and each platform's required keys), restated
below; the broker, the retained messages and the button presses are real.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.mqtt import MqttPublisher, discovery_config
from edge.alerts.notify import Notifier, create_tiers
from edge.config import GpioConfig, MqttConfig, NotifyConfig
from edge.event_kinds import EVENT_KINDS
from edge.events import Event
from tests.mosquitto import free_port, running_mosquitto
from tests.support import wait_until
from tests.test_alerts_mqtt import Subscriber
from tests.webhooks import Receiver

REPO = Path(__file__).resolve().parents[1]

# homeassistant/components/mqtt/discovery.py
TOPIC_MATCHER = re.compile(r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config")
# The platforms this device uses, with the keys each platform's schema requires or pairs
# (binary_sensor/sensor/event: state_topic; button: command_topic; image: exactly one of
# image_topic, url_topic), and the device classes HA accepts for them.
REQUIRED = {
    "binary_sensor": {"state_topic"},
    "sensor": {"state_topic"},
    "event": {"state_topic", "event_types"},
    "button": {"command_topic"},
    "image": set(),
}
DEVICE_CLASSES = {
    "binary_sensor": {"safety", "problem", "motion", "occupancy", "connectivity"},
    "sensor": {"enum", "timestamp"},
}


def check_device_discovery(topic: str, payload: dict[str, Any], prefix: str = "homeassistant") -> None:
    """Raise AssertionError where Home Assistant would refuse the device discovery message."""
    match = TOPIC_MATCHER.fullmatch(topic.removeprefix(prefix + "/"))
    assert match and match["component"] == "device", topic
    device = payload["device"]  # vol.Required(CONF_DEVICE)
    assert device.get("identifiers") or device.get("connections"), "a device needs identifiers"
    assert isinstance(payload["origin"]["name"], str)  # MQTT_ORIGIN_INFO_SCHEMA: name required
    components = payload["components"]
    assert isinstance(components, dict) and components
    unique_ids = set()
    for name, component in components.items():
        platform = component["platform"]
        assert platform in REQUIRED, f"{name}: platform {platform} not used here"
        assert component.get("unique_id"), f"{name}: check_unique_id needs a unique_id"
        unique_ids.add(component["unique_id"])
        missing = REQUIRED[platform] - set(component)
        assert not missing, f"{name}: {platform} lacks {missing}"
        if platform == "image":
            assert ("image_topic" in component) != ("url_topic" in component), f"{name}: image_topic xor url_topic"
        if "device_class" in component:
            assert component["device_class"] in DEVICE_CLASSES[platform], f"{name}: {component['device_class']}"
    assert len(unique_ids) == len(components), "unique ids must differ"


def test_the_device_its_entities_and_buttons_follow_home_assistants_rules() -> None:
    cfg = MqttConfig(enabled=True)
    ((topic, payload),) = discovery_config(cfg, "Living room").items()
    check_device_discovery(topic, json.loads(json.dumps(payload)))
    components = payload["components"]
    assert components["fall"]["device_class"] == "safety"
    assert components["camera"]["device_class"] == "problem"
    assert components["last_seen"]["device_class"] == "timestamp"
    assert components["event"]["event_types"] == list(EVENT_KINDS)
    assert {c["payload_press"] for c in components.values() if c["platform"] == "button"} == {
        "acknowledge",
        "cancel",
        "test",
    }
    assert payload["origin"]["name"] == "FallWatch" and payload["availability_topic"].endswith("/availability")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    with running_mosquitto(tmp_path) as port:
        yield port


_DIES_DURING_AN_ALERT = """
import sys, time
from edge.alerts.mqtt import MqttPublisher
from edge.config import MqttConfig
from edge.events import Event
publisher = MqttPublisher(MqttConfig(enabled=True, port=int(sys.argv[1]), keepalive_s=5), "Bedroom")
publisher.start()
while not publisher.connected.is_set():
    time.sleep(0.02)
publisher.publish_event(Event("fall_alert", 1.0, track_id=1))
print("alert", flush=True)
time.sleep(600)
"""


def test_a_restart_after_an_alert_shows_no_fall(broker: int) -> None:
    """A process killed during an alert leaves a retained "ON"; the next one replaces it before "online"."""
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    dying = subprocess.Popen(
        [sys.executable, "-c", _DIES_DURING_AN_ALERT, str(broker)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert dying.stdout is not None and dying.stdout.readline().strip() == "alert"
        watcher = Subscriber(broker)
        watcher.wait_for("fallwatch/bedroom/fall", "ON")
    finally:
        dying.kill()
        dying.wait(10)
    watcher.wait_for("fallwatch/bedroom/availability", "offline")  # the last will
    with watcher.lock:
        watcher.messages.clear()
    restarted = MqttPublisher(MqttConfig(enabled=True, port=broker), "Bedroom")
    restarted.start()
    try:
        watcher.wait_for("fallwatch/bedroom/availability", "online")
        with watcher.lock:
            order = [(t, p) for t, p, _ in watcher.messages]
        assert order.index(("fallwatch/bedroom/fall", "OFF")) < order.index(
            ("fallwatch/bedroom/availability", "online")
        )
        late = Subscriber(broker)  # what Home Assistant reads after its own restart: retained
        late.wait_for("fallwatch/bedroom/availability", "online")
        late.wait_for("fallwatch/bedroom/state", "idle")
        assert late.payloads("fallwatch/bedroom/fall") == ["OFF"]
        late.close()
    finally:
        restarted.stop()
        watcher.close()


def _press(broker: int, payload: str, topic: str = "fallwatch/hall/command") -> None:
    """Publish as Home Assistant's button (payload_press on the command topic) or its birth message."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", broker)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def test_buttons_birth_message_picture_camera_and_last_seen(
    broker: int, tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    notify = NotifyConfig(urls=[f"json://127.0.0.1:{port}/t1"], outbox=str(tmp_path / "outbox.sqlite"))
    pins = SimulatedPins()
    mqtt = MqttPublisher(MqttConfig(enabled=True, port=broker), "Hall")
    cancelled = threading.Event()
    hub = AlertHub(
        LocalAlarm(GpioConfig(), pins),
        Notifier("Hall", notify, create_tiers(notify)),
        mqtt,
        on_cancel=lambda tracks: cancelled.set(),
    )
    watcher = Subscriber(broker)
    hub.start()
    try:
        wait_until(mqtt.connected.is_set)
        kp = np.zeros((18, 3), np.float32)
        kp[:, 0], kp[:, 1], kp[:, 2] = np.linspace(0.3, 0.7, 18), np.linspace(0.2, 0.9, 18), 1.0
        hub.handle(Event("fall_alert", 1.0, track_id=1), keypoints=kp, aspect=4 / 3)
        watcher.wait_for("fallwatch/hall/fall", "ON")
        wait_until(lambda: any(t == "fallwatch/hall/image" for t, _, _ in watcher.messages))
        assert json.loads(watcher.payloads("fallwatch/hall/attributes")[-1])["event"] == "fall_alert"
        _press(broker, "cancel")  # the Cancel button: the cancel button's press
        wait_until(cancelled.is_set)
        assert hub.alarm.level == "idle" and hub.cancel_requested()
        _press(broker, "test")  # the Test button: a test push to every channel (here one)
        wait_until(lambda: state.titles("/t1")[-1:] == ["FallWatch in Hall: test alert"])
        hub.handle(Event("source_lost", 2.0))
        watcher.wait_for("fallwatch/hall/camera", "ON")
        hub.people_seen(1)
        watcher.wait_for("fallwatch/hall/last_seen")
        discovery = "homeassistant/device/hall/config"
        before = len(watcher.payloads(discovery))
        _press(broker, "online", "homeassistant/status")  # Home Assistant (re)started
        wait_until(lambda: len(watcher.payloads(discovery)) > before)
        assert watcher.payloads("fallwatch/hall/camera")[-1] == "ON"  # state re-sent with it
    finally:
        hub.close()
        watcher.close()
    image = next(p for t, p, _ in watcher.messages if t == "fallwatch/hall/image")
    assert image.startswith("\ufffdPNG")  # PNG bytes (0x89 "PNG"), as decoded with errors="replace"


def test_fall_detected_stays_on_through_an_acknowledge_and_clears_on_recovery(broker: int) -> None:
    publisher = MqttPublisher(MqttConfig(enabled=True, port=broker, node_id="den"), "Den")
    watcher = Subscriber(broker)
    publisher.start()
    try:
        wait_until(publisher.connected.is_set)
        for kind in ("fall_alert", "acknowledged", "recovered"):
            publisher.publish_event(Event(kind, 1.0, track_id=1))
        wait_until(lambda: len(watcher.payloads("fallwatch/den/event")) == 3)
        watcher.wait_for("fallwatch/den/fall", "ON")
        watcher.wait_for("fallwatch/den/state", "alert")
    finally:
        publisher.stop()
        watcher.close()
    ordered = [(t, json.loads(p)["event"] if t.endswith("/event") else p) for t, p, _ in watcher.messages]
    ordered = [m for m in ordered if m[0] in ("fallwatch/den/event", "fallwatch/den/fall")]
    assert ordered[-6:] == [  # paho sends in order: the OFF follows the recovery, not the acknowledge
        ("fallwatch/den/fall", "OFF"),  # the state known at connect
        ("fallwatch/den/event", "fall_alert"),
        ("fallwatch/den/fall", "ON"),
        ("fallwatch/den/event", "acknowledged"),
        ("fallwatch/den/event", "recovered"),
        ("fallwatch/den/fall", "OFF"),
    ]
    assert [json.loads(p)["event"] for p in watcher.payloads("fallwatch/den/event")] == [
        "fall_alert",
        "acknowledged",
        "recovered",
    ]


def test_an_alert_still_open_at_a_restart_stays_on(broker: int, tmp_path: Path) -> None:
    """The other side of a clean slate: an episode the outbox still holds open (nobody recovered or
    cancelled it) is "Fall detected: on" after a restart."""
    notify = NotifyConfig(urls=[f"json://127.0.0.1:{free_port()}/x"], outbox=str(tmp_path / "o.sqlite"), drain_s=0)
    before = Notifier("Hall", notify, create_tiers(notify))
    before.alert(Event("fall_alert", 1.0, track_id=3))
    before.stop(drain_s=0)
    mqtt = MqttPublisher(MqttConfig(enabled=True, port=broker), "Hall")
    hub = AlertHub(LocalAlarm(GpioConfig(), SimulatedPins()), Notifier("Hall", notify, create_tiers(notify)), mqtt)
    watcher = Subscriber(broker)
    hub.start()
    try:
        watcher.wait_for("fallwatch/hall/availability", "online")
        assert watcher.payloads("fallwatch/hall/fall") == ["ON"]
        hub.handle(Event("recovered", 2.0, track_id=3))
        watcher.wait_for("fallwatch/hall/fall", "OFF")
    finally:
        hub.close()
        watcher.close()
