"""The local alarm: buzzer and LED patterns per track, and the cancel button.

Patterns (the loudest wins when several people are tracked):
- fall suspected (pre-alarm): LED blinks at gpio.blink_hz, buzzer off;
- fall alert: LED steady on and buzzer on;
- idle (recovered, cancelled, or nobody in either state): both off.

It touches only the pins: no network, no disk, so it fires first and never waits on either. A
button press calls `on_press` (set by the hub) on the pins backend's thread.

`sound_test(seconds)` plays the alert pattern briefly for a test alert, only while no track is in a
pre-alarm or alarm; it belongs to no track, so it opens no alert, and a real alarm that starts
meanwhile takes the pins over at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from edge.alerts.gpio import GpioPins
from edge.config import GpioConfig
from edge.event_kinds import RANK, Level

logger = logging.getLogger(__name__)


class LocalAlarm:
    """Buzzer + LED for all tracks. cfg: pins and blink rate. pins: a GpioPins backend (set up here).

    on_press: called (no arguments) for each debounced cancel-button press.
    """

    def __init__(self, cfg: GpioConfig, pins: GpioPins, on_press: Callable[[], None] = lambda: None) -> None:
        self.cfg = cfg
        self.pins = pins
        self.on_press = on_press
        self.tracks: dict[int | None, Level] = {}
        self._level: Level = "idle"
        self._changed = threading.Condition()
        self._stop = False
        self._tests = 0  # sound tests started; the running one's number while _testing
        self._testing = False
        pins.setup([cfg.buzzer_pin, cfg.led_pin], cfg.cancel_pin, cfg.cancel_edge, cfg.debounce_ms, self._pressed)
        self._blinker = threading.Thread(target=self._blink, name="fallwatch-led", daemon=True)
        self._blinker.start()

    def _pressed(self) -> None:
        try:
            self.on_press()
        except Exception:
            logger.exception("cancel-button handler failed")

    @property
    def level(self) -> Level:
        return self._level

    def set(self, track_id: int | None, level: Level) -> None:
        """Put one track at `level` and drive the pins for the loudest track."""
        with self._changed:
            if level == "idle":
                self.tracks.pop(track_id, None)
            else:
                self.tracks[track_id] = level
            loudest: Level = max(self.tracks.values(), key=RANK.__getitem__, default="idle")
            if loudest == self._level:
                return
            self._level = loudest
            self._testing = False  # a real alarm ends a sound test: the pins are its now
            self.pins.write(self.cfg.buzzer_pin, loudest == "alert")
            self.pins.write(self.cfg.led_pin, loudest != "idle")
            self._changed.notify_all()

    def sound_test(self, seconds: float) -> bool:
        """Buzzer and LED on for `seconds` (a test alert), unless a track is in a pre-alarm or alarm:
        then False, and nothing changes (the real alarm wins)."""
        with self._changed:
            if self.tracks or self._stop:
                return False
            self._tests += 1
            self._testing = True
            self.pins.write(self.cfg.buzzer_pin, True)
            self.pins.write(self.cfg.led_pin, True)
            timer = threading.Timer(seconds, self._end_test, (self._tests,))
        timer.daemon = True
        timer.start()
        return True

    def end_test(self) -> bool:
        """Silence a sound test now (the cancel button); False when none is sounding."""
        return self._end_test(self._tests)

    def _end_test(self, number: int) -> bool:
        with self._changed:
            if not self._testing or number != self._tests or self._stop:
                return False  # over already, a later test runs, or a real alarm took the pins over
            self._testing = False
            self.pins.write(self.cfg.buzzer_pin, False)
            self.pins.write(self.cfg.led_pin, False)
            return True

    def button_held(self) -> bool:
        """True while the cancel button is pressed now."""
        return self.pins.button_held()

    def active_tracks(self) -> dict[int | None, Level]:
        with self._changed:
            return dict(self.tracks)

    def _blink(self) -> None:
        """While the level is "suspected", toggle the LED every half period."""
        led_on = True
        with self._changed:
            while not self._stop:
                if self._level != "suspected":
                    led_on = True
                    self._changed.wait()
                    continue
                self._changed.wait(0.5 / self.cfg.blink_hz)
                if self._level == "suspected" and not self._stop:
                    led_on = not led_on
                    self.pins.write(self.cfg.led_pin, led_on)

    def close(self) -> None:
        """Silence everything and release the pins."""
        with self._changed:
            self._stop = True
            self._testing = False
            self.tracks.clear()
            self._level = "idle"
            self._changed.notify_all()
        self._blinker.join(timeout=2.0)
        self.pins.close()
