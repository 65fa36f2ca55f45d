"""The local alarm and the hub on the simulated pins: timelines for a fall, a cancel and a recovery;
the Jetson backend against a stand-in Jetson.GPIO module (the hardware boundary)."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
import types
import warnings
from pathlib import Path

import pytest

from edge.alerts.alarm import LocalAlarm
from edge.alerts.boards import pin_problem
from edge.alerts.channels import WebhookChannel
from edge.alerts.gpio import JetsonPins, SimulatedPins, create_pins
from edge.alerts.hub import AlertHub
from edge.alerts.notify import Notifier
from edge.config import Config, GpioConfig, NotifyConfig
from edge.events import Event
from tests.support import wait_until

GPIO = GpioConfig(blink_hz=20.0)  # fast blinking keeps the tests short
BUZZER, LED = GPIO.buzzer_pin, GPIO.led_pin


def _hub(notifier: Notifier | None = None) -> tuple[AlertHub, SimulatedPins]:
    pins = SimulatedPins()
    return AlertHub(LocalAlarm(GPIO, pins), notifier), pins


def _changes(pins: SimulatedPins, pin: int, since: int = 0) -> list[bool]:
    return [c.on for c in pins.changes[since:] if c.pin == pin]


def test_fall_timeline_blink_then_steady_with_buzzer_then_off_on_recovery():
    hub, pins = _hub()
    hub.handle(Event("fall_suspected", 1.0, 1))
    wait_until(lambda: len(_changes(pins, LED)) >= 5)  # on, off, on, off, on: blinking
    assert _changes(pins, BUZZER) == []
    blink = _changes(pins, LED)
    assert blink[:5] == [True, False, True, False, True]
    at_alert = len(pins.changes)
    hub.handle(Event("fall_alert", 11.0, 1))
    time.sleep(0.2)  # four blink periods: a steady LED does not change
    assert pins.levels == {BUZZER: True, LED: True}
    assert _changes(pins, LED, at_alert) in ([], [True])  # at most the switch back on, then steady
    assert _changes(pins, BUZZER, at_alert) == [True]
    hub.handle(Event("recovered", 20.0, 1))
    assert pins.levels == {BUZZER: False, LED: False}
    settled = len(pins.changes)
    time.sleep(0.15)
    assert len(pins.changes) == settled  # off stays off
    hub.close()
    assert pins.closed


def test_cancel_button_in_the_pre_alarm_stops_the_led_and_the_remote_alert(tmp_path):
    cfg = NotifyConfig(outbox=str(tmp_path / "outbox.sqlite"))
    notifier = Notifier("Bedroom", cfg, [[WebhookChannel("json://127.0.0.1:9/")]])  # worker not started
    cancelled: list[list[int | None]] = []
    hub, pins = _hub(notifier)
    hub.on_cancel = cancelled.append
    hub.handle(Event("fall_suspected", 1.0, 4))
    wait_until(lambda: len(_changes(pins, LED)) >= 2)
    assert pins.press()
    assert pins.levels == {BUZZER: False, LED: False}
    assert cancelled == [[4]]
    # The state machine has not polled yet and its timer fires: the alert stays local-silent and unsent.
    hub.handle(Event("fall_alert", 11.0, 4))
    assert pins.levels == {BUZZER: False, LED: False}
    assert _changes(pins, BUZZER) == []
    assert notifier.outbox.counts() == {"pending": 0, "delivered": 0, "failed": 0}
    assert hub.cancel_requested() is True
    assert hub.cancel_requested() is False  # once per press
    hub.handle(Event("cancelled", 11.5, 4))
    assert notifier.outbox.counts()["pending"] == 0  # no all-clear for an alert never sent
    # Another person's real alarm still goes out.
    hub.handle(Event("fall_alert", 30.0, 5))
    assert pins.levels == {BUZZER: True, LED: True}
    assert notifier.outbox.counts()["pending"] == 1
    hub.handle(Event("recovered", 40.0, 5))
    assert notifier.outbox.counts()["pending"] == 2  # the all-clear follows the alert
    hub.close()


def test_button_press_is_debounced_and_ignored_with_no_alarm():
    hub, pins = _hub()
    assert pins.press()  # nothing active: logged, nothing to cancel
    assert hub.cancel_requested() is False
    hub.handle(Event("fall_alert", 1.0, 2))
    assert pins.press() is False  # inside the 50 ms debounce of the first press
    assert pins.levels[BUZZER] is True
    time.sleep(0.06)
    assert pins.press()  # a short press during an alert: a cancel, decided after gpio.ack_hold_s
    wait_until(lambda: pins.levels == {BUZZER: False, LED: False})
    assert hub.cancel_requested()
    hub.close()


def test_the_button_held_during_an_alert_acknowledges_and_a_short_press_in_the_pre_alarm_cancels_at_once():
    pins = SimulatedPins()
    hub = AlertHub(LocalAlarm(GpioConfig(blink_hz=20.0, ack_hold_s=0.3), pins))
    hub.handle(Event("fall_alert", 1.0, 4))
    assert pins.press(hold=True)  # help is here: held down
    wait_until(
        lambda: bool(events := hub.poll(2.0)) and [(e.event, e.track_id) for e in events] == [("acknowledged", 4)]
    )
    pins.release()
    assert hub.cancel_requested() is False  # acknowledged, not cancelled
    hub.handle(Event("acknowledged", 2.0, 4))
    assert pins.levels == {BUZZER: False, LED: False}
    hub.handle(Event("fall_suspected", 100.0, 5))
    time.sleep(0.06)  # past the debounce
    assert pins.press()
    assert hub.alarm.level == "idle" and hub.cancel_requested()  # the pre-alarm: at once
    hub.close()


def test_two_people_the_loudest_pattern_wins():
    hub, pins = _hub()
    hub.handle(Event("fall_alert", 1.0, 1))
    hub.handle(Event("fall_suspected", 2.0, 2))
    assert pins.levels == {BUZZER: True, LED: True}
    hub.handle(Event("recovered", 3.0, 1))
    assert pins.levels[BUZZER] is False  # person 2 is only suspected: blinking, no buzzer
    wait_until(lambda: _changes(pins, LED)[-2:] == [False, True])
    hub.handle(Event("recovered", 4.0, 2))
    assert pins.levels == {BUZZER: False, LED: False}
    hub.close()


def test_local_alarm_does_not_wait_for_a_hanging_server(tmp_path):
    """The server accepts the TCP connection and never answers: the pins are already on, and the
    alert is safe in the outbox, while the sender is still stuck."""
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen()
    cfg = NotifyConfig(outbox=str(tmp_path / "outbox.sqlite"), timeout_s=30)
    notifier = Notifier("Hall", cfg, [[WebhookChannel(f"json://127.0.0.1:{hanging.getsockname()[1]}/", 30)]])
    hub, pins = _hub(notifier)
    hub.start()
    hub.handle(Event("fall_alert", 1.0, 1))
    assert pins.levels == {BUZZER: True, LED: True}
    connection, _ = hanging.accept()  # the sender is now blocked on us
    assert notifier.outbox.counts()["pending"] == 1
    connection.close()
    hanging.close()
    hub.close()


class _FakeJetsonGpio(types.ModuleType):
    """Jetson.GPIO's functions as used by JetsonPins, recording calls (no hardware here)."""

    BOARD, OUT, IN, LOW, HIGH, FALLING, RISING = "BOARD", "OUT", "IN", 0, 1, "FALLING", "RISING"

    def __init__(self) -> None:
        super().__init__("Jetson.GPIO")
        self.calls: list[tuple] = []
        self.callback = None

    def setmode(self, mode: str) -> None:
        self.calls.append(("setmode", mode))

    def setup(self, channels: object, direction: str, initial: int | None = None) -> None:
        self.calls.append(("setup", channels, direction, initial))
        if channels == 29:  # what Jetson.GPIO 2.1 on JetPack 6 says for a pin whose pinmux is not GPIO
            warnings.warn("Pin 29 is not configured as GPIO in the pinmux", RuntimeWarning, stacklevel=2)

    def add_event_detect(self, channel: int, edge: str, callback: object = None, bouncetime: int | None = None) -> None:
        self.calls.append(("add_event_detect", channel, edge, bouncetime))
        self.callback = callback

    def output(self, channel: int, value: int) -> None:
        self.calls.append(("output", channel, value))

    def input(self, channel: int) -> int:
        self.calls.append(("input", channel))
        return self.LOW  # the button pulls its pin to ground: pressed

    def remove_event_detect(self, channel: int) -> None:
        self.calls.append(("remove_event_detect", channel))

    def cleanup(self) -> None:
        self.calls.append(("cleanup",))


