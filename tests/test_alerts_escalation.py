"""Escalation until acknowledged, against real parts: webhook receivers on 127.0.0.1, a real SQLite
outbox, a real mosquitto carrying Home Assistant's Acknowledge button, the pipeline's events log.
Wall-clock minutes are simulated (FakeClock) so tiers minutes apart run in seconds; fakes otherwise
only at the hardware boundary (simulated GPIO pins, a camera that delivers nothing)."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.mqtt import MqttPublisher
from edge.alerts.notify import Notifier, create_tiers
from edge.config import Config, GpioConfig, MqttConfig, NotifyConfig, TierConfig
from edge.events import Event, read_events
from edge.output.base import NullSink
from edge.pipeline import Pipeline
from edge.sources.base import Frame, FrameSource
from tests.mosquitto import running_mosquitto
from tests.support import FakeClock, wait_until
from tests.test_pipeline import nobody_classifier, nobody_pose
from tests.webhooks import Receiver


class DarkCamera(FrameSource):
    """The hardware boundary: a live camera that delivers no frame (the loop keeps polling)."""

    def read(self) -> Frame | None:
        time.sleep(0.01)
        return None

    @property
    def finished(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release."""


def _notify(tmp_path: Path, port: int, tiers: int = 2, repeat_min: float = 10.0) -> NotifyConfig:
    """Tier 1 at /t1 now, tier n at /tn after 5 * (n - 1) minutes; reminders every repeat_min."""
    return NotifyConfig(
        urls=[f"json://127.0.0.1:{port}/t1"],
        tiers=[
            TierConfig(urls=[f"json://127.0.0.1:{port}/t{n}"], after_min=5.0 * (n - 1)) for n in range(2, tiers + 1)
        ],
        repeat_min=repeat_min,
        outbox=str(tmp_path / "outbox.sqlite"),
        ack_url="http://192.168.1.20:8780",
        drain_s=5.0,
    )


FALL = "FallWatch: Fall in Hall"
AGAIN = "FallWatch: Fall in Hall: nobody has acknowledged yet"
ACKED = "FallWatch: Help is on the way in Hall: the alert was acknowledged"
CLEAR = "FallWatch: All clear in Hall: the person got up"


