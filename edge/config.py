"""Typed configuration: one TOML file plus command-line overrides, validated before anything starts.

Every key is declared once below (pydantic, see edge/config_base.py): its type, bounds, default and
one-line doc. From the declarations come the validation (unknown keys, wrong types and out-of-range
values are refused with a one-line `ConfigError` that names the file, the key and the value), the
example file install/config.example.toml (`fallwatch config-example` writes it; a test compares)
and the set-up page's form fields (`form_fields`). Secrets may come from the environment instead of
the file (see `secret`).
"""

from __future__ import annotations

import inspect
import json
import os
import stat
import sys
import textwrap
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from edge.config_base import (
    SECTION_KEYS,
    ConfigError,
    Section,
    bounds,
    check,
    describe,
    extra,
    limits,
    model_in,
    setting,
)
from edge.features import FeatureConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # Jetson's Python 3.10
    import tomli as tomllib


def secret(value: str, env: str) -> str:
    """A secret from the config file, or from environment variable `env` when the file leaves it empty."""
    return value or os.environ.get(env, "")


class SourceConfig(Section):
    """Where frames come from, and how a live source that drops out is reopened."""

    uri: str = setting(
        "/dev/video0",
        'Where frames come from: a video file path, /dev/videoN, a camera index ("0"), rtsp://host/path, '
        "csi://0 or v4l2:///dev/video0 (Jetson).",
    )
    backend: Literal["auto", "opencv", "jetson"] = setting(
        "auto", 'Capture library: "auto" (jetson-utils videoSource on a Jetson, else OpenCV), "opencv" or "jetson".'
    )
    lost_after_s: float = setting(
        10.0, "Seconds without a frame from a live source before a `source_lost` event.", gt=0, unit="seconds"
    )
    reopen_backoff_s: float = setting(
        1.0, "Seconds before the first attempt to reopen a lost live source; doubles per failure.", gt=0, unit="seconds"
    )
    reopen_backoff_max_s: float = setting(30.0, "Longest wait between reopen attempts, seconds (>= reopen_backoff_s).")
    width: int = setting(
        0, "Capture width requested from a camera; 0 = the camera's default. Set with height.", ge=0, unit="pixels"
    )
    height: int = setting(
        0, "Capture height requested from a camera; 0 = the camera's default. Set with width.", ge=0, unit="pixels"
    )

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        check(self.reopen_backoff_max_s >= self.reopen_backoff_s, "reopen_backoff_max_s", self.reopen_backoff_max_s,
              "must be >= source.reopen_backoff_s")  # fmt: skip
        check(bool(self.uri.strip()), "uri", self.uri, "must name a file, /dev/videoN, rtsp://... or csi://0")
        check((self.width == 0) == (self.height == 0), "width", self.width, "set width and height together")
        return self


