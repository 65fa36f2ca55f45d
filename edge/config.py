"""Typed configuration: one TOML file plus command-line overrides, validated before anything starts.

Every section is a dataclass with defaults; unknown keys, wrong types and out-of-range values are
refused with a one-line `ConfigError` that names the file, the key and the value. Secrets may come
from the environment instead of the file (see `secret`). The example file with every key documented
is install/config.example.toml; tests check that it loads and covers every field.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge.features import FeatureConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # Jetson's Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    """A bad configuration value; the message names the key and the value."""


def check(ok: bool, key: str, value: Any, requirement: str) -> None:
    """Raise ConfigError("key = value: requirement") unless ok."""
    if not ok:
        raise ConfigError(f"{key} = {value!r}: {requirement}")


def secret(value: str, env: str) -> str:
    """A secret from the config file, or from environment variable `env` when the file leaves it empty."""
    return value or os.environ.get(env, "")


@dataclass
class SourceConfig:
    """Where frames come from: a file path, /dev/videoN, an index, rtsp://, csi://0, v4l2://..."""

    uri: str = "/dev/video0"
    backend: Literal["auto", "opencv", "jetson"] = "auto"
    lost_after_s: float = 10.0
    reopen_backoff_s: float = 1.0
    reopen_backoff_max_s: float = 30.0
    width: int = 0
    height: int = 0

    def __post_init__(self) -> None:
        check(self.lost_after_s > 0, "source.lost_after_s", self.lost_after_s, "must be > 0")
        check(self.reopen_backoff_s > 0, "source.reopen_backoff_s", self.reopen_backoff_s, "must be > 0")
        check(
            self.reopen_backoff_max_s >= self.reopen_backoff_s,
            "source.reopen_backoff_max_s",
            self.reopen_backoff_max_s,
            "must be >= source.reopen_backoff_s",
        )
        check(bool(self.uri.strip()), "source.uri", self.uri, "must name a file, /dev/videoN, rtsp://... or csi://0")
        for key in ("width", "height"):
            check(getattr(self, key) >= 0, f"source.{key}", getattr(self, key), "must be >= 0 (0 = camera default)")
        check((self.width == 0) == (self.height == 0), "source.width", self.width, "set width and height together")


@dataclass
class PoseConfig:
    """The pose estimator: MediaPipe on any CPU, trt_pose on a Jetson, or recorded keypoints.

    MediaPipe knobs (see edge/pose/mediapipe.py; measured in bench/pose_coverage.py):
    min_detection_confidence / min_tracking_confidence: MediaPipe's own thresholds. Lowering them to
        0.3 found a person in every lying UR Fall frame, but a quarter of those skeletons were not on
        the person (hips > 0.1 image units from AlphaPose's): a wrong skeleton is worse than a gap.
    model_complexity: 0 lite, 1 full, 2 heavy.
    static_image_mode: detect afresh in every frame instead of tracking (slower, loses small people).
    upscale_min_height: frames lower than this (pixels) are enlarged to it first; 0 = never.
    rotate_retry: when nobody is found, retry the frame turned 90 degrees each way (lying bodies).
    redetect_s: when nobody is found, retry on a crop around the person seen within this many
        seconds; 0 = off.
    min_pose_visibility: a skeleton whose mean landmark visibility is below this counts as nobody.

    max_fps: pose at most this many frames a second (0 = the classifier's rate, features.rate_hz);
        every frame still reaches the output, annotated with the latest skeletons.

    trt_pose knobs (see edge/pose/trt_pose.py):
    trt_pose_model: the network as ONNX (`fallwatch pose export WEIGHTS.pth` writes it); its TensorRT
        engine is the same path with .engine, checked against a build record beside it.
    trt_pose_runtime: "auto" = TensorRT where it and a GPU are, else ONNX Runtime (any CPU).
    trt_pose_rebuild_engine: rebuild a missing or mismatched engine at start (minutes); false refuses it.
    """

    type: Literal["mediapipe", "trt_pose", "recorded"] = "mediapipe"
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    model_complexity: int = 1
    static_image_mode: bool = False
    upscale_min_height: int = 480
    rotate_retry: bool = True
    redetect_s: float = 1.0
    min_pose_visibility: float = 0.0
    trt_pose_model: str = "/var/lib/fallwatch/models/trt_pose_resnet18_att_224.onnx"
    trt_pose_runtime: Literal["auto", "tensorrt", "onnxruntime"] = "auto"
    trt_pose_rebuild_engine: bool = True
    recorded_path: str = ""
    max_fps: float = 0.0

    def __post_init__(self) -> None:
        check(0 <= self.max_fps <= 240, "pose.max_fps", self.max_fps, "must be in [0, 240] (0 = features.rate_hz)")
        for key in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, key)
            check(0 < value <= 1, f"pose.{key}", value, "must be in (0, 1]")
        check(self.model_complexity in (0, 1, 2), "pose.model_complexity", self.model_complexity, "must be 0, 1 or 2")
        check(
            0 <= self.upscale_min_height <= 2160,
            "pose.upscale_min_height",
            self.upscale_min_height,
            "must be in [0, 2160] pixels",
        )
        check(0 <= self.redetect_s <= 60, "pose.redetect_s", self.redetect_s, "must be in [0, 60] seconds")
        check(
            0 <= self.min_pose_visibility < 1, "pose.min_pose_visibility", self.min_pose_visibility, "must be in [0, 1)"
        )
        check(self.trt_pose_model.endswith(".onnx"), "pose.trt_pose_model", self.trt_pose_model,
              "must be an .onnx file (make it with `fallwatch pose export WEIGHTS.pth`)")  # fmt: skip

    @property
    def trt_pose_engine(self) -> str:
        """trt_pose's TensorRT engine: the model path with .engine."""
        return self.trt_pose_model[: -len(".onnx")] + ".engine"