def test_jetson_backend_drives_board_pins_and_releases_them_on_sigterm(monkeypatch, caplog):
    fake = _FakeJetsonGpio()
    package = types.ModuleType("Jetson")
    package.GPIO = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "Jetson", package)
    monkeypatch.setitem(sys.modules, "Jetson.GPIO", fake)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    try:
        pins = create_pins(GpioConfig(backend="jetson", cancel_edge="falling", debounce_ms=80))
        assert isinstance(pins, JetsonPins)
        presses: list[int] = []
        with caplog.at_level(logging.WARNING, logger="edge.alerts.gpio"):
            pins.setup([33, 31], 29, "falling", 80, lambda: presses.append(1))
        assert fake.calls[:3] == [("setmode", "BOARD"), ("setup", [33, 31], "OUT", 0), ("setup", 29, "IN", None)]
        assert fake.calls[3] == ("add_event_detect", 29, "FALLING", 80)
        (shown,) = [r.getMessage() for r in caplog.records]  # the pinmux warning is shown, with the fix
        assert "Pin 29 is not configured as GPIO" in shown and "jetson-io.py" in shown
        fake.callback(29)  # Jetson.GPIO calls back with the channel number
        assert presses == [1]
        assert pins.button_held() and fake.calls[-1] == ("input", 29)  # falling edge: pressed is LOW
        pins.write(33, True)
        assert fake.calls[-1] == ("output", 33, 1)
        with pytest.raises(SystemExit) as exit_info:
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        assert exit_info.value.code == 128 + signal.SIGTERM
        assert fake.calls[-4:] == [("output", 33, 0), ("output", 31, 0), ("remove_event_detect", 29), ("cleanup",)]
        pins.close()  # twice is harmless
        assert fake.calls.count(("cleanup",)) == 1
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGHUP, previous[1])