class PoseConfig(Section):
    """The pose estimator: MediaPipe on any CPU, trt_pose on a Jetson, or recorded keypoints.

    MediaPipe's knobs are measured in bench/pose_coverage.py; trt_pose's are in edge/pose/trt_pose.py.
    """

    type: Literal["mediapipe", "trt_pose", "recorded"] = setting(
        "mediapipe",
        'Pose estimator: "mediapipe" (any CPU, one person per frame), "trt_pose" (Jetson, several people) or '
        '"recorded" (replays a keypoint trace from recorded_path).',
    )
    min_detection_confidence: float = setting(
        0.5,
        "MediaPipe: lowest person-detection score that starts a skeleton. (0.3 finds a person in every lying "
        "UR Fall frame, but a quarter of those skeletons are not on the person: a wrong skeleton is worse than "
        "a gap; see bench/pose_coverage.py.)",
        gt=0,
        le=1,
    )
    min_tracking_confidence: float = setting(
        0.5, "MediaPipe: lowest landmark-tracking score before it re-detects.", gt=0, le=1
    )
    model_complexity: int = setting(
        1, "MediaPipe model size: 0 (lite), 1 (full) or 2 (heavy; slower, better on small people).", ge=0, le=2
    )
    static_image_mode: bool = setting(
        False,
        "MediaPipe: detect afresh in every frame instead of following the person found before (slower, and it "
        "loses small, distant people that tracking keeps).",
    )
    upscale_min_height: int = setting(
        480,
        "Frames lower than this are upscaled to it before pose (finds small, distant people); 0 = never.",
        ge=0,
        le=2160,
        unit="pixels",
    )
    rotate_retry: bool = setting(
        True, "When nobody is found, retry the frame rotated by 90 degrees each way (finds lying bodies)."
    )
    redetect_s: float = setting(
        1.0,
        "When nobody is found, retry on a crop around the person last seen within this many seconds (a small "
        "person seen larger); 0 = off.",
        ge=0,
        le=60,
        unit="seconds",
    )
    min_pose_visibility: float = setting(
        0.0, "A skeleton whose mean landmark visibility is below this counts as nobody.", ge=0, lt=1
    )
    trt_pose_model: str = setting(
        "/var/lib/fallwatch/models/trt_pose_resnet18_att_224.onnx",
        "trt_pose: the network as ONNX, written by `fallwatch pose export WEIGHTS.pth` (the set-up script runs "
        "it). Its TensorRT engine is the same path with .engine, built on this device and checked against a "
        "build record beside it.",
    )
    trt_pose_runtime: Literal["auto", "tensorrt", "onnxruntime"] = setting(
        "auto", 'trt_pose: "auto" (TensorRT where it and a GPU are, else ONNX Runtime), "tensorrt" or "onnxruntime".'
    )
    trt_pose_rebuild_engine: bool = setting(
        True, "trt_pose: rebuild a missing or mismatched TensorRT engine at start (minutes); false refuses to start."
    )
    recorded_path: str = setting(
        "", 'recorded: a keypoint trace written by the recorded backend\'s writer (.npz); "" = none.'
    )
    max_fps: float = setting(
        0.0,
        "Pose at most this many frames a second; 0 = the classifier's rate (features.rate_hz): a 30 fps camera "
        "is then posed every other frame. Every frame still reaches the output, with the latest skeletons.",
        ge=0,
        le=240,
    )

    @model_validator(mode="after")
    def _check(self) -> PoseConfig:
        check(self.trt_pose_model.endswith(".onnx"), "trt_pose_model", self.trt_pose_model,
              "must be an .onnx file (make it with `fallwatch pose export WEIGHTS.pth`)")  # fmt: skip
        return self

    @property
    def trt_pose_engine(self) -> str:
        """trt_pose's TensorRT engine: the model path with .engine."""
        return self.trt_pose_model[: -len(".onnx")] + ".engine"


class TrackingConfig(Section):
    """Person ids across frames: greedy IoU on keypoint boxes, centroid distance as the fallback."""

    max_age_s: float = setting(
        1.5,
        "Seconds (of video time) a track survives without being matched before it is dropped. Too short: a "
        "person the pose stage misses for a moment gets a new id and an empty window (no alarm for "
        "window_frames / rate_hz seconds). Too long: a new person may inherit an old id.",
        gt=0,
        unit="seconds",
    )
    min_iou: float = setting(0.1, "Lowest IoU of keypoint boxes for a skeleton to continue a track.", ge=0, lt=1)
    max_distance: float = setting(
        0.25,
        "Fallback when boxes do not overlap enough (thin boxes of a lying body, fast motion): the largest "
        "distance between box centres that still continues a track; 0 = IoU only.",
        ge=0,
        le=2,
        unit="image heights",
    )


class ClassifierConfig(Section):
    """The window classifier and the runtime that runs it."""

    runtime: Literal["auto", "tensorrt", "onnxruntime", "keras"] = setting(
        "auto", 'Runtime: "auto" (TensorRT, then ONNX Runtime, then Keras), "tensorrt", "onnxruntime" or "keras".'
    )
    model: str = setting(
        "models/fallwatch.onnx",
        "The exported ONNX model (ONNX Runtime runs it; TensorRT engines are built from it). The features.json "
        "beside it records the feature config the model was trained with; it must match [features].",
    )
    engine: str = setting(
        "",
        'The TensorRT engine built on this device from the model; "" = the model path with .engine. A JSON '
        "beside it records the TensorRT version, GPU and ONNX hash it was built for.",
    )
    keras_model: str = setting("", 'The Keras reference model; "" = the model path with .keras.')
    max_batch: int = setting(
        8,
        "People per TensorRT call (the engine's optimisation profile is 1..max_batch); more are split.",
        ge=1,
        le=256,
    )
    rebuild_engine: bool = setting(
        True,
        "Rebuild a missing or mismatched TensorRT engine from the ONNX at start (minutes on a Jetson); false "
        "refuses with a message instead. An engine is never loaded unchecked.",
    )
    threads: int = setting(
        1,
        "ONNX Runtime intra-op threads (1 is fastest for these tiny models, and leaves the other cores to the "
        "pose model).",
        ge=1,
        le=64,
    )

    @model_validator(mode="after")
    def _check(self) -> ClassifierConfig:
        check(self.model.endswith(".onnx"), "model", self.model, "must be an .onnx file")
        return self

    @property
    def engine_path(self) -> str:
        """The TensorRT engine file: `engine`, or the model path with .engine."""
        return self.engine or self.model[: -len(".onnx")] + ".engine"

    @property
    def keras_path(self) -> str:
        """The Keras model file: `keras_model`, or the model path with .keras."""
        return self.keras_model or self.model[: -len(".onnx")] + ".keras"


