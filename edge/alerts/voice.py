"""The voice in the room: espeak-ng speaks the prompts, an audio player plays them.

    voice = Voice.from_config(cfg.voice)     # None when neither voice.device nor voice.wav is set
    voice.start()
    voice.prompt(track, "ask")               # "Did you fall? ...", again every voice.repeat_s
    voice.prompt(track, "help")              # "Help is being called" once; the questions stop
    voice.prompt(track, "stop")              # this person's prompts end (recovered, cancelled...)
    voice.say_test()                         # cfg.test once (a test alert); a prompt drops it
    voice.close()

`prompt` returns at once: a worker thread synthesises and plays, so the voice never delays the
GPIO alarm. Players (the audio device is the hardware boundary):
- `AlsaPlayer`: `aplay -D <voice.device>` (alsa-utils), the WAV on its standard input;
- `WavFilePlayer`: writes each prompt to voice.wav (atomically), for a PC without speakers.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

from edge.config import ConfigError, VoiceConfig
from edge.event_kinds import Prompt
from edge.files import write_atomic

logger = logging.getLogger(__name__)

SPEAK_TIMEOUT_S = 30.0


class Player(ABC):
    """Plays one WAV (bytes) to the end."""

    name: str = ""

    @abstractmethod
    def play(self, wav: bytes) -> None:
        """Play `wav`; raises RuntimeError naming the device when it cannot."""


class AlsaPlayer(Player):
    """aplay on an ALSA device ("default", "plughw:1,0", ...). Raises RuntimeError when aplay is missing."""

    def __init__(self, device: str) -> None:
        self.name = f"ALSA device {device}"
        self.device = device
        self.aplay = shutil.which("aplay") or ""
        if not self.aplay:
            raise RuntimeError("voice.device is set but aplay is missing: apt-get install alsa-utils")

    def play(self, wav: bytes) -> None:
        done = subprocess.run(
            [self.aplay, "-q", "-D", self.device, "-"], input=wav, capture_output=True, timeout=SPEAK_TIMEOUT_S
        )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or [f"aplay exit {done.returncode}"]
            raise RuntimeError(f"{self.name}: {lines[-1][:200]}")


class WavFilePlayer(Player):
    """Writes each prompt to `path` (replacing the last one, never half-written)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"WAV file {self.path}"

    def play(self, wav: bytes) -> None:
        write_atomic(self.path, wav)


def espeak() -> str:
    """The espeak-ng binary; RuntimeError naming the package when it is missing."""
    found = shutil.which("espeak-ng")
    if not found:
        raise RuntimeError("the voice needs espeak-ng: apt-get install espeak-ng (or make system-deps)")
    return found


def synthesize(text: str, cfg: VoiceConfig) -> bytes:
    """`text` spoken by espeak-ng with the configured voice, volume and speed, as WAV bytes.

    Written with -w to a temporary file: espeak-ng's --stdout WAV streams with a placeholder length
    in its header (it reads as 13 hours of audio), which players of files do not forgive."""
    with tempfile.TemporaryDirectory(prefix="fallwatch-voice-") as folder:
        path = Path(folder) / "prompt.wav"
        command = [espeak(), "-v", cfg.voice or cfg.language, "-a", str(cfg.volume), "-s", str(cfg.speed)]
        done = subprocess.run([*command, "-w", str(path)], input=text.encode(), capture_output=True,
                              timeout=SPEAK_TIMEOUT_S)  # fmt: skip
        wav = path.read_bytes() if path.is_file() else b""
    if done.returncode != 0 or not wav.startswith(b"RIFF"):
        raise RuntimeError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()[:200] or 'no sound'}")
    return wav


def prompt_text(template: str, name: str) -> str:
    """A prompt with "{name}" replaced by "<name>, " (or nothing when no name is set)."""
    return template.replace("{name}", f"{name}, " if name else "")


class Voice:
    """Speaks the prompts for every person in a pre-alarm or alarm (see the module docstring).

    cfg: the voice section (texts, repeat_s). player: where the sound goes.
    """

    def __init__(self, cfg: VoiceConfig, player: Player) -> None:
        self.cfg = cfg
        self.player = player
        self._asking: set[int | None] = set()
        self._help = 0  # "help" prompts waiting to be said
        self._test = False  # cfg.test waiting to be said
        self._next_ask = 0.0
        self._stop = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="fallwatch-voice", daemon=True)

    @classmethod
    def from_config(cls, cfg: VoiceConfig) -> Voice | None:
        """The voice for the config, None when it is off; ConfigError naming the key when espeak-ng or
        aplay is missing."""
        if not cfg.enabled:
            return None
        key, value = ("voice.device", cfg.device) if cfg.device else ("voice.wav", cfg.wav)
        try:
            espeak()
            return cls(cfg, AlsaPlayer(cfg.device) if cfg.device else WavFilePlayer(cfg.wav))
        except RuntimeError as exc:
            raise ConfigError(f"{key} = {value!r}: {exc}") from None

    def start(self) -> None:
        self._thread.start()

    def prompt(self, track: int | None, kind: Prompt) -> None:
        """Ask (repeated), announce help (once) or stop, for one person; returns at once."""
        with self._changed:
            if kind == "ask":
                if not self._asking:
                    self._next_ask = 0.0
                self._asking.add(track)
            else:
                self._asking.discard(track)
                self._help += kind == "help"
            self._test = self._test and kind == "stop"  # a real prompt drops a test not yet said
            self._changed.notify_all()

    def say_test(self) -> bool:
        """Say cfg.test once (a test alert; the hub asks only while no alarm is on); False, and
        nothing said, while a person is being asked or help is to be announced (a real alarm that came
        between the hub's check and this call). A prompt that comes before the sentence is said drops
        it; one that comes while it is said waits for its end (a few seconds)."""
        with self._changed:
            if self._asking or self._help:
                return False
            self._test = True
            self._changed.notify_all()
            return True

    def close(self, timeout: float = SPEAK_TIMEOUT_S) -> None:
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                text = self._next_text()
                while text is None and not self._stop:
                    wait = self._next_ask - time.monotonic() if self._asking else None
                    self._changed.wait(wait)
                    text = self._next_text()
                if self._stop:
                    return
            self._say(text)

    def _next_text(self) -> str | None:
        """The prompt due now (caller holds the lock): help first, then the repeated question, then
        the test sentence."""
        if self._help:
            self._help = 0
            return prompt_text(self.cfg.help, self.cfg.name)
        if self._asking and time.monotonic() >= self._next_ask:
            self._next_ask = time.monotonic() + self.cfg.repeat_s
            return prompt_text(self.cfg.ask, self.cfg.name)
        if self._test:
            self._test = False
            return self.cfg.test
        return None

    def _say(self, text: str) -> None:
        try:
            self.player.play(synthesize(text, self.cfg))
            logger.info("voice: said %r on %s", text, self.player.name)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            logger.error("voice: could not speak %r: %s", text, exc)
