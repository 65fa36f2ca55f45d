"""A test alert through every channel: the real hub with the simulated GPIO pins, real espeak-ng
writing the voice to a WAV file, and a real outbox (its sender not started: the push is only queued)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import edge.alerts.hub
from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.channels import WebhookChannel
from edge.alerts.gpio import SimulatedPins
from edge.alerts.notify import Notifier
from edge.alerts.voice import Player, Voice, WavFilePlayer, prompt_text, synthesize
from edge.config import GpioConfig, NotifyConfig, VoiceConfig
from edge.events import Event
from tests.support import require_tool, wait_until

GPIO = GpioConfig()
BUZZER, LED = GPIO.buzzer_pin, GPIO.led_pin
SOUND_S = 0.5  # the test's sound, shortened

# A test sentence in the household's language: the one the voice is configured with is the one said.
VOICE = VoiceConfig(language="de", test="Das ist ein Test von FallWatch. Es ist nichts passiert.")


@pytest.fixture
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AlertHub, SimulatedPins, Path]]:
    """A hub with pins, a voice that writes each sentence to a WAV file, and one push channel."""
    require_tool("espeak-ng", "espeak-ng")
    monkeypatch.setattr(edge.alerts.hub, "TEST_SOUND_S", SOUND_S)
    wav = tmp_path / "voice.wav"
    pins = SimulatedPins()
    notifier = Notifier("Hall", NotifyConfig(outbox=str(tmp_path / "outbox.sqlite")),
                        [[WebhookChannel("json://127.0.0.1:9/")]])  # fmt: skip
    voice = Voice(VOICE.replace(wav=str(wav)), WavFilePlayer(wav))
    hub = AlertHub(LocalAlarm(GPIO, pins), notifier, voice=voice)
    assert hub.voice is not None
    hub.voice.start()  # the voice only: the outbox's sender stays off, the push stays queued
    try:
        yield hub, pins, wav
    finally:
        hub.close()


def on_times(pins: SimulatedPins, pin: int) -> list[tuple[bool, float]]:
    return [(c.on, c.time) for c in pins.changes if c.pin == pin]


def test_a_test_alert_sounds_buzzer_and_led_briefly_speaks_and_pushes_without_any_alarm(
    room: tuple[AlertHub, SimulatedPins, Path],
) -> None:
    hub, pins, wav = room
    drill = hub.test_alert("the test")
    assert drill is not None and drill.voice and drill.key
    assert pins.levels == {BUZZER: True, LED: True}  # at once
    wait_until(lambda: not pins.levels[BUZZER])
    for pin in (BUZZER, LED):
        (on, start), (off, end) = on_times(pins, pin)
        assert on and not off and SOUND_S - 0.05 < end - start < SOUND_S + 0.5, pin
    wait_until(wav.exists)
    assert wav.read_bytes() == synthesize(VOICE.test, VOICE)  # the configured sentence, in its language
    assert hub.notifier is not None
    assert len(hub.notifier.outbox.deliveries(drill.key)) == 1
    # no alarm, no episode, no event: the room stays idle for the state machine and the page
    assert hub.alarm.level == "idle" and hub.alarm.active_tracks() == {}
    assert not hub.notifier.escalation.open_episodes()
    assert hub.poll(1.0) == [] and not hub.cancel_requested()


def test_a_test_alert_during_a_real_alert_leaves_the_real_alarm_sounding(
    room: tuple[AlertHub, SimulatedPins, Path],
) -> None:
    hub, pins, wav = room
    hub.handle(Event("fall_alert", 1.0, track_id=1))
    wait_until(wav.exists)  # "help is being called"
    said = wav.read_bytes()
    assert hub.test_alert("the test") is None
    time.sleep(SOUND_S + 0.5)
    assert pins.levels == {BUZZER: True, LED: True} and hub.alarm.level == "alert"
    assert [on for on, _ in on_times(pins, BUZZER)] == [True]  # never silenced, not even for a moment
    assert wav.read_bytes() == said == synthesize(prompt_text(VOICE.help, ""), VOICE)
    assert hub.notifier is not None and hub.notifier.outbox.counts()["pending"] == 1  # the alert, no test


def test_a_real_alarm_during_a_test_takes_the_pins_over_and_the_test_s_end_leaves_it(
    room: tuple[AlertHub, SimulatedPins, Path],
) -> None:
    hub, pins, _ = room
    assert hub.test_alert("the test") is not None
    hub.handle(Event("fall_alert", 1.0, track_id=1))
    time.sleep(SOUND_S + 0.5)  # the test's time is over
    assert pins.levels == {BUZZER: True, LED: True} and hub.alarm.level == "alert"
    hub.handle(Event("recovered", 2.0, track_id=1))
    assert pins.levels == {BUZZER: False, LED: False}


def test_the_cancel_button_silences_a_test_at_once_and_cancels_nothing(
    room: tuple[AlertHub, SimulatedPins, Path],
) -> None:
    hub, pins, _ = room
    assert hub.test_alert("the test") is not None
    assert pins.press()
    assert pins.levels == {BUZZER: False, LED: False}
    assert not hub.cancel_requested() and hub.poll(1.0) == []


class HeldPlayer(Player):
    """The audio device, recorded, holding the first sentence until released (as a long sentence)."""

    name = "held player"

    def __init__(self) -> None:
        self.played: list[bytes] = []
        self.playing, self.release = threading.Event(), threading.Event()

    def play(self, wav: bytes) -> None:
        self.playing.set()
        self.release.wait(30)
        self.played.append(wav)


def test_a_real_prompt_drops_a_test_sentence_not_yet_said() -> None:
    require_tool("espeak-ng", "espeak-ng")
    cfg, player = VoiceConfig(wav="unused.wav"), HeldPlayer()
    voice = Voice(cfg, player)
    voice.start()
    try:
        voice.say_test()
        assert player.playing.wait(30)  # the first test sentence is being said
        voice.say_test()  # a second test waits behind it...
        voice.prompt(1, "help")  # ...and a real alarm comes: it is dropped, help is said next
        player.release.set()
        wait_until(lambda: len(player.played) == 2)
        time.sleep(1.0)  # nothing more comes
    finally:
        voice.close()
    assert player.played == [synthesize(cfg.test, cfg), synthesize(prompt_text(cfg.help, ""), cfg)]


def test_a_test_sentence_asked_for_while_a_real_prompt_is_on_is_never_said() -> None:
    """A test that reaches the voice after a real alarm's prompt (the hub's check of the pins and the
    voice's request are not one step) is dropped: "Nothing happened" is never said between the
    questions to a person who may have fallen."""
    require_tool("espeak-ng", "espeak-ng")
    cfg, player = VoiceConfig(wav="unused.wav", repeat_s=30.0), HeldPlayer()
    voice = Voice(cfg, player)
    voice.start()
    try:
        voice.prompt(1, "ask")
        assert player.playing.wait(30)  # the question is being said
        assert voice.say_test() is False
        player.release.set()
        wait_until(lambda: len(player.played) >= 1)
        time.sleep(1.5)  # the next question is 30 s away: nothing may come meanwhile
    finally:
        voice.close()
    assert player.played == [synthesize(prompt_text(cfg.ask, ""), cfg)]


def test_a_real_alarm_drops_the_test_message_still_waiting_to_be_sent(
    room: tuple[AlertHub, SimulatedPins, Path],
) -> None:
    """A test push still queued (its channel down) when a fall alerts never follows the alarm with
    "Nothing happened": it is dropped, and the alarm's own message stays queued."""
    hub, pins, _ = room
    drill = hub.test_alert("the test")
    assert drill is not None and hub.notifier is not None
    wait_until(lambda: not pins.levels[BUZZER])  # the test's sound is over; its push is still pending
    alarm = Event("fall_alert", 1.0, track_id=1)
    hub.handle(alarm)
    (test,) = hub.notifier.outbox.deliveries(drill.key)
    assert test.state == "failed" and "fall_alert came first" in test.detail
    assert [d.state for d in hub.notifier.outbox.deliveries(alarm.id)] == ["pending"]