class EventsConfig(Section):
    """The fall rule (edge/events.py; see there for each threshold's failure mode).

    Probabilities are the classifier's; drops are of the trunk (shoulders + hips), in body lengths.
    Two ways into an alert:
    - the fall (fall_suspected, then fall_alert after confirm_s unless the person gets up): for
      suspect_frames frames in a row, outside every bed zone, one of
        fast:   falling or down, and a drop >= min_drop within drop_within_s;
        slow:   down, the trunk tipped past tipped_deg, and a drop >= slow_min_drop within slow_drop_within_s
                (older people sink and slide);
        strong: P(fall) >= strong_fall_threshold, and a drop >= strong_min_drop or the trunk tipping over
                (upright to past tipped_deg) within slow_drop_within_s;
      or a person lost by the pose stage within lost_fall_s of a fast drop.
    - the person down (long_lie): a place judged down for long_lie_s, outside every bed zone (a fall the
      camera did not see, a person already down at start). Lying down on purpose outside a bed zone for
      that long alerts too: draw the bed and sofa as bed_zones.
    """

    fall_threshold: float = setting(0.6, "P(fall) that counts as the falling motion.", gt=0, lt=1)
    strong_fall_threshold: float = setting(
        0.9, "P(fall) that counts as very strong evidence (needs only a small drop or the trunk tipping over).",
        gt=0, lt=1,
    )  # fmt: skip
    suspect_frames: int = setting(
        3,
        "Consecutive frames of fall evidence before `fall_suspected` (LED on). Guards against a one-frame "
        "spike of the classifier.",
        ge=1,
    )
    min_drop: float = setting(
        0.2,
        "Fast rule: the smallest drop of the trunk within drop_within_s; 0 = posture alone (then lying down on "
        "purpose alarms).",
        ge=0,
        le=2,
        unit="body lengths",
    )
    drop_within_s: float = setting(
        0.8, "Seconds the fast drop must happen within (a fall is fast; lying down on purpose is slow).", gt=0,
        unit="seconds",
    )  # fmt: skip
    slow_min_drop: float = setting(
        0.3, "Slow rule: the smallest drop of the trunk within slow_drop_within_s.", ge=0, le=2, unit="body lengths"
    )
    slow_drop_within_s: float = setting(3.0, "Seconds the slow drop may take.", gt=0, unit="seconds")
    strong_min_drop: float = setting(
        0.1,
        "Strong rule: the smallest drop within slow_drop_within_s when the trunk did not tip over.",
        ge=0,
        le=2,
        unit="body lengths",
    )
    tipped_deg: float = setting(
        60.0,
        "Degrees from vertical past which the trunk counts as tipped (lying); above upright_max_deg.",
        gt=0,
        le=180,
        unit="degrees",
    )
    motion_memory_s: float = setting(
        3.0,
        "Seconds a drop stays valid as evidence (>= drop_within_s and slow_drop_within_s): a fall that was "
        "already under way when the classifier's window filled is still caught.",
    )
    lost_fall_s: float = setting(
        0.5, "Seconds a person may go unseen right after a fast drop before the loss itself is suspected.", gt=0,
        unit="seconds",
    )  # fmt: skip
    confirm_s: float = setting(
        10.0,
        "Seconds after `fall_suspected`, without the person getting up, before `fall_alert` (buzzer and push). "
        "Timed on the wall clock while a live camera is lost.",
        ge=0,
        unit="seconds",
    )
    down_threshold: float = setting(0.5, 'P(fall) + P(lie) at or above this counts as "down".', gt=0, lt=1)
    up_threshold: float = setting(
        0.3,
        'P(fall) + P(lie) below this counts as "up" (<= down_threshold); between the two the frame is unsure '
        "and neither confirms nor cancels (hysteresis against flicker).",
        gt=0,
        lt=1,
    )
    recover_s: float = setting(
        3.0, 'Seconds "up" without a break before `recovered` (LED and buzzer off).', ge=0, unit="seconds"
    )
    min_rise: float = setting(
        0.3,
        "A person standing up: how far the trunk must be above its lowest point since the episode began "
        "(within motion_memory_s) for recovery to take rise_recover_s (someone sitting up on the floor after a "
        "fall is not so far up); 0 = off.",
        ge=0,
        le=2,
        unit="body lengths",
    )
    rise_recover_s: float = setting(
        1.0, 'Seconds "up" without a break before `recovered` for a person whose trunk is then risen >= min_rise; '
        "at most recover_s.", ge=0, unit="seconds",
    )  # fmt: skip
    upright_max_deg: float = setting(
        35.0,
        '"Up" also needs the trunk seen upright: the line from mid-hip to mid-shoulder within this many degrees '
        'of vertical. Someone sitting slumped on the floor after a fall is "sit" to the classifier; a tilted '
        "trunk keeps the episode going to the alert. A trunk the pose stage cannot see never counts as "
        "upright; a body lying along the camera's axis can look 40 degrees from vertical. 180 = the "
        "classifier alone.",
        gt=0,
        le=180,
        unit="degrees",
    )
    long_lie_s: float = setting(
        60.0,
        "Seconds a place may be judged down outside every bed zone before a `long_lie` alert; 0 = off "
        "(measured trade-off in the README).",
        ge=0,
        unit="seconds",
    )
    down_span_s: float = setting(
        5.0, "Seconds of verdicts (down / up / unsure, one per frame the person is seen) that judge a place.", gt=0,
        unit="seconds",
    )  # fmt: skip
    down_fraction: float = setting(
        0.6, 'Fraction of those verdicts that must be "down" for the place to be down.', gt=0, le=1
    )
    seen_fraction: float = setting(
        0.3, "With verdicts in fewer than this fraction of the frames (pose gaps), the judgement holds.", gt=0, le=1
    )
    place_radius: float = setting(
        0.5,
        "How near a new track must be to take over the place of a person the pose stage lost.",
        gt=0,
        le=5,
        unit="body lengths",
    )
    bed_zones: list[list[list[float]]] = setting(
        [],
        "Polygons of image-normalised [x, y] points (0..1, origin top left) where lying is expected (a bed, a "
        "sofa): a person whose centre is inside one never raises fall_suspected or long_lie. Example: "
        "[[[0.55, 0.40], [0.95, 0.40], [0.95, 0.80], [0.55, 0.80]]]; [] = none.",
    )
    heartbeat_s: float = setting(
        3600.0,
        "Seconds between `heartbeat` events (proof of life on MQTT and in the log); 0 = off.",
        ge=0,
        unit="seconds",
    )

    @model_validator(mode="after")
    def _check(self) -> EventsConfig:
        check(self.up_threshold <= self.down_threshold, "up_threshold", self.up_threshold,
              "must be <= events.down_threshold (the gap between them is the hysteresis)")  # fmt: skip
        check(self.rise_recover_s <= self.recover_s, "rise_recover_s", self.rise_recover_s,
              "must be <= events.recover_s (a person who stood up recovers no later than one seen upright)")  # fmt: skip
        check(self.motion_memory_s >= max(self.drop_within_s, self.slow_drop_within_s), "motion_memory_s",
              self.motion_memory_s, "must be >= events.drop_within_s and events.slow_drop_within_s")  # fmt: skip
        check(self.tipped_deg > self.upright_max_deg or self.upright_max_deg == 180, "tipped_deg", self.tipped_deg,
              "must be > events.upright_max_deg (a trunk cannot be upright and tipped at once)")  # fmt: skip
        for i, zone in enumerate(self.bed_zones):
            ok = len(zone) >= 3 and all(len(p) == 2 and all(0 <= c <= 1 for c in p) for p in zone)
            check(ok, f"bed_zones[{i}]", zone, "must be a polygon of >= 3 [x, y] points in [0, 1]")
        return self