AGX_ORIN = b"nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0"
ORIN_NANO = b"nvidia,p3768-0000+p3767-0005\0nvidia,p3767-0005\0nvidia,tegra234\0"


@pytest.mark.parametrize(
    ("compatible", "pins", "problem"),
    [
        (ORIN_NANO, {}, ""),  # the defaults 33/31/29 are GPIO13/GPIO11/GPIO01 there
        (AGX_ORIN, {}, "gpio.buzzer_pin = 33: on the Jetson AGX Orin pin 33 is CAN1_DOUT, not a GPIO"),
        (
            AGX_ORIN,
            {"buzzer_pin": 32, "led_pin": 18},
            "gpio.cancel_pin = 29: on the Jetson AGX Orin pin 29 is CAN0_DIN",
        ),
        (AGX_ORIN, {"buzzer_pin": 32, "led_pin": 18, "cancel_pin": 16}, ""),  # the pins it suggests
        (None, {}, ""),  # not a Jetson: Jetson.GPIO itself refuses
    ],
)
def test_pins_that_are_not_gpios_on_the_board_are_refused(tmp_path: Path, compatible, pins, problem):
    path = tmp_path / "compatible"
    if compatible is not None:
        path.write_bytes(compatible)
    found = pin_problem(GpioConfig(backend="jetson", **pins), path)
    assert found.startswith(problem) if problem else found == ""
    if problem:
        assert "buzzer_pin = 32, led_pin = 18, cancel_pin = 16" in found and "jetson-io.py" in found


def test_jetson_backend_missing_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "Jetson", None)
    with pytest.raises(RuntimeError, match=r"fallwatch\[jetson\]"):
        JetsonPins()


def test_hub_from_config_with_the_defaults_is_local_only(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("FALLWATCH_NOTIFY_URLS", raising=False)
    cfg = Config()
    cfg.notify.outbox = str(tmp_path / "outbox.sqlite")
    hub = AlertHub.from_config(cfg)
    assert hub.notifier is None and hub.mqtt is None and isinstance(hub.alarm.pins, SimulatedPins)
    hub.start()
    hub.handle(Event("fall_alert", 1.0, 1))
    assert hub.alarm.level == "alert"
    hub.close()
    assert hub.alarm.pins.closed


def test_a_broken_outbox_is_logged_loudly_and_the_alarm_still_sounds(tmp_path, caplog):
    cfg = NotifyConfig(outbox=str(tmp_path / "outbox.sqlite"))
    notifier = Notifier("Hall", cfg, [[WebhookChannel("json://127.0.0.1:9/")]])
    notifier.outbox.close()
    for extra in ("-wal", "-shm"):
        Path(f"{cfg.outbox}{extra}").unlink(missing_ok=True)
    Path(cfg.outbox).write_bytes(b"this is not a database" * 100)
    hub, pins = _hub(notifier)
    hub.handle(Event("fall_alert", 1.0, 1))
    assert pins.levels == {BUZZER: True, LED: True}
    assert "could NOT be queued for push notification" in caplog.text
    hub.alarm.close()