@dataclass
class TrackingConfig:
    """Person ids across frames: greedy IoU on keypoint boxes, centroid distance as the fallback."""

    max_age_s: float = 1.5
    min_iou: float = 0.1
    max_distance: float = 0.25

    def __post_init__(self) -> None:
        check(self.max_age_s > 0, "tracking.max_age_s", self.max_age_s, "must be > 0")
        check(0 <= self.min_iou < 1, "tracking.min_iou", self.min_iou, "must be in [0, 1)")
        check(0 <= self.max_distance <= 2, "tracking.max_distance", self.max_distance, "must be in [0, 2]")


@dataclass
class ClassifierConfig:
    """The window classifier; `runtime = "auto"` picks TensorRT, then ONNX Runtime, then Keras.

    model: the exported ONNX file (ONNX Runtime runs it; TensorRT engines are built from it). A
      features.json beside it records the feature config the model was trained with; it must match
      the [features] section.
    engine: the TensorRT engine ("" = the model path with .engine); a JSON beside it records the
      TensorRT version, GPU and ONNX hash it was built for.
    keras_model: the Keras reference model ("" = the model path with .keras).
    max_batch: people per TensorRT call (the engine's optimisation profile is 1..max_batch); more
      people are classified in several calls.
    rebuild_engine: rebuild a missing or mismatched engine from the ONNX at start (takes minutes on a
      Jetson); false refuses it with a message instead. An engine is never loaded unchecked.
    threads: ONNX Runtime intra-op threads (1 is fastest for these tiny models, and leaves the other
      cores to the pose model).
    """

    runtime: Literal["auto", "tensorrt", "onnxruntime", "keras"] = "auto"
    model: str = "models/fallwatch.onnx"
    engine: str = ""
    keras_model: str = ""
    max_batch: int = 8
    rebuild_engine: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        check(self.model.endswith(".onnx"), "classifier.model", self.model, "must be an .onnx file")
        check(1 <= self.max_batch <= 256, "classifier.max_batch", self.max_batch, "must be in [1, 256]")
        check(1 <= self.threads <= 64, "classifier.threads", self.threads, "must be in [1, 64]")

    @property
    def engine_path(self) -> str:
        """The TensorRT engine file: `engine`, or the model path with .engine."""
        return self.engine or self.model[: -len(".onnx")] + ".engine"

    @property
    def keras_path(self) -> str:
        """The Keras model file: `keras_model`, or the model path with .keras."""
        return self.keras_model or self.model[: -len(".onnx")] + ".keras"