class GpioConfig(Section):
    """Buzzer, LED and cancel button on the Jetson's header (BOARD pin numbers); `simulated` elsewhere."""

    backend: Literal["simulated", "jetson"] = setting(
        "simulated", '"simulated" (records calls; any machine) or "jetson" (Jetson.GPIO).'
    )
    buzzer_pin: int = setting(33, "BOARD pin number driving the buzzer. The three pins must differ.", ge=1, le=40)
    led_pin: int = setting(31, "BOARD pin number driving the LED.", ge=1, le=40)
    cancel_pin: int = setting(29, "BOARD pin number of the cancel button.", ge=1, le=40)
    cancel_edge: Literal["falling", "rising"] = setting(
        "falling",
        'Cancel-button edge: "falling" for a button that pulls an externally pulled-up pin to ground (Jetson '
        'pins have no usable internal pull-ups), "rising" for one that pulls a pulled-down pin to 3.3 V.',
    )
    debounce_ms: int = setting(50, "Cancel-button debounce.", ge=0, unit="milliseconds")
    blink_hz: float = setting(2.0, "LED blink rate while a fall is suspected.", gt=0, le=20, unit="Hz")
    ack_hold_s: float = setting(
        2.0,
        "During an alert, holding the cancel button this long acknowledges it (help is here: reminders stop, "
        "contacts are told); a shorter press cancels. 0 = every press cancels.",
        ge=0,
        le=10,
        unit="seconds",
    )

    @model_validator(mode="after")
    def _check(self) -> GpioConfig:
        pins = [self.buzzer_pin, self.led_pin, self.cancel_pin]
        check(len(set(pins)) == 3, "*_pin", sorted(pins), "buzzer, LED and cancel pins must differ")
        return self


