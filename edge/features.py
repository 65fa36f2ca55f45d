"""The one feature function, shared by training and the live pipeline.

A window of T canonical skeletons (resampled to a fixed rate, see edge/windows.py) becomes a
(T, F) float32 array:

1. Selected joints only (FeatureConfig.joints); the hip midpoint is the root of the bone tree.
2. x is scaled by the frame's aspect ratio so that x and y share one unit.
3. Bones: each selected joint minus its nearest selected ancestor (nose -> neck -> hip midpoint,
   wrists -> elbows -> shoulders -> neck, ankles -> knees -> hips -> hip midpoint). NOT normalised to
   unit length (the prototype found lengths help); `unit_bones` exists only to measure that.
4. Whole-skeleton scale: every length is divided by the window's torso length (median over the
   window of |neck - hip midpoint|), so camera distance drops out. A per-window (not per-frame)
   scale keeps the falling body's apparent shrinkage visible. Bones are differences, so centring on
   the hip midpoint is implicit; the root's own motion is kept as a velocity.
5. Optional velocity: per-second change of every bone and of the root (torso lengths per second).
   Optional acceleration: its change again (the prototype found it missed falls; off by default).
6. Optional trunk (issue 13: the evidence the fall rule uses): per frame, how far the trunk (mean of
   both shoulders and both hips) is below where it was at the window's first frame that saw it, in
   torso lengths, and the trunk's tilt from vertical / 90 degrees (0 upright, 1 lying across the
   view; edge.features.trunk_tilt_deg, the fall rule's own measure). 0 where the trunk is not seen.

Horizontal-flip augmentation is edge.skeleton.flip_horizontal, applied to keypoints before this.
Missing keypoints (confidence below `min_confidence`) give zero bones and zero velocities; no input
(NaN, inf, a zero torso, nobody at all) makes this raise or return a non-finite number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, field_validator, model_validator

from edge.config_base import Section, check, setting
from edge.skeleton import INDEX, KEYPOINT_NAMES, NUM_KEYPOINTS

ROOT = "hip_midpoint"
# Canonical parent of each keypoint in the bone tree; the root is the hip midpoint.
PARENT: dict[str, str] = {
    "neck": ROOT,
    "nose": "neck",
    "left_eye": "nose",
    "right_eye": "nose",
    "left_ear": "left_eye",
    "right_ear": "right_eye",
    "left_shoulder": "neck",
    "right_shoulder": "neck",
    "left_elbow": "left_shoulder",
    "right_elbow": "right_shoulder",
    "left_wrist": "left_elbow",
    "right_wrist": "right_elbow",
    "left_hip": ROOT,
    "right_hip": ROOT,
    "left_knee": "left_hip",
    "right_knee": "right_hip",
    "left_ankle": "left_knee",
    "right_ankle": "right_knee",
}

# The body joints the pose estimators share (elbows, eyes and ears are often missing; neck is derived).
# MD4FD has no wrists either: its wrist bones are zero (it is not in the default training set).
DEFAULT_JOINTS: tuple[str, ...] = (
    "nose",
    "neck",
    "left_shoulder",
    "right_shoulder",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# A torso shorter than this (in height units) is treated as unknown.
MIN_TORSO = 1e-3
# Frames wider or taller than this are not cameras: such an aspect is treated as unknown (1).
MIN_ASPECT, MAX_ASPECT = 0.05, 20.0
# Bounds every output value: a garbage skeleton must not produce huge numbers downstream.
FEATURE_LIMIT = 50.0


class FeatureConfig(Section):
    """Window features; MUST equal the model's models/features.json (the model was trained on them)."""

    model_config = ConfigDict(frozen=True)

    joints: tuple[str, ...] = setting(
        DEFAULT_JOINTS,
        'Selected canonical joints (edge/skeleton.py names), or ["all"] for all 18.',
        strict=False,  # a TOML or JSON list
    )
    rate_hz: float = setting(15.0, "Rate every track is resampled to before windowing.", gt=0, unit="Hz")
    window_frames: int = setting(30, "Frames per window, T; a window spans (T - 1) / rate_hz seconds.", ge=2)
    velocity: bool = setting(True, "Append per-second bone and root velocities.")
    acceleration: bool = setting(False, "Append accelerations (the prototype found they missed falls).")
    unit_bones: bool = setting(False, "Normalise bones to unit length (kept only for the comparison; worse).")
    trunk: bool = setting(False, "Append the trunk's drop and tilt per frame (2 features).")
    min_confidence: float = setting(0.2, "Keypoints below this confidence count as missing.", ge=0, le=1)
    max_gap_s: float = setting(
        0.35, "A resampled frame farther than this many seconds from any real frame is marked missing."
    )

    @field_validator("joints", mode="after")
    @classmethod
    def _all(cls, joints: tuple[str, ...]) -> tuple[str, ...]:
        return KEYPOINT_NAMES if joints == ("all",) else joints

    @model_validator(mode="after")
    def _check(self) -> FeatureConfig:
        unknown = [j for j in self.joints if j not in INDEX]
        check(bool(self.joints) and not unknown, "joints", unknown, f"unknown joint(s); choose from {KEYPOINT_NAMES}")
        check(len(set(self.joints)) == len(self.joints), "joints", self.joints, "duplicate joints")
        return self

    @property
    def parents(self) -> tuple[int, ...]:
        """Per selected joint, the index (into the canonical 18) of its nearest selected ancestor; -1 = root."""
        return tuple(_selected_parent(j, self.joints) for j in self.joints)

    @property
    def num_bones(self) -> int:
        return len(self.joints)

    @property
    def num_features(self) -> int:
        """F: 2 per bone, plus (2 per bone + 2 for the root) for each derivative, plus 2 for the trunk."""
        per_derivative = 2 * self.num_bones + 2
        return 2 * self.num_bones + per_derivative * (int(self.velocity) + int(self.acceleration)) + 2 * int(self.trunk)

    @property
    def window_s(self) -> float:
        """Seconds from the first to the last sample of a window."""
        return (self.window_frames - 1) / self.rate_hz

    def to_dict(self) -> dict[str, Any]:
        """The form saved beside datasets and models (features.json)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """A saved FeatureConfig; unknown keys are refused (ConfigError)."""
        return cls(**data)


def trunk_tilt_deg(shoulders: np.ndarray, hips: np.ndarray) -> np.ndarray:
    """Degrees between the trunk (hip midpoint to shoulder midpoint) and image vertical, in [0, 180]:
    about 0 standing or sitting, 90 lying across the view; NaN for a zero-length trunk.

    shoulders, hips: (..., 2) midpoints in one unit for x and y (x already scaled by the aspect)."""
    dx, dy = np.moveaxis(np.asarray(shoulders, np.float64) - np.asarray(hips, np.float64), -1, 0)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(dx) + np.abs(dy) > 1e-6, np.degrees(np.arctan2(np.abs(dx), -dy)), np.nan)


def _selected_parent(joint: str, joints: tuple[str, ...]) -> int:
    """Index (into the canonical 18) of the nearest selected ancestor; -1 for the hip midpoint."""
    parent = PARENT[joint]
    while parent != ROOT and parent not in joints:
        parent = PARENT[parent]
    return -1 if parent == ROOT else INDEX[parent]


def _positions(keypoints: np.ndarray, aspect: float, min_conf: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 19, 2) positions in height units (index 18 = hip midpoint) and (T, 19) found flags."""
    kp = np.nan_to_num(np.asarray(keypoints, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    found = (kp[..., 2] >= min_conf) & (kp[..., 2] > 0) & (np.abs(kp[..., :2]) < 1e3).all(axis=-1)
    xy = kp[..., :2] * np.array([aspect, 1.0])
    xy = np.where(found[..., None], xy, 0.0)
    left, right = INDEX["left_hip"], INDEX["right_hip"]
    hips = found[:, left] & found[:, right]
    root = np.where(hips[:, None], (xy[:, left] + xy[:, right]) / 2, 0.0)
    return np.concatenate([xy, root[:, None]], axis=1), np.concatenate([found, hips[:, None]], axis=1)


def _torso_length(pos: np.ndarray, found: np.ndarray) -> float:
    """Median |neck - hip midpoint| over the window; falls back to the body's height span, then 1."""
    neck = INDEX["neck"]
    both = found[:, neck] & found[:, NUM_KEYPOINTS]
    lengths = np.linalg.norm(pos[both, neck] - pos[both, NUM_KEYPOINTS], axis=-1)
    lengths = lengths[lengths > MIN_TORSO]
    if len(lengths):
        return float(np.median(lengths))
    spans = [
        np.ptp(frame[ok, 1])
        for frame, ok in zip(pos[:, :NUM_KEYPOINTS], found[:, :NUM_KEYPOINTS], strict=True)
        if ok.sum() >= 2
    ]
    span = float(np.median(spans)) / 3 if spans else 0.0  # a torso is about a third of the height
    return span if span > MIN_TORSO else 1.0


def _trunk(pos: np.ndarray, found: np.ndarray, scale: float) -> np.ndarray:
    """(T, 2): the trunk's drop below its height at the window's first frame that saw it (torso lengths)
    and its tilt / 90 degrees; 0 where a shoulder or hip is missing."""
    shoulders, hips = [INDEX["left_shoulder"], INDEX["right_shoulder"]], [INDEX["left_hip"], INDEX["right_hip"]]
    seen = found[:, shoulders + hips].all(axis=1)
    if not seen.any():
        return np.zeros((len(pos), 2))
    top, bottom = pos[:, shoulders].mean(axis=1), pos[:, hips].mean(axis=1)
    height = (top[:, 1] + bottom[:, 1]) / 2
    drop = (height - height[np.argmax(seen)]) / scale
    tilt = np.nan_to_num(trunk_tilt_deg(top, bottom) / 90.0)
    return np.where(seen[:, None], np.stack([drop, tilt], axis=1), 0.0)


def _derivative(values: np.ndarray, valid: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-second differences along time; zero where either neighbour is invalid or at t = 0."""
    diff = np.zeros_like(values)
    ok = np.zeros_like(valid)
    ok[1:] = valid[1:] & valid[:-1]
    diff[1:] = (values[1:] - values[:-1]) * rate_hz
    return np.where(ok[..., None], diff, 0.0), ok


def window_features(keypoints: np.ndarray, aspect: float, cfg: FeatureConfig) -> np.ndarray:
    """Features (T, F) float32 for one window of canonical keypoints (T, 18, 3).

    aspect: the source frame's width / height. Raises ValueError only for a wrongly shaped input.
    """
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"window_features: expected keypoints shaped (T, {NUM_KEYPOINTS}, 3), got {kp.shape}")
    if not (np.isfinite(aspect) and MIN_ASPECT <= aspect <= MAX_ASPECT):
        aspect = 1.0
    with np.errstate(all="ignore"):
        return _features(kp, float(aspect), cfg)


def _features(kp: np.ndarray, aspect: float, cfg: FeatureConfig) -> np.ndarray:
    pos, found = _positions(kp, aspect, cfg.min_confidence)
    scale = _torso_length(pos, found)
    child = np.array([INDEX[j] for j in cfg.joints])
    parent = np.array([p if p >= 0 else NUM_KEYPOINTS for p in cfg.parents])
    bones = (pos[:, child] - pos[:, parent]) / scale
    bone_ok = found[:, child] & found[:, parent]
    bones = np.where(bone_ok[..., None], bones, 0.0)
    if cfg.unit_bones:
        norm = np.linalg.norm(bones, axis=-1, keepdims=True)
        bones = np.where(norm > MIN_TORSO, bones / np.maximum(norm, MIN_TORSO), 0.0)
    parts = [bones.reshape(len(kp), -1)]
    motion = np.concatenate([bones, pos[:, NUM_KEYPOINTS : NUM_KEYPOINTS + 1] / scale], axis=1)
    motion_ok = np.concatenate([bone_ok, found[:, NUM_KEYPOINTS : NUM_KEYPOINTS + 1]], axis=1)
    for enabled in (cfg.velocity, cfg.acceleration):
        motion, motion_ok = _derivative(motion, motion_ok, cfg.rate_hz)
        if enabled:
            parts.append(motion.reshape(len(kp), -1))
    if cfg.trunk:
        parts.append(_trunk(pos, found, scale))
    out = np.concatenate(parts, axis=1)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), -FEATURE_LIMIT, FEATURE_LIMIT).astype(
        np.float32
    )