@dataclass
class EventsConfig:
    """The fall rule (see edge/events.py for each threshold's failure mode)."""

    fall_threshold: float = 0.6
    strong_fall_threshold: float = 0.9
    suspect_frames: int = 3
    min_drop: float = 0.2
    drop_within_s: float = 0.8
    slow_min_drop: float = 0.3
    slow_drop_within_s: float = 3.0
    strong_min_drop: float = 0.1
    tipped_deg: float = 60.0
    motion_memory_s: float = 3.0
    lost_fall_s: float = 0.5
    confirm_s: float = 10.0
    down_threshold: float = 0.5
    up_threshold: float = 0.3
    recover_s: float = 3.0
    upright_max_deg: float = 35.0
    long_lie_s: float = 60.0
    down_span_s: float = 5.0
    down_fraction: float = 0.6
    seen_fraction: float = 0.3
    place_radius: float = 0.5
    bed_zones: list[list[list[float]]] = field(default_factory=list)
    heartbeat_s: float = 3600.0

    def __post_init__(self) -> None:
        for key in ("fall_threshold", "strong_fall_threshold", "down_threshold", "up_threshold"):
            value = getattr(self, key)
            check(0 < value < 1, f"events.{key}", value, "must be in (0, 1)")
        check(
            self.up_threshold <= self.down_threshold,
            "events.up_threshold",
            self.up_threshold,
            "must be <= events.down_threshold (the gap between them is the hysteresis)",
        )
        check(self.suspect_frames >= 1, "events.suspect_frames", self.suspect_frames, "must be >= 1")
        for key in ("min_drop", "slow_min_drop", "strong_min_drop"):
            value = getattr(self, key)
            check(0 <= value <= 2, f"events.{key}", value, "must be in [0, 2] body lengths")
        for key in ("drop_within_s", "slow_drop_within_s", "lost_fall_s", "down_span_s"):
            value = getattr(self, key)
            check(value > 0, f"events.{key}", value, "must be > 0")
        check(
            self.motion_memory_s >= max(self.drop_within_s, self.slow_drop_within_s),
            "events.motion_memory_s",
            self.motion_memory_s,
            "must be >= events.drop_within_s and events.slow_drop_within_s",
        )
        for key in ("upright_max_deg", "tipped_deg"):
            value = getattr(self, key)
            check(0 < value <= 180, f"events.{key}", value, "must be in (0, 180] degrees from vertical")
        check(
            self.tipped_deg > self.upright_max_deg or self.upright_max_deg == 180,
            "events.tipped_deg",
            self.tipped_deg,
            "must be > events.upright_max_deg (a trunk cannot be upright and tipped at once)",
        )
        for key in ("confirm_s", "recover_s", "long_lie_s", "heartbeat_s"):
            value = getattr(self, key)
            check(value >= 0, f"events.{key}", value, "must be >= 0")
        for key in ("down_fraction", "seen_fraction"):
            value = getattr(self, key)
            check(0 < value <= 1, f"events.{key}", value, "must be in (0, 1]")
        check(0 < self.place_radius <= 5, "events.place_radius", self.place_radius, "must be in (0, 5] body lengths")
        for i, zone in enumerate(self.bed_zones):
            ok = len(zone) >= 3 and all(len(p) == 2 and all(0 <= c <= 1 for c in p) for p in zone)
            check(ok, f"events.bed_zones[{i}]", zone, "must be a polygon of >= 3 [x, y] points in [0, 1]")


@dataclass
class GpioConfig:
    """Buzzer, LED and cancel button (BOARD pin numbers); `simulated` off a Jetson.

    The cancel button is read with edge detection: `cancel_edge = "falling"` for a button that pulls
    an externally pulled-up pin to ground (Jetson pins have no usable internal pull-ups), "rising"
    for one that pulls a pulled-down pin to 3.3 V. `blink_hz` is the LED's pre-alarm blink rate.
    During an alert, the button held down for `ack_hold_s` acknowledges it (help is here: the
    reminders stop, the contacts are told); a shorter press cancels it. 0 = every press cancels.
    """

    backend: Literal["simulated", "jetson"] = "simulated"
    buzzer_pin: int = 33
    led_pin: int = 31
    cancel_pin: int = 29
    cancel_edge: Literal["falling", "rising"] = "falling"
    debounce_ms: int = 50
    blink_hz: float = 2.0
    ack_hold_s: float = 2.0

    def __post_init__(self) -> None:
        check(0 <= self.ack_hold_s <= 10, "gpio.ack_hold_s", self.ack_hold_s, "must be in [0, 10] seconds (0 = off)")
        pins = {"gpio.buzzer_pin": self.buzzer_pin, "gpio.led_pin": self.led_pin, "gpio.cancel_pin": self.cancel_pin}
        for key, pin in pins.items():
            check(1 <= pin <= 40, key, pin, "must be a BOARD pin number 1..40")
        check(
            len(set(pins.values())) == 3, "gpio.*_pin", sorted(pins.values()), "buzzer, LED and cancel pins must differ"
        )
        check(self.debounce_ms >= 0, "gpio.debounce_ms", self.debounce_ms, "must be >= 0")
        check(0 < self.blink_hz <= 20, "gpio.blink_hz", self.blink_hz, "must be in (0, 20]")