class TierConfig(Section):
    """One tier of contacts: Apprise URLs added `after_min` minutes after the alert (see notify.tiers)."""

    urls: list[str] = setting([], "Apprise URLs of this tier's contacts (they hold tokens).", secret=True)
    after_min: float = setting(5.0, "Minutes after the alert this tier is added (tier 1 is notify.urls).", gt=0,
                               unit="minutes")  # fmt: skip

    @model_validator(mode="after")
    def _check(self) -> TierConfig:
        check(bool(self.urls), "urls", self.urls, "must list at least one Apprise URL")
        for i, url in enumerate(self.urls):
            check("://" in url, f"urls[{i}]", url, "must be an Apprise URL like ntfy://topic")
        return self


class NotifyConfig(Section):
    """Push channels as Apprise URLs, delivered through a durable SQLite outbox, with escalation.

    json:// and jsons:// webhooks are sent by FallWatch's own HTTP code (it sees status codes and honours
    Retry-After); every other scheme goes through Apprise. Acknowledge, recovery or cancel stops an
    alert's escalation, and every contact the alert reached is told.
    """

    urls: list[str] = setting(
        [],
        "Push channels as Apprise URLs (ntfy://topic, pover://user@token, tgram://bot/chat, ...), told at once "
        "(tier 1). URLs hold tokens: keep this file chmod 600, or leave [] and set FALLWATCH_NOTIFY_URLS "
        "(whitespace-separated).",
        secret=True,
    )
    outbox: str = setting(
        "/var/lib/fallwatch/outbox.sqlite", "The durable outbox (SQLite, WAL): every alert is written here first."
    )
    attach_skeleton: bool = setting(True, "Attach a skeleton-only picture (stick figure on a blank canvas) to alerts.")
    attach_camera_frame: bool = setting(False, "Attach the camera frame itself (video leaves the device: opt in only).")
    backoff_s: float = setting(
        2.0, "First retry delay of a failed delivery; doubles per failure, with jitter.", gt=0, unit="seconds"
    )
    backoff_max_s: float = setting(
        30.0,
        "Longest retry delay, seconds (>= backoff_s); also the longest an alert waits after the network returns.",
    )
    timeout_s: float = setting(10.0, "Seconds one delivery attempt may take.", gt=0, le=120, unit="seconds")
    tiers: list[TierConfig] = setting(
        [],
        "Escalation: later tiers, each added `after_min` minutes after the alert while nobody has acknowledged "
        "it, listed in order of after_min; [] = tier 1 only. Written as tables after this section, e.g.:\n"
        '  [[notify.tiers]]\n  urls = ["tgram://bot/neighbour"]\n  after_min = 5\n'
        '  [[notify.tiers]]\n  urls = ["pover://user@token"]\n  after_min = 15',
    )
    repeat_min: float = setting(
        5.0,
        "Minutes between reminders to every tier reached, until acknowledged, recovered or cancelled; 0 = none.",
        ge=0,
        unit="minutes",
    )
    ack_url: str = setting(
        "",
        'The device\'s acknowledge page as a phone on the home network reaches it, e.g. "http://192.168.1.20:8780": '
        'messages then carry an acknowledge link; "" = no link.',
    )
    ack_port: int = setting(
        0,
        "TCP port of the acknowledge page; 0 = off. It is reachable only where the device is (the home network "
        "or a VPN), not from a phone on the mobile network.",
        ge=0,
        le=65535,
    )
    ack_host: str = setting("0.0.0.0", 'Address the acknowledge page listens on ("0.0.0.0" = every interface).')
    drain_s: float = setting(
        5.0,
        "At exit, seconds to wait for queued alerts to be delivered before saying which are still pending (the "
        "service's TimeoutStopSec is 20).",
        ge=0,
        le=300,
        unit="seconds",
    )

    @model_validator(mode="after")
    def _check(self) -> NotifyConfig:
        for i, url in enumerate(self.urls):
            check("://" in url, f"urls[{i}]", url, "must be an Apprise URL like ntfy://topic")
        check(self.backoff_max_s >= self.backoff_s, "backoff_max_s", self.backoff_max_s, "must be >= notify.backoff_s")
        check(not self.ack_url or self.ack_url.startswith(("http://", "https://")),
              "ack_url", self.ack_url, "must start with http:// or https://")  # fmt: skip
        after = [tier.after_min for tier in self.tiers]
        check(after == sorted(after), "tiers", after, "tiers must be listed in order of after_min")
        return self


