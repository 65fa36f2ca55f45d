"""How fast a Home Assistant Acknowledge press stops an alert, and how long the voice takes to speak.

Real mosquitto (Debian's, on 127.0.0.1), real paho, the real AlertHub polled the way the pipeline
polls it (once per frame, at `--fps`): for each of `--presses` alerts, a client publishes
"acknowledge" on the command topic as Home Assistant's button does, and the time until `poll()`
returns the `acknowledged` event is taken. Then espeak-ng's synthesis of the "did you fall?"
prompt is timed (`--speak` times). Prints median and max.

    PYTHONPATH=. .venv/bin/python bench/acknowledge.py --presses 20 --fps 15
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as paho

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.mqtt import MqttPublisher
from edge.alerts.voice import prompt_text, synthesize
from edge.config import GpioConfig, MqttConfig, VoiceConfig
from edge.events import Event

MOSQUITTO = "/usr/sbin/mosquitto"


def acknowledge_latency(port: int, presses: int, fps: float) -> list[float]:
    """Seconds from each button publish to the `acknowledged` event out of the hub's poll loop."""
    mqtt = MqttPublisher(MqttConfig(enabled=True, port=port), "Bench")
    hub = AlertHub(LocalAlarm(GpioConfig(), SimulatedPins()), mqtt=mqtt)
    hub.start()
    button = paho.Client(paho.CallbackAPIVersion.VERSION2)
    button.connect("127.0.0.1", port)
    button.loop_start()
    latencies = []
    try:
        deadline = time.monotonic() + 10
        while not mqtt.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        for n in range(presses):
            hub.handle(Event("fall_alert", float(n), track_id=n))
            pressed = time.monotonic()
            button.publish("fallwatch/bench/command", "acknowledge", qos=1)
            while True:
                events = hub.poll(float(n))
                if any(e.event == "acknowledged" for e in events):
                    latencies.append(time.monotonic() - pressed)
                    for event in events:
                        hub.handle(event)
                    break
                if time.monotonic() - pressed > 10:
                    raise RuntimeError("no acknowledge within 10 s")
                time.sleep(1 / fps)
    finally:
        button.loop_stop()
        button.disconnect()
        hub.close()
    return latencies


def speak_times(count: int) -> list[float]:
    cfg = VoiceConfig(wav="unused.wav")
    times = []
    for _ in range(count):
        began = time.perf_counter()
        synthesize(prompt_text(cfg.ask, cfg.name), cfg)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--fps", type=float, default=15.0, help="the pipeline's poll rate (frames per second)")
    parser.add_argument("--speak", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        conf = Path(folder) / "mosquitto.conf"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        user = "user root\n" if os.geteuid() == 0 else ""  # else mosquitto cannot read the temporary file
        conf.write_text(f"listener {port} 127.0.0.1\npersistence false\nallow_anonymous true\n{user}")
        broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            ack = acknowledge_latency(port, args.presses, args.fps)
        finally:
            broker.terminate()
            broker.wait(10)
    speak = speak_times(args.speak)
    print(f"acknowledge via MQTT -> acknowledged event, {len(ack)} presses at {args.fps:g} polls/s: "
          f"median {1000 * statistics.median(ack):.0f} ms, max {1000 * max(ack):.0f} ms")  # fmt: skip
    print(f"espeak-ng 'did you fall?' prompt, {len(speak)} times: "
          f"median {1000 * statistics.median(speak):.0f} ms, max {1000 * max(speak):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