@dataclass
class TierConfig:
    """One tier of contacts: Apprise URLs added `after_min` minutes after the alert (see [[notify.tiers]])."""

    urls: list[str] = field(default_factory=list)
    after_min: float = 5.0

    def __post_init__(self) -> None:
        check(bool(self.urls), "notify.tiers[].urls", self.urls, "must list at least one Apprise URL")
        for i, url in enumerate(self.urls):
            check("://" in url, f"notify.tiers[].urls[{i}]", "<hidden>", "must be an Apprise URL like ntfy://topic")
        check(
            self.after_min > 0,
            "notify.tiers[].after_min",
            self.after_min,
            "must be > 0 minutes (tier 1 is notify.urls)",
        )


@dataclass
class NotifyConfig:
    """Push channels as Apprise URLs, delivered through a durable SQLite outbox.

    URLs hold tokens: keep them here only in a chmod-600 file, or leave `urls` empty and set
    FALLWATCH_NOTIFY_URLS (whitespace-separated). json:// and jsons:// webhooks are sent by
    FallWatch's own HTTP code (it sees status codes and honours Retry-After); every other scheme
    goes through Apprise. A failed send is retried after `backoff_s`, doubling up to
    `backoff_max_s`, with jitter; `backoff_max_s` is also the longest an alert waits after the
    network returns.

    Escalation: `urls` are tier 1, told at once; each [[notify.tiers]] entry is added `after_min`
    minutes after the alert while nobody has acknowledged it; every `repeat_min` minutes the alert
    goes again to every tier reached (0 = no repeats). Acknowledge, recovery or cancel stops it, and
    every contact the alert reached is told. `ack_url` is the base address of the device's
    acknowledge page as a phone on the home network reaches it (e.g. http://192.168.1.20:8780):
    messages then carry a link; `ack_port` serves that page (0 = off). `drain_s`: at exit, how long
    to wait for queued alerts to be delivered before saying which are still pending.
    """

    urls: list[str] = field(default_factory=list)
    outbox: str = "/var/lib/fallwatch/outbox.sqlite"
    attach_skeleton: bool = True
    attach_camera_frame: bool = False
    backoff_s: float = 2.0
    backoff_max_s: float = 30.0
    timeout_s: float = 10.0
    tiers: list[TierConfig] = field(default_factory=list)
    repeat_min: float = 5.0
    ack_url: str = ""
    ack_port: int = 0
    ack_host: str = "0.0.0.0"
    drain_s: float = 5.0

    def __post_init__(self) -> None:
        for i, url in enumerate(self.urls):
            check("://" in url, f"notify.urls[{i}]", "<hidden>", "must be an Apprise URL like ntfy://topic")
        check(self.backoff_s > 0, "notify.backoff_s", self.backoff_s, "must be > 0")
        check(
            self.backoff_max_s >= self.backoff_s,
            "notify.backoff_max_s",
            self.backoff_max_s,
            "must be >= notify.backoff_s",
        )
        check(0 < self.timeout_s <= 120, "notify.timeout_s", self.timeout_s, "must be in (0, 120]")
        check(self.repeat_min >= 0, "notify.repeat_min", self.repeat_min, "must be >= 0 minutes (0 = no repeats)")
        check(0 <= self.ack_port <= 65535, "notify.ack_port", self.ack_port, "must be a TCP port 1..65535, or 0 (off)")
        check(not self.ack_url or self.ack_url.startswith(("http://", "https://")),
              "notify.ack_url", self.ack_url, "must start with http:// or https://")  # fmt: skip
        check(0 <= self.drain_s <= 300, "notify.drain_s", self.drain_s, "must be in [0, 300] seconds")
        after = [tier.after_min for tier in self.tiers]
        check(after == sorted(after), "notify.tiers", after, "tiers must be listed in order of after_min")