class MqttConfig(Section):
    """MQTT events and Home Assistant discovery; off unless `enabled`."""

    enabled: bool = setting(False, "Publish events and Home Assistant discovery over MQTT.")
    host: str = setting("127.0.0.1", "Broker host name or address.")
    port: int = setting(1883, "Broker TCP port.", ge=1, le=65535)
    username: str = setting("", 'Broker user name; "" = anonymous.')
    password: str = setting(
        "", 'Broker password; "" = none, or FALLWATCH_MQTT_PASSWORD from the environment.', secret=True
    )
    tls: bool = setting(False, "Connect with TLS (the system CAs, or tls_ca).")
    tls_ca: str = setting("", 'CA bundle (PEM) for TLS; "" = the system CAs. Needs tls = true.')
    keepalive_s: int = setting(30, "MQTT keepalive.", ge=5, le=3600, unit="seconds")
    topic_prefix: str = setting("fallwatch", "Topic prefix for events and availability; no wildcards (# +) or spaces.")
    discovery_prefix: str = setting("homeassistant", "Home Assistant discovery prefix; no wildcards or spaces.")
    node_id: str = setting(
        "", 'Device name in Home Assistant unique ids (letters, digits, _ and -); "" = derived from room.'
    )

    @model_validator(mode="after")
    def _check(self) -> MqttConfig:
        for key in ("topic_prefix", "discovery_prefix"):
            value = getattr(self, key)
            check(bool(value) and not any(c in value for c in "#+ "),
                  key, value, "must be a non-empty topic without wildcards or spaces")  # fmt: skip
        check(all(c.isalnum() or c in "_-" for c in self.node_id),
              "node_id", self.node_id, "may hold only letters, digits, _ and -")  # fmt: skip
        check(not self.tls_ca or self.tls, "tls_ca", self.tls_ca, "needs mqtt.tls = true")
        return self


class VoiceConfig(Section):
    """The spoken prompts in the room (espeak-ng): off unless `device` or `wav` is set."""

    device: str = setting("", 'ALSA playback device as `aplay -L` lists it, e.g. "default" or "plughw:1,0"; "" = off.')
    wav: str = setting("", "Instead of a device, write each prompt to this WAV file (a PC without speakers, tests).")
    language: str = setting("en", 'espeak-ng language ("en", "de", "fr", ...).')
    voice: str = setting("", 'espeak-ng voice, overrides language (e.g. "en-us+f3"); "" = the language\'s.')
    volume: int = setting(150, "Loudness, espeak-ng amplitude.", ge=0, le=200)
    speed: int = setting(150, "Speaking rate.", ge=80, le=450, unit="words per minute")
    repeat_s: float = setting(
        8.0, "Seconds between repeats of the question while the person is down.", ge=1, le=600, unit="seconds"
    )
    name: str = setting("", 'The person\'s name, said first; "" = none.')
    ask: str = setting(
        "{name}Did you fall? Press the button if you are all right.",
        "Said at fall_suspected and every repeat_s until the person recovers, the alarm is cancelled or it "
        'becomes an alert; "{name}" is replaced by the name and a comma.',
    )
    help: str = setting("{name}Help is being called. Stay where you are.", "Said once at the alert.")
    test: str = setting(
        "This is a test of FallWatch. Nothing happened.",
        "Said once at a test alert (the set-up page's test button), never during an alarm.",
    )

    @model_validator(mode="after")
    def _check(self) -> VoiceConfig:
        check(not (self.device and self.wav), "wav", self.wav, "set voice.device or voice.wav, not both")
        for key in ("language", "voice"):
            value = getattr(self, key)
            check(all(c.isalnum() or c in "-_+" for c in value), key, value,
                  "may hold only letters, digits, -, _ and +")  # fmt: skip
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.device or self.wav)


class InactivityConfig(Section):
    """ "Nobody seen in the room for `hours` between `start` and `end`" -> one push per day.

    For the person who fell where the camera cannot see. Off when hours = 0 (the default).
    """

    hours: float = setting(0.0, "Hours without anybody in view; 0 = off.", ge=0, le=24, unit="hours")
    start: str = setting("07:00", "Start of the daily window, HH:MM local time.")
    end: str = setting("22:00", "End of the window, HH:MM (earlier than start: the window runs over midnight).")

    @model_validator(mode="after")
    def _check(self) -> InactivityConfig:
        for key in ("start", "end"):
            value = getattr(self, key)
            ok = len(value) == 5 and value[2] == ":" and value[:2].isdigit() and value[3:].isdigit()
            check(ok and int(value[:2]) < 24 and int(value[3:]) < 60, key, value, "must be HH:MM")
        return self