def test_tier_1_then_tier_2_then_reminders_until_home_assistant_acknowledges(
    tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    clock = FakeClock()
    cfg = _notify(tmp_path, port)
    with running_mosquitto(tmp_path) as broker:
        mqtt = MqttPublisher(MqttConfig(enabled=True, port=broker), "Hall")
        hub = AlertHub(LocalAlarm(GpioConfig(), SimulatedPins()), Notifier("Hall", cfg, create_tiers(cfg), clock), mqtt)
        log = tmp_path / "events.jsonl"
        pipeline = Pipeline(
            Config(room="Hall"),
            DarkCamera(),
            nobody_pose(tmp_path),
            nobody_classifier(Config()),
            NullSink(),
            hub,
            str(log),
        )
        pipeline.start()
        hub.start()
        try:
            wait_until(mqtt.connected.is_set)
            pipeline._emit([Event("fall_alert", 1.0, track_id=1)])  # what the state machine raises
            wait_until(lambda: state.titles("/t1") == [FALL])
            assert "/ack/" in state.arrivals[0].body["message"]  # the acknowledge link
            pipeline.step()
            assert state.titles("/t2") == []  # tier 2 waits its 5 minutes
            clock.now += 5 * 60
            wait_until(lambda: pipeline.step() and state.titles("/t2") == [AGAIN])  # looked at once a second
            clock.now += 5 * 60  # 10 minutes: a reminder to every tier reached
            wait_until(
                lambda: pipeline.step() and state.titles("/t1") == [FALL, AGAIN] and len(state.titles("/t2")) == 2
            )

            # Home Assistant's Acknowledge button publishes its payload_press on the command topic.
            button = paho.Client(paho.CallbackAPIVersion.VERSION2)
            button.connect("127.0.0.1", broker)
            button.loop_start()
            pressed = time.monotonic()
            button.publish("fallwatch/hall/command", "acknowledge", qos=1).wait_for_publish(5)
            while not any(e.event == "acknowledged" for e in pipeline.events):
                assert time.monotonic() - pressed < 10, "the acknowledge never arrived"
                pipeline.step()
            button.loop_stop()
            button.disconnect()
            wait_until(lambda: state.titles("/t1")[-1:] == [ACKED] and state.titles("/t2")[-1:] == [ACKED])
            clock.now += 60 * 60  # an hour later: no more reminders, no more tiers
            began = time.monotonic()
            while time.monotonic() - began < 2.5:  # past two of the hub's once-a-second looks
                pipeline.step()
            pipeline._emit([Event("recovered", 2.0, track_id=1)])
            wait_until(lambda: state.titles("/t1")[-1:] == [CLEAR] and state.titles("/t2")[-1:] == [CLEAR])
        finally:
            pipeline.stop()
    assert state.titles("/t1") == [FALL, AGAIN, ACKED, CLEAR]
    assert state.titles("/t2") == [AGAIN, AGAIN, ACKED, CLEAR]
    assert [e.event for e in read_events(log)] == ["fall_alert", "escalated", "escalated", "acknowledged", "recovered"]


def test_an_alert_handed_over_again_after_a_crash_is_sent_once(tmp_path: Path, receiver: tuple[Receiver, int]) -> None:
    # The detector saves its state after the hand-off; a crash in between raises the alert again after the
    # restart, under the same id (edge.events: an episode's events have ids of their own).
    state, port = receiver
    cfg = _notify(tmp_path, port, tiers=1)
    alert = Event("fall_alert", 1.0, track_id=4)
    first = Notifier("Hall", cfg, create_tiers(cfg), FakeClock())
    first.start()
    first.alert(alert)
    assert first.stop() == 0
    second = Notifier("Hall", cfg, create_tiers(cfg), FakeClock())  # the restarted process, the same outbox
    second.start()
    second.alert(Event("fall_alert", 12.0, track_id=4, id=alert.id))
    assert second.stop() == 0
    assert state.titles("/t1") == [FALL]


def test_a_restart_in_the_middle_resumes_the_schedule_and_sends_nothing_twice(
    tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    clock = FakeClock()
    cfg = _notify(tmp_path, port, tiers=3)
    first = Notifier("Hall", cfg, create_tiers(cfg), clock)
    first.start()
    first.alert(Event("fall_alert", 1.0, track_id=4))
    clock.now += 5 * 60
    assert [e.id.rsplit("-", 1)[1] for e in first.escalate(1.0)] == ["tier2"]
    first.stop(drain_s=0)  # the "restart": tier 2's message may still be pending; it stays tier 2's

    second = Notifier("Hall", cfg, create_tiers(cfg), clock)  # a new process on the same outbox
    second.start()
    try:
        assert second.escalate(2.0) == []  # nothing due again
        clock.now += 5 * 60  # 10 minutes: tier 3 joins, and the first reminder goes to tiers 1 and 2
        assert sorted(e.id.rsplit("-", 1)[1] for e in second.escalate(3.0)) == ["repeat1", "tier3"]
        assert second.escalate(3.0) == []
    finally:
        assert second.stop() == 0
    assert state.titles("/t1") == [FALL, AGAIN]
    assert state.titles("/t2") == [AGAIN, AGAIN]
    assert state.titles("/t3") == [AGAIN]
    sent = [(a.path, a.headers["Idempotency-Key"]) for a in state.arrivals]
    assert len(sent) == len(set(sent)) == 5  # one delivery per channel per message, across the restart


def test_recovery_tells_every_contact_that_was_alerted_and_nobody_else(
    tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    clock = FakeClock()
    cfg = _notify(tmp_path, port, tiers=3, repeat_min=0)
    notifier = Notifier("Hall", cfg, create_tiers(cfg), clock)
    notifier.start()
    try:
        notifier.alert(Event("fall_alert", 1.0, track_id=2))
        clock.now += 5 * 60
        notifier.escalate(1.0)  # tiers 1 and 2 reached; tier 3 (10 min) not yet
        assert notifier.all_clear(Event("recovered", 2.0, track_id=7)) == []  # another person: no episode
        assert len(notifier.all_clear(Event("recovered", 3.0, track_id=2))) == 2
        clock.now += 60 * 60
        assert notifier.escalate(4.0) == []  # closed: no tier 3, no reminders
    finally:
        notifier.stop()
    assert state.titles("/t1") == [FALL, CLEAR]
    assert state.titles("/t2") == [AGAIN, CLEAR]
    assert state.titles("/t3") == []


def test_tiers_out_of_order_are_refused_naming_the_key() -> None:
    from edge.config import ConfigError

    with pytest.raises(ConfigError, match=r"notify\.tiers"):
        NotifyConfig(tiers=[TierConfig(urls=["json://127.0.0.1:9/"], after_min=after) for after in (15.0, 5.0)])


def test_the_acknowledge_page_needs_a_post_and_a_live_token(tmp_path: Path, receiver: tuple[Receiver, int]) -> None:
    """A link preview (GET) must not acknowledge; the button (POST) does; a wrong token is 404."""
    import urllib.error
    import urllib.request

    from edge.alerts.ack_page import AckPage

    _, port = receiver
    clock = FakeClock()
    cfg = _notify(tmp_path, port)
    notifier = Notifier("Hall", cfg, create_tiers(cfg), clock)
    hub = AlertHub(LocalAlarm(GpioConfig(), SimulatedPins()), notifier)
    page = AckPage("127.0.0.1", 0, "Hall", notifier.escalation.is_token, hub.acknowledge)
    page.start()
    try:
        hub.handle(Event("fall_alert", 1.0, track_id=3))
        token = notifier.escalation.open_episodes()[0].token
        url = f"http://127.0.0.1:{page.port}/ack/{token}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert b"<form" in answer.read()
        assert hub.poll(1.5) == []  # the GET acknowledged nothing
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(f"http://127.0.0.1:{page.port}/ack/{token[:-2]}xx", data=b"", timeout=5)
        assert wrong.value.code == 404
        with urllib.request.urlopen(url, data=b"", timeout=5) as answer:
            assert answer.status == 200
        events = hub.poll(2.0)
        assert [(e.event, e.track_id) for e in events] == [("acknowledged", 3)]
        for event in events:
            hub.handle(event)
        assert not notifier.escalation.is_token(token)  # the link is spent
    finally:
        page.close()
        hub.close()


def test_outbox_file_holds_the_schedule(tmp_path: Path, receiver: tuple[Receiver, int]) -> None:
    """The schedule is in the SQLite file itself (what survives a reboot)."""
    import sqlite3

    _, port = receiver
    cfg = _notify(tmp_path, port)
    notifier = Notifier("Hall", cfg, create_tiers(cfg), FakeClock())
    notifier.alert(Event("fall_alert", 1.0, track_id=5, id="a" * 32))
    notifier.stop(drain_s=0)
    with sqlite3.connect(cfg.outbox) as db:
        assert db.execute("SELECT alert, track, state, tiers FROM episodes").fetchall() == [("a" * 32, 5, "open", 1)]