@dataclass
class MqttConfig:
    """MQTT events and Home Assistant discovery; off unless `enabled`.

    The password may come from FALLWATCH_MQTT_PASSWORD instead of the file. `tls = true` uses the
    system CAs, or `tls_ca` (a PEM file) when set. `node_id` names the device in Home Assistant's
    unique ids ("" = derived from `room`).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    tls_ca: str = ""
    keepalive_s: int = 30
    topic_prefix: str = "fallwatch"
    discovery_prefix: str = "homeassistant"
    node_id: str = ""

    def __post_init__(self) -> None:
        check(1 <= self.port <= 65535, "mqtt.port", self.port, "must be a TCP port 1..65535")
        check(5 <= self.keepalive_s <= 3600, "mqtt.keepalive_s", self.keepalive_s, "must be in [5, 3600]")
        for key in ("topic_prefix", "discovery_prefix"):
            value = getattr(self, key)
            check(bool(value) and not any(c in value for c in "#+ "),
                  f"mqtt.{key}", value, "must be a non-empty topic without wildcards or spaces")  # fmt: skip
        check(all(c.isalnum() or c in "_-" for c in self.node_id),
              "mqtt.node_id", self.node_id, "may hold only letters, digits, _ and -")  # fmt: skip
        check(not self.tls_ca or self.tls, "mqtt.tls_ca", self.tls_ca, "needs mqtt.tls = true")


@dataclass
class VoiceConfig:
    """The spoken prompts in the room (espeak-ng): off unless `device` or `wav` is set.

    device: the ALSA playback device (as `aplay -L` lists it, e.g. "default" or "plughw:1,0").
    wav: instead (a PC without speakers, tests), write each prompt to this WAV file.
    language / voice: espeak-ng's voice ("en", "de", "en-us+f3", ...; voice overrides language).
    volume: espeak-ng amplitude 0..200; speed: words per minute. name: the person's name, said
    first ("" = none). ask: said at fall_suspected, every repeat_s until the person recovers, the
    alarm is cancelled or it becomes an alert; help: said at the alert. "{name}" is replaced.
    """

    device: str = ""
    wav: str = ""
    language: str = "en"
    voice: str = ""
    volume: int = 150
    speed: int = 150
    repeat_s: float = 8.0
    name: str = ""
    ask: str = "{name}Did you fall? Press the button if you are all right."
    help: str = "{name}Help is being called. Stay where you are."

    def __post_init__(self) -> None:
        check(not (self.device and self.wav), "voice.wav", self.wav, "set voice.device or voice.wav, not both")
        check(0 <= self.volume <= 200, "voice.volume", self.volume, "must be in [0, 200]")
        check(80 <= self.speed <= 450, "voice.speed", self.speed, "must be in [80, 450] words per minute")
        check(1 <= self.repeat_s <= 600, "voice.repeat_s", self.repeat_s, "must be in [1, 600] seconds")
        for key in ("language", "voice"):
            value = getattr(self, key)
            check(all(c.isalnum() or c in "-_+" for c in value), f"voice.{key}", value,
                  "may hold only letters, digits, -, _ and +")  # fmt: skip

    @property
    def enabled(self) -> bool:
        return bool(self.device or self.wav)


@dataclass
class InactivityConfig:
    """ "Nobody seen in the room for `hours` between `start` and `end` (HH:MM, local time)" -> a push.

    For the person who fell where the camera cannot see. Off when hours = 0 (the default). The window
    may cross midnight (start 22:00, end 08:00). Once per window.
    """

    hours: float = 0.0
    start: str = "07:00"
    end: str = "22:00"

    def __post_init__(self) -> None:
        check(0 <= self.hours <= 24, "inactivity.hours", self.hours, "must be in [0, 24] (0 = off)")
        for key in ("start", "end"):
            value = getattr(self, key)
            ok = len(value) == 5 and value[2] == ":" and value[:2].isdigit() and value[3:].isdigit()
            check(ok and int(value[:2]) < 24 and int(value[3:]) < 60, f"inactivity.{key}", value, "must be HH:MM")


@dataclass
class OutputConfig:
    """Annotated frames: "" for none, a file path (.mp4/.avi), display://0 or rtsp://@:8554/live."""

    uri: str = ""


@dataclass
class LogConfig:
    """The events log (JSON lines, flushed and fsync'd per event), the log level, and the state file.

    state: open fall episodes and the current camera outage of a live source, rewritten atomically at
    each change, so that a restart resumes them and does not push an outage twice ("" = not kept).
    """

    events: str = "/var/lib/fallwatch/events.jsonl"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    state: str = "/var/lib/fallwatch/state.json"

    def __post_init__(self) -> None:
        for key in ("events", "state"):
            value = getattr(self, key)
            check(not value.endswith("/"), f"log.{key}", value, "must be a file path, not a folder")


