"""The voice in the room: real espeak-ng (Debian's espeak-ng), written to a real WAV file; the audio
device is the hardware boundary, played by a recording Player where the test needs to see each
prompt."""

from __future__ import annotations

import io
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.voice import Player, Voice, WavFilePlayer, synthesize
from edge.config import Config, ConfigError, GpioConfig, VoiceConfig
from edge.doctor import check_voice
from edge.events import Event
from tests.support import require_tool, wait_until


@pytest.fixture(autouse=True)
def espeak_ng() -> None:
    require_tool("espeak-ng", "espeak-ng")


def wav_stats(data: bytes) -> tuple[float, float]:
    """(seconds, RMS of the samples in [0, 1]) of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768
    return seconds, float(np.sqrt(np.mean(samples**2)))


class RecordingPlayer(Player):
    """The audio device, recorded: each WAV played, in order; optionally holds each play until released."""

    name = "recording player"

    def __init__(self, hold: bool = False) -> None:
        self.played: list[bytes] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def play(self, wav: bytes) -> None:
        self.started.set()
        self.release.wait(30)
        self.played.append(wav)


def test_espeak_ng_writes_the_prompt_to_a_wav_file_a_few_seconds_long_and_not_silent(tmp_path: Path) -> None:
    path = tmp_path / "prompts.wav"
    cfg = VoiceConfig(wav=str(path), name="Anna")
    voice = Voice.from_config(cfg)
    assert voice is not None and isinstance(voice.player, WavFilePlayer)
    voice.start()
    try:
        voice.prompt(1, "ask")
        wait_until(path.exists)
    finally:
        voice.close()
    seconds, rms = wav_stats(path.read_bytes())
    assert 2.0 < seconds < 10.0, seconds  # "Anna, did you fall? Press the button if you are all right."
    assert rms > 0.01, rms
    assert not list(tmp_path.glob(".prompts.*"))  # no temporary file left behind


def test_the_question_repeats_until_help_is_called_then_stops(tmp_path: Path) -> None:
    cfg = VoiceConfig(wav=str(tmp_path / "unused.wav"), repeat_s=1.0)
    player = RecordingPlayer()
    voice = Voice(cfg, player)
    voice.start()
    try:
        voice.prompt(7, "ask")
        wait_until(lambda: len(player.played) >= 2)  # asked again after repeat_s
        voice.prompt(7, "help")
        ask = synthesize("Did you fall? Press the button if you are all right.", cfg)
        help_ = synthesize("Help is being called. Stay where you are.", cfg)
        wait_until(lambda: help_ in player.played)
        count = len(player.played)
        time.sleep(2.5 * cfg.repeat_s)  # two more repeat periods: nothing more is said
        assert len(player.played) == count
    finally:
        voice.close()
    assert player.played[0] == ask and player.played[-1] == help_
    assert set(player.played[:-1]) == {ask}


def test_the_voice_never_delays_the_gpio_alarm(tmp_path: Path) -> None:
    pins = SimulatedPins()
    player = RecordingPlayer(hold=True)  # an audio device that takes its time
    voice = Voice(VoiceConfig(wav=str(tmp_path / "x.wav")), player)
    hub = AlertHub(LocalAlarm(GpioConfig(), pins), voice=voice)
    hub.start()
    try:

        def alarm() -> None:
            hub.handle(Event("fall_suspected", 1.0, track_id=1))
            hub.handle(Event("fall_alert", 11.0, track_id=1))

        handling = threading.Thread(target=alarm, daemon=True)
        handling.start()
        assert player.started.wait(30)  # the voice is speaking, held by the slow device ...
        handling.join(10)
        assert not handling.is_alive()  # ... and handle() did not wait for it
        assert hub.alarm.level == "alert"  # buzzer and LED on while the voice has not finished a word
        assert pins.levels[GpioConfig().buzzer_pin] is True
    finally:
        player.release.set()
        hub.close()


def test_voice_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"voice\.wav"):
        VoiceConfig(device="default", wav="/tmp/x.wav")
    with pytest.raises(ConfigError, match=r"voice\.volume"):
        VoiceConfig(volume=500)
    assert Voice.from_config(VoiceConfig()) is None  # off without a device or a file


def test_doctor_checks_the_audio_device(tmp_path: Path) -> None:
    cfg = Config()
    assert check_voice(cfg).status == "SKIP"
    cfg.voice = VoiceConfig(wav=str(tmp_path / "p.wav"))
    assert check_voice(cfg).status == "PASS"
    require_tool("aplay", "alsa-utils")
    cfg.voice = VoiceConfig(device="nosuchcard")
    found = check_voice(cfg, devices=lambda: ["default", "null"])
    assert found.status == "FAIL" and "voice.device = 'nosuchcard'" in found.detail and "null" in found.detail
    cfg.voice = VoiceConfig(device="null")
    assert check_voice(cfg, devices=lambda: ["default", "null"]).status == "PASS"


def test_alsa_player_plays_through_aplay_and_names_a_missing_device() -> None:
    """The real adapter on ALSA's "null" device (discards the samples); a missing device is one line."""
    from edge.alerts.voice import AlsaPlayer

    require_tool("aplay", "alsa-utils")
    cfg = VoiceConfig(device="null")
    wav = synthesize("Help is being called.", cfg)
    AlsaPlayer("null").play(wav)
    with pytest.raises(RuntimeError, match="ALSA device nosuchcard") as info:
        AlsaPlayer("nosuchcard").play(wav)
    assert "\n" not in str(info.value)
