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


@dataclass
class PoseConfig:
    """The pose estimator: MediaPipe on any CPU, trt_pose on a Jetson, or recorded keypoints."""

    type: Literal["mediapipe", "trt_pose", "recorded"] = "mediapipe"
    min_detection_confidence: float = 0.3
    min_tracking_confidence: float = 0.3
    model_complexity: int = 1
    upscale_min_height: int = 480
    rotate_retry: bool = True
    trt_pose_model: str = "/var/lib/fallwatch/models/resnet18_baseline_att_224x224_A_epoch_249_trt.pth"
    trt_pose_topology: str = "/var/lib/fallwatch/models/human_pose.json"
    recorded_path: str = ""

    def __post_init__(self) -> None:
        for key in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, key)
            check(0 < value <= 1, f"pose.{key}", value, "must be in (0, 1]")
        check(self.model_complexity in (0, 1, 2), "pose.model_complexity", self.model_complexity, "must be 0, 1 or 2")
        check(self.upscale_min_height >= 0, "pose.upscale_min_height", self.upscale_min_height, "must be >= 0")


@dataclass
class TrackingConfig:
    """Person ids across frames."""

    max_age_s: float = 1.5
    min_iou: float = 0.1

    def __post_init__(self) -> None:
        check(self.max_age_s > 0, "tracking.max_age_s", self.max_age_s, "must be > 0")
        check(0 <= self.min_iou < 1, "tracking.min_iou", self.min_iou, "must be in [0, 1)")


@dataclass
class ClassifierConfig:
    """The window classifier; `runtime = "auto"` picks TensorRT, then ONNX Runtime, then Keras."""

    runtime: Literal["auto", "tensorrt", "onnxruntime", "keras"] = "auto"
    model: str = "models/fallwatch.onnx"
    engine: str = ""


@dataclass
class EventsConfig:
    """The per-track fall state machine (see edge/events.py for each threshold's failure mode)."""

    fall_threshold: float = 0.6
    suspect_frames: int = 3
    confirm_s: float = 10.0
    down_threshold: float = 0.5
    recover_s: float = 3.0
    cooldown_s: float = 60.0
    long_lie_s: float = 0.0
    bed_zones: list[list[list[float]]] = field(default_factory=list)
    heartbeat_s: float = 3600.0

    def __post_init__(self) -> None:
        for key in ("fall_threshold", "down_threshold"):
            value = getattr(self, key)
            check(0 < value < 1, f"events.{key}", value, "must be in (0, 1)")
        check(self.suspect_frames >= 1, "events.suspect_frames", self.suspect_frames, "must be >= 1")
        for key in ("confirm_s", "recover_s", "cooldown_s", "long_lie_s", "heartbeat_s"):
            value = getattr(self, key)
            check(value >= 0, f"events.{key}", value, "must be >= 0")
        for i, zone in enumerate(self.bed_zones):
            ok = len(zone) >= 3 and all(len(p) == 2 and all(0 <= c <= 1 for c in p) for p in zone)
            check(ok, f"events.bed_zones[{i}]", zone, "must be a polygon of >= 3 [x, y] points in [0, 1]")


@dataclass
class GpioConfig:
    """Buzzer, LED and cancel button (BOARD pin numbers); `simulated` off a Jetson."""

    backend: Literal["simulated", "jetson"] = "simulated"
    buzzer_pin: int = 33
    led_pin: int = 31
    cancel_pin: int = 29
    debounce_ms: int = 50

    def __post_init__(self) -> None:
        pins = {"gpio.buzzer_pin": self.buzzer_pin, "gpio.led_pin": self.led_pin, "gpio.cancel_pin": self.cancel_pin}
        for key, pin in pins.items():
            check(1 <= pin <= 40, key, pin, "must be a BOARD pin number 1..40")
        check(
            len(set(pins.values())) == 3, "gpio.*_pin", sorted(pins.values()), "buzzer, LED and cancel pins must differ"
        )
        check(self.debounce_ms >= 0, "gpio.debounce_ms", self.debounce_ms, "must be >= 0")


@dataclass
class NotifyConfig:
    """Push channels as Apprise URLs, delivered through a durable SQLite outbox."""

    urls: list[str] = field(default_factory=list)
    outbox: str = "/var/lib/fallwatch/outbox.sqlite"
    attach_skeleton: bool = True
    attach_camera_frame: bool = False
    backoff_s: float = 2.0
    backoff_max_s: float = 300.0

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


@dataclass
class MqttConfig:
    """MQTT events and Home Assistant discovery; off unless `enabled`."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    topic_prefix: str = "fallwatch"
    discovery_prefix: str = "homeassistant"

    def __post_init__(self) -> None:
        check(1 <= self.port <= 65535, "mqtt.port", self.port, "must be a TCP port 1..65535")
        check(bool(self.topic_prefix) and "#" not in self.topic_prefix and "+" not in self.topic_prefix,
              "mqtt.topic_prefix", self.topic_prefix, "must be a non-empty topic without wildcards")  # fmt: skip


@dataclass
class OutputConfig:
    """Annotated frames: "" for none, a file path (.mp4/.avi), display://0 or rtsp://@:8554/live."""

    uri: str = ""


@dataclass
class LogConfig:
    """The events log (JSON lines) and the log level."""

    events: str = "/var/lib/fallwatch/events.jsonl"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


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
    output: OutputConfig = field(default_factory=OutputConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def has_secrets(self) -> bool:
        """True when the file itself holds a token or password (URLs carry tokens)."""
        return bool(self.notify.urls or self.mqtt.password)


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Check one TOML value against a type hint and return it converted (int -> float allowed)."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        check(isinstance(value, dict), key, value, "must be a table")
        return _build(hint, value, key)
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
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
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