@dataclass
class WebConfig:
    """The local set-up and status page (edge/web): status, bed zones drawn on a snapshot.

    port: TCP port (0 = off). host: the address it listens on ("127.0.0.1" = this machine only; reach
    it through `ssh -L`). password_hash: from `fallwatch web-password` (scrypt, never the password);
    the page is never served without one, so it can never listen beyond loopback unprotected.
    session_h: hours a login lasts. show_camera: the page may show the camera's picture (the live view
    and the zone editor's background); false (default): skeletons on a blank canvas only.
    """

    port: int = 0
    host: str = "127.0.0.1"
    password_hash: str = ""
    session_h: float = 12.0
    show_camera: bool = False

    def __post_init__(self) -> None:
        check(0 <= self.port <= 65535, "web.port", self.port, "must be a TCP port 1..65535, or 0 (off)")
        check(bool(self.host.strip()), "web.host", self.host, "must be an address, e.g. 127.0.0.1")
        check(
            not self.port or self.password_hash.startswith("scrypt$"),
            "web.password_hash",
            self.password_hash,
            "the page needs a password: set this to the line `fallwatch web-password` prints",
        )
        check(0 < self.session_h <= 24 * 30, "web.session_h", self.session_h, "must be in (0, 720] hours")


@dataclass
class Config:
    """The whole configuration; `room` names the place in every message."""

    room: str = "room"
    source: SourceConfig = field(default_factory=SourceConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    inactivity: InactivityConfig = field(default_factory=InactivityConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    log: LogConfig = field(default_factory=LogConfig)
    web: WebConfig = field(default_factory=WebConfig)

    def has_secrets(self) -> bool:
        """True when the file itself holds a token or password (URLs carry tokens; a password hash can be
        attacked offline)."""
        return bool(self.notify.urls or self.notify.tiers or self.mqtt.password or self.web.password_hash)


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Check one TOML value against a type hint and return it converted (int -> float allowed)."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        check(isinstance(value, dict), key, value, "must be a table")
        return _build(hint, value, f"{key}.")
    if origin is Literal:
        check(value in typing.get_args(hint), key, value, f"must be one of {list(typing.get_args(hint))}")
        return value
    if origin in (typing.Union, types.UnionType):
        return value  # only `str | None`-style optionals, already plain values
    if origin in (list, tuple):
        check(isinstance(value, list), key, value, "must be a list")
        (item,) = typing.get_args(hint)[:1] or (Any,)
        items = [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is float:
        check(isinstance(value, (int, float)) and not isinstance(value, bool), key, value, "must be a number")
        return float(value)
    if hint is int:
        check(isinstance(value, int) and not isinstance(value, bool), key, value, "must be an integer")
        return value
    if hint in (str, bool):
        check(isinstance(value, hint), key, value, f"must be a {hint.__name__}")
        return value
    return value


def _build(cls: Any, data: dict[str, Any], prefix: str) -> Any:
    """Build dataclass `cls` from a TOML table, refusing unknown keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    for key in data:
        check(key in fields, f"{prefix}{key}", data[key], f"unknown key; known: {sorted(fields)}")
    kwargs = {k: _convert(v, hints[k], f"{prefix}{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """`events.confirm_s=5` -> (["events", "confirm_s"], 5). Values are TOML; bare words are strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. events.confirm_s=5")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def config_from_text(text: str, where: str) -> Config:
    """Validate a config file's text without reading or writing any file (the web page checks an edit
    with it before saving); ConfigError names `where` and the key."""
    try:
        return _build(Config, _parse_toml(text, where), "")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load and validate the configuration; raise ConfigError naming the file and the key.

    A file holding secrets (notify URLs, an MQTT password) is refused if group or others can read it.
    """
    data: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
        data = _parse_toml(text, where)
    for text in overrides or []:
        keys, value = parse_override(text)
        table = data
        for part in keys[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"override {text!r}: {part} is not a table")
        table[keys[-1]] = value
    try:
        cfg = _build(Config, data, "")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if path is not None and cfg.has_secrets():
        mode = Path(path).stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            raise ConfigError(
                f"{path}: holds secrets but group/others can read it (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
    return cfg