class OutputConfig(Section):
    """Annotated frames: every input frame, whatever the classifier says."""

    uri: str = setting(
        "",
        'Annotated frames (skeleton, track id, class, probability, state): "" = none, a file path (.mp4/.avi), '
        "display://0 (a window) or rtsp://@:8554/live (Jetson).",
    )


class LogConfig(Section):
    """The events log, the log level, and the state file."""

    events: str = setting(
        "/var/lib/fallwatch/events.jsonl", "The events log: one JSON line per event, flushed and fsync'd as it happens."
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting(
        "INFO", 'Log level: "DEBUG", "INFO", "WARNING" or "ERROR".'
    )
    state: str = setting(
        "/var/lib/fallwatch/state.json",
        "A live camera's open fall episodes and current outage, rewritten atomically at each change, so that a "
        'restart resumes them and does not push an outage twice; "" = not kept.',
    )

    @model_validator(mode="after")
    def _check(self) -> LogConfig:
        for key in ("events", "state"):
            value = getattr(self, key)
            check(not value.endswith("/"), key, value, "must be a file path, not a folder")
        return self


class WebConfig(Section):
    """The local set-up and status page (edge/web): state, fps, people in view, latest events; bed zones
    drawn on a camera snapshot and saved to this file."""

    port: int = setting(0, "TCP port; 0 = off.", ge=0, le=65535)
    host: str = setting(
        "127.0.0.1",
        'Address it listens on: "127.0.0.1" = this machine only (reach it with `ssh -L '
        '8781:127.0.0.1:8781`); "0.0.0.0" = every interface (the home network).',
    )
    password_hash: str = setting(
        "",
        "The login password, hashed (scrypt): the line `fallwatch web-password` prints. Required when port is "
        "set: the page is never served without a password. Keep this file chmod 600.",
        secret=True,
    )
    session_h: float = setting(12.0, "Hours a login lasts.", gt=0, le=720, unit="hours")
    show_camera: bool = setting(False, "Show the camera picture on the page; false = skeletons only.")

    @model_validator(mode="after")
    def _check(self) -> WebConfig:
        check(bool(self.host.strip()), "host", self.host, "must be an address, e.g. 127.0.0.1")
        check(not self.port or self.password_hash.startswith("scrypt$"), "password_hash", self.password_hash,
              "the page needs a password: set this to the line `fallwatch web-password` prints")  # fmt: skip
        return self


class Config(Section):
    """The whole configuration: `room` and one section per table."""

    room: str = setting("room", "A name for the place, used in every message (push notifications, MQTT).")
    source: SourceConfig = Field(default_factory=SourceConfig)
    pose: PoseConfig = Field(default_factory=PoseConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    gpio: GpioConfig = Field(default_factory=GpioConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    inactivity: InactivityConfig = Field(default_factory=InactivityConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    def has_secrets(self) -> bool:
        """True when the file itself holds a token or password (a key declared secret is set: URLs carry
        tokens; a password hash can be attacked offline)."""
        return _holds_secret(self)


def _register_sections(model: type[BaseModel], prefix: str = "") -> None:
    """Record in SECTION_KEYS the key of every section under `model`, as Config's fields name them."""
    for name, info in model.model_fields.items():
        section = model_in(info.annotation)
        if section is not None:
            key = prefix + name + ("[]" if typing.get_origin(info.annotation) is list else "")
            SECTION_KEYS[section] = key
            _register_sections(section, f"{key}.")


_register_sections(Config)


def _holds_secret(model: BaseModel) -> bool:
    """True when a key declared secret is set in `model` or in a section or table under it."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if extra(info, "secret") and value:
            return True
        if any(
            isinstance(item, BaseModel) and _holds_secret(item)
            for item in (value if isinstance(value, list) else [value])
        ):
            return True
    return False


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


def put_key(data: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    """data[a][b] = value for keys ["a", "b"], tables made as needed; ValueError naming a part that
    holds a value, not a table."""
    table = data
    for part in keys[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ValueError(f"{part} is not a table")
    table[keys[-1]] = value


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """A config file's text as data; ConfigError "where: not valid TOML: ..." for a broken file."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def config_from_data(data: dict[str, Any], where: str) -> Config:
    """The Config a parsed file holds; ConfigError "where: key = value: requirement" for the first bad key."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe(exc, Config, '')}") from None


def config_from_text(text: str, where: str) -> Config:
    """Validate a config file's text without reading or writing any file (the web page checks an edit
    with it before saving); ConfigError names `where` and the key."""
    return config_from_data(parse_toml(text, where), where)


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
        data = parse_toml(text, where)
    for text in overrides or []:
        keys, value = parse_override(text)
        try:
            put_key(data, keys, value)
        except ValueError as exc:
            raise ConfigError(f"override {text!r}: {exc}") from None
    cfg = config_from_data(data, where)
    if path is not None and cfg.has_secrets():
        mode = Path(path).stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            raise ConfigError(
                f"{path}: holds secrets but group/others can read it (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
    return cfg


EXAMPLE_HEADER = """\
FallWatch configuration: every key, its meaning, unit, default and bounds.

Generated from edge/config.py by `fallwatch config-example` (a test checks it is up to date): edit
the declarations there, not this file. Copy it to /etc/fallwatch/config.toml and edit that;
`fallwatch doctor --config FILE` validates it, and `fallwatch run --config FILE --set
events.confirm_s=5` overrides single keys from the command line. Every key below is set to its
default; a key you leave out keeps its default. Unknown keys, wrong types and out-of-range values
stop the program at start with one line naming the key and the value. A file holding secrets
(notify.urls, mqtt.password, web.password_hash) must be readable by its owner only (chmod 600)."""


def example_toml() -> str:
    """install/config.example.toml: every key at its default, under its doc and bounds as comments."""
    lines = [*_comment(EXAMPLE_HEADER), ""]
    for name, info in Config.model_fields.items():
        if _is_section(info):
            section: type[BaseModel] = info.annotation  # type: ignore[assignment]
            lines += ["", f"[{name}]", *_comment(inspect.cleandoc(section.__doc__ or ""), wrap=False), ""]
            for key, field in section.model_fields.items():
                lines += _key_lines(key, field)
        else:
            lines += _key_lines(name, info)
    return "\n".join(lines) + "\n"


def _key_lines(key: str, info: FieldInfo) -> list[str]:
    """One key of the example: its doc and bounds as comment lines, then `key = default`."""
    rule = bounds(info)
    doc = f"{info.description} Must be {rule}." if rule else str(info.description)
    return [*_comment(doc), f"{key} = {toml_value(info.get_default(call_default_factory=True))}"]


def _comment(text: str, wrap: bool = True) -> list[str]:
    """`text` as TOML comment lines; each line of it wrapped at 100 columns, keeping its indent."""
    lines: list[str] = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(line, 98, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        lines += (wrapped or [""]) if wrap else [line]
    return [f"# {line}".rstrip() for line in lines]


def toml_value(value: Any) -> str:
    """A value as TOML (strings, booleans, numbers and lists of them), on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


def _is_section(info: FieldInfo) -> bool:
    return isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)


@dataclass(frozen=True)
class FormField:
    """One key as a form on the set-up page needs it.

    kind: "bool", "int", "float", "str", "choice" (one of `choices`), "list" (of plain values) or
    "tables" (a list of tables, e.g. notify.tiers). limits: the declared bounds by name (gt, ge, lt,
    le); bounds: the same in words. value is None for a secret key: a page never shows one.
    """

    key: str
    kind: str
    choices: tuple[Any, ...]
    limits: dict[str, float]
    bounds: str
    unit: str
    default: Any
    value: Any
    doc: str
    secret: bool


def form_fields(cfg: Config, section: str) -> list[FormField]:
    """The keys of one section of `cfg` ("" = the top-level keys, e.g. room), in declaration order."""
    model: BaseModel = getattr(cfg, section) if section else cfg
    fields = []
    for name, info in type(model).model_fields.items():
        if _is_section(info):
            continue
        kind, choices = _kind(info.annotation)
        secret_key = bool(extra(info, "secret"))
        fields.append(
            FormField(
                key=f"{section}.{name}" if section else name,
                kind=kind,
                choices=choices,
                limits=limits(info),
                bounds=bounds(info),
                unit=extra(info, "unit") or "",
                default=_public(info.get_default(call_default_factory=True)),
                value=None if secret_key else _public(getattr(model, name)),
                doc=str(info.description),
                secret=secret_key,
            )
        )
    return fields


def _kind(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    """A form's kind of input for a declared type, and the choices of a Literal."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice", typing.get_args(annotation)
    if origin in (list, tuple):
        (item, *_) = typing.get_args(annotation)
        return ("tables" if isinstance(item, type) and issubclass(item, BaseModel) else "list"), ()
    return annotation.__name__, ()


def _public(value: Any) -> Any:
    """`value` as plain data for a page, with every secret key inside it (a table's URLs) as None."""
    if isinstance(value, BaseModel):
        fields = type(value).model_fields.items()
        return {name: None if extra(info, "secret") else _public(getattr(value, name)) for name, info in fields}
    if isinstance(value, (list, tuple)):
        return [_public(item) for item in value]
    return value
