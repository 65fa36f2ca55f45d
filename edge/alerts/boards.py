"""Which Jetson this is, and which 40-pin header pins are not GPIOs by default on it.

The default pins (buzzer 33, LED 31, cancel 29) are GPIOs on the Orin Nano and Orin NX (Jetson.GPIO's
table names them GPIO13, GPIO11, GPIO01). On the AGX Orin the same pins are CAN bus pins
(CAN1_DOUT, CAN0_DOUT, CAN0_DIN in Jetson.GPIO's gpio_pin_data.py): FallWatch refuses them there and
names pins that are GPIOs. On JetPack 6 a header pin may also need its pinmux set to GPIO with
jetson-io before it drives anything; Jetson.GPIO warns when it is not, and FallWatch shows that warning.
"""

from __future__ import annotations

from pathlib import Path

from edge.config import GpioConfig

COMPATIBLE = Path("/proc/device-tree/compatible")
JETSON_IO = "sudo /opt/nvidia/jetson-io/jetson-io.py (Configure Jetson 40pin Header), then reboot"

# board -> (prefixes of its device-tree compatible strings, {BOARD pin: default function} of pins
# that are not GPIOs, suggested pins that are), from Jetson.GPIO's pin tables.
BOARDS: dict[str, tuple[tuple[str, ...], dict[int, str], dict[str, int]]] = {
    "Jetson AGX Orin": (
        ("nvidia,p3737-0000+p3701-",),
        {29: "CAN0_DIN", 31: "CAN0_DOUT", 33: "CAN1_DOUT", 37: "CAN1_DIN"},
        {"buzzer_pin": 32, "led_pin": 18, "cancel_pin": 16},  # GPIO09, GPIO35, GPIO08
    ),
}


def board(path: Path = COMPATIBLE) -> str:
    """The name of a board in BOARDS this is, or "" (another board, or not a Jetson)."""
    try:
        compatible = path.read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return ""
    for name, (prefixes, _, _) in BOARDS.items():
        if any(c.startswith(prefixes) for c in compatible):
            return name
    return ""


def pin_problem(cfg: GpioConfig, path: Path = COMPATIBLE) -> str:
    """ "" when the configured pins are GPIOs on this board, else one sentence naming the key, the pin and the fix."""
    name = board(path)
    if not name:
        return ""
    _, not_gpio, suggested = BOARDS[name]
    for key in ("buzzer_pin", "led_pin", "cancel_pin"):
        pin = getattr(cfg, key)
        if pin in not_gpio:
            better = ", ".join(f"{k} = {v}" for k, v in suggested.items())
            return (
                f"gpio.{key} = {pin}: on the {name} pin {pin} is {not_gpio[pin]}, not a GPIO; "
                f"set {better} in [gpio] (GPIOs there), or make pin {pin} a GPIO with {JETSON_IO}"
            )
    return ""
