"""GPIO pins for the local alarm: two outputs (buzzer, LED) and one button, behind one interface.

- `JetsonPins`: Jetson.GPIO (RPi.GPIO's API), BOARD numbering, imported in the constructor because
  Jetson.GPIO raises at import on any other machine. The button uses edge detection with the
  configured debounce; pins are released on exit and on SIGTERM/SIGHUP.
- `SimulatedPins`: the same interface on any machine; it records every output change with a
  monotonic timestamp (`changes`) and `press()` plays the button, debounce included.

`create_pins(cfg)` picks one from `gpio.backend`.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from edge.alerts.boards import JETSON_IO, pin_problem
from edge.config import GpioConfig

logger = logging.getLogger(__name__)


class GpioPins(ABC):
    """Output pins and one push button, numbered as on the 40-pin header (BOARD)."""

    @abstractmethod
    def setup(
        self, outputs: Sequence[int], button: int, edge: str, debounce_ms: int, on_press: Callable[[], None]
    ) -> None:
        """Make `outputs` outputs (low) and call `on_press()` on each debounced `edge` ("falling" or
        "rising") of `button`. on_press runs on the backend's thread: it must return quickly."""

    @abstractmethod
    def write(self, pin: int, on: bool) -> None:
        """Drive output `pin` high (on) or low."""

    @abstractmethod
    def button_held(self) -> bool:
        """True while the button is pressed now (read from the pin, for a press held down)."""

    @abstractmethod
    def close(self) -> None:
        """Drive every output low and release the pins; safe to call twice."""


@dataclass(frozen=True)
class PinChange:
    """One output change seen by SimulatedPins: monotonic time (s), pin, new level."""

    time: float
    pin: int
    on: bool


class SimulatedPins(GpioPins):
    """Pins that record instead of driving hardware (any machine; tests read `changes`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.changes: list[PinChange] = []
        self.levels: dict[int, bool] = {}
        self.closed = False
        self._on_press: Callable[[], None] | None = None
        self._debounce_s = 0.0
        self._last_press = float("-inf")
        self._held = False
        self._lock = threading.Lock()

    def setup(
        self, outputs: Sequence[int], button: int, edge: str, debounce_ms: int, on_press: Callable[[], None]
    ) -> None:
        self.levels = {pin: False for pin in outputs}
        self._on_press = on_press
        self._debounce_s = debounce_ms / 1000

    def write(self, pin: int, on: bool) -> None:
        with self._lock:
            if pin not in self.levels:
                raise ValueError(f"pin {pin} was not set up as an output")
            if self.levels[pin] != on:
                self.levels[pin] = on
                self.changes.append(PinChange(self.clock(), pin, on))

    def press(self, hold: bool = False) -> bool:
        """Press the button once (and keep it down when `hold`, until release()); False when the
        debounce swallowed it (too soon after the last)."""
        now = self.clock()
        if now - self._last_press < self._debounce_s or self._on_press is None:
            return False
        self._last_press = now
        self._held = hold
        self._on_press()
        return True

    def release(self) -> None:
        """Let go of a held button."""
        self._held = False

    def button_held(self) -> bool:
        return self._held

    def close(self) -> None:
        for pin in list(self.levels):
            self.write(pin, False)
        self.closed = True


class JetsonPins(GpioPins):
    """Jetson.GPIO pins. Raises RuntimeError naming the fix when Jetson.GPIO is missing or this is
    not a Jetson (Jetson.GPIO checks /dev/gpiochip0 and the board model at import)."""

    def __init__(self) -> None:
        try:
            from Jetson import GPIO as jetson_gpio  # noqa: N811 (the module is named like a constant)
        except ImportError:
            raise RuntimeError("gpio.backend = 'jetson' needs Jetson.GPIO: pip install 'fallwatch[jetson]'") from None
        except Exception as exc:  # Jetson.GPIO raises RuntimeError/others off a Jetson
            raise RuntimeError(
                f"gpio.backend = 'jetson' but Jetson.GPIO cannot run here ({exc}); use gpio.backend = 'simulated'"
            ) from None
        self.gpio: Any = jetson_gpio
        self.outputs: list[int] = []
        self.button: int | None = None
        self._closed = False
        self._previous: dict[int, Any] = {}

    def setup(
        self, outputs: Sequence[int], button: int, edge: str, debounce_ms: int, on_press: Callable[[], None]
    ) -> None:
        gpio = self.gpio
        gpio.setmode(gpio.BOARD)
        self.outputs = list(outputs)
        # Jetson.GPIO warns (and carries on) when a pin's pinmux is not GPIO or the pin is in use: a
        # buzzer that would stay silent. Shown in the log, never hidden.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gpio.setup(self.outputs, gpio.OUT, initial=gpio.LOW)
            gpio.setup(button, gpio.IN)
        for warning in caught:
            logger.warning("Jetson.GPIO: %s (if a pin stays silent: %s)", warning.message, JETSON_IO)
        self.button = button
        self._pressed_level = gpio.LOW if edge == "falling" else gpio.HIGH
        gpio.add_event_detect(
            button,
            gpio.FALLING if edge == "falling" else gpio.RISING,
            callback=lambda channel: on_press(),
            bouncetime=debounce_ms or None,
        )
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGHUP):
                self._previous[number] = signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        """Release the pins, then do what the signal did before (default: exit with 128 + number)."""
        self.close()
        previous = self._previous.get(number)
        if callable(previous):
            previous(number, frame)
        else:
            raise SystemExit(128 + number)

    def write(self, pin: int, on: bool) -> None:
        self.gpio.output(pin, self.gpio.HIGH if on else self.gpio.LOW)

    def button_held(self) -> bool:
        return self.button is not None and self.gpio.input(self.button) == self._pressed_level

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for pin in self.outputs:
                self.gpio.output(pin, self.gpio.LOW)
            if self.button is not None:
                self.gpio.remove_event_detect(self.button)
            self.gpio.cleanup()
        except Exception:
            logger.exception("releasing the GPIO pins failed")


def create_pins(cfg: GpioConfig) -> GpioPins:
    """The pins backend named by gpio.backend; RuntimeError for pins that are not GPIOs on this board."""
    if cfg.backend != "jetson":
        return SimulatedPins()
    problem = pin_problem(cfg)
    if problem:
        raise RuntimeError(problem)
    return JetsonPins()
