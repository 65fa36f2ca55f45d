"""Training augmentations toward what a room camera sees, on keypoint windows before the feature function.

Each augmentation takes keypoint windows (W, T, 18, 3) at `rate_hz`, their frames' aspects (W,) and
label masks (W, 5), and returns new windows with the rows they came from (their labels are those
rows' labels). Missing keypoints (confidence 0) stay missing; a keypoint an augmentation hides gets
confidence 0 and x = y = 0, as the pose stage reports it.

- stretch: falls slowed 1.5-3x (older people sink and slide). Only windows that allow `fall`; the
  new window shows the last 1/factor of the old one played slower (edge.windows.resample).
- rotate: camera roll, -20..20 degrees about the window's mean hip centre, in true (aspect-scaled) units.
- perspective: another camera height: vertical foreshortening (y x 0.6-1.0 about the centre) and a
  keystone (width changing with height by up to +-30% per frame height).
- distance: the person farther or nearer (scale 0.4-1.3 about the centre, and a shift) with the
  pose noise of a smaller person (jitter of 1% of the frame / scale).
- occlusion: the lower body (hips, knees, ankles) or one side missing for 1-2 s of the window.
- gaps: pose lost in runs (about 25% of the samples missing, in runs of 1-5 samples).
- jitter: keypoint noise of 1-3% of the torso length, independent per keypoint and sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edge.classes import FALL
from edge.skeleton import INDEX, KEYPOINT_NAMES
from edge.windows import resample

LOWER_BODY = [INDEX[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")]
LEFT = [i for i, n in enumerate(KEYPOINT_NAMES) if n.startswith("left_")]
RIGHT = [i for i, n in enumerate(KEYPOINT_NAMES) if n.startswith("right_")]
HIPS = [INDEX["left_hip"], INDEX["right_hip"]]

Augmentation = Callable[[np.ndarray, np.ndarray, np.ndarray, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _hidden(keypoints: np.ndarray, mask_for: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A copy of the windows with the keypoints mask_for(window) (bool (T, 18)) marks missing."""
    out = keypoints.copy()
    for window in out:
        window[mask_for(window)] = 0.0
    return out, np.arange(len(keypoints))


def _centre(window: np.ndarray) -> np.ndarray:
    """The mean hip midpoint (x, y) over the window's found hips, else of all found keypoints; (0.5, 0.5) if none."""
    for joints in (HIPS, slice(None)):
        part = window[:, joints]
        found = part[..., 2] > 0
        if found.any():
            return part[found][:, :2].mean(axis=0)
    return np.array([0.5, 0.5], np.float32)


def _affine(window: np.ndarray, aspect: float, matrix: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """x, y of found keypoints mapped by `matrix` about the centre in aspect-scaled units, then shifted."""
    out = window.copy()
    found = out[..., 2] > 0
    units = np.array([aspect, 1.0], np.float32)
    centre = _centre(window) * units
    xy = out[..., :2] * units - centre
    out[..., :2] = np.where(found[..., None], ((xy @ matrix.T) + centre + shift * units) / units, 0.0)
    return out


def stretch(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Fall windows slowed 1.5-3x (see the module docstring)."""
    rows = np.flatnonzero(masks[:, FALL])
    frames = keypoints.shape[1]
    ago = (np.arange(frames) - (frames - 1)) / rate_hz  # sample times relative to the window's end
    out = np.empty((len(rows), *keypoints.shape[1:]), np.float32)
    for k, row in enumerate(rows):
        factor = rng.uniform(1.5, 3.0)
        out[k] = resample(ago, keypoints[row], ago / factor, max_gap_s=1.5 / rate_hz)
    return out, rows


def rotate(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Camera roll of -20..20 degrees (see the module docstring)."""
    out = np.empty_like(keypoints)
    for i, window in enumerate(keypoints):
        a = np.deg2rad(rng.uniform(-20.0, 20.0))
        matrix = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
        out[i] = _affine(window, float(aspect[i]), matrix, np.zeros(2, np.float32))
    return out, np.arange(len(keypoints))


def perspective(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Another camera height: vertical foreshortening and a keystone (see the module docstring)."""
    out = keypoints.copy()
    for i, window in enumerate(keypoints):
        squash, keystone = rng.uniform(0.6, 1.0), rng.uniform(-0.3, 0.3)
        found = window[..., 2] > 0
        cx, cy = _centre(window)
        y = cy + (window[..., 1] - cy) * squash
        x = cx + (window[..., 0] - cx) * (1.0 + keystone * (window[..., 1] - cy))
        out[i, ..., 0] = np.where(found, x, 0.0)
        out[i, ..., 1] = np.where(found, y, 0.0)
    return out, np.arange(len(keypoints))


def distance(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The person farther or nearer, with a smaller person's pose noise (see the module docstring)."""
    out = np.empty_like(keypoints)
    for i, window in enumerate(keypoints):
        scale = rng.uniform(0.4, 1.3)
        shift = rng.uniform(-0.15, 0.15, size=2).astype(np.float32)
        moved = _affine(window, float(aspect[i]), np.eye(2, dtype=np.float32) * scale, shift)
        _add_noise(moved, 0.01 / scale, rng)
        out[i] = moved
    return out, np.arange(len(keypoints))


def occlusion(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The lower body or one side missing for 1-2 s of the window (see the module docstring)."""
    frames = keypoints.shape[1]

    def part_of_the_body(window: np.ndarray) -> np.ndarray:
        span = min(frames, round(rng.uniform(1.0, 2.0) * rate_hz))
        start = int(rng.integers(0, frames - span + 1))
        joints = (LOWER_BODY, LEFT, RIGHT)[int(rng.integers(0, 3))]
        hidden = np.zeros(window.shape[:2], bool)
        hidden[start : start + span, joints] = True
        return hidden

    return _hidden(keypoints, part_of_the_body)


def gaps(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pose lost in runs of 1-5 samples, about a quarter of the window (see the module docstring)."""
    frames = keypoints.shape[1]

    def runs_of_frames(window: np.ndarray) -> np.ndarray:
        lost = np.zeros(frames, bool)
        while lost.mean() < 0.25:
            start = int(rng.integers(0, frames))
            lost[start : start + int(rng.integers(1, 6))] = True
        return np.repeat(lost[:, None], window.shape[1], axis=1)

    return _hidden(keypoints, runs_of_frames)


def jitter(
    keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoint noise of 1-3% of the torso length (see the module docstring)."""
    out = keypoints.copy()
    for window in out:
        _add_noise(window, rng.uniform(0.01, 0.03) * _torso(window), rng)
    return out, np.arange(len(keypoints))


def _add_noise(window: np.ndarray, sigma: float, rng: np.random.Generator) -> None:
    """Gaussian noise of `sigma` (image units) on the found keypoints of `window` (T, 18, 3), in place."""
    noise = rng.normal(0.0, sigma, size=window[..., :2].shape).astype(np.float32)
    window[..., :2] += np.where((window[..., 2] > 0)[..., None], noise, 0.0)


def _torso(window: np.ndarray) -> float:
    """Median neck-to-hip-midpoint distance (image units) over the samples that have them; 0.2 if none."""
    neck = window[:, INDEX["neck"]]
    hips = window[:, HIPS]
    ok = (neck[:, 2] > 0) & (hips[..., 2] > 0).all(axis=1)
    if not ok.any():
        return 0.2
    return float(np.median(np.linalg.norm(neck[ok, :2] - hips[ok, :, :2].mean(axis=1), axis=1)))


AUGMENTATIONS: dict[str, Augmentation] = {
    "stretch": stretch,
    "rotate": rotate,
    "perspective": perspective,
    "distance": distance,
    "occlusion": occlusion,
    "gaps": gaps,
    "jitter": jitter,
}


def check_augmentations(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate augmentation names; ValueError naming the unknown ones and the known ones."""
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {', '.join(AUGMENTATIONS)}")
    return tuple(names)


def augment(
    names: tuple[str, ...], keypoints: np.ndarray, aspect: np.ndarray, masks: np.ndarray, rate_hz: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented copy per named augmentation of the windows it applies to: (windows, source rows)."""
    rng = np.random.default_rng(seed)
    parts, rows = [], []
    for name in check_augmentations(names):
        out, src = AUGMENTATIONS[name](keypoints, aspect, masks, rate_hz, rng)
        parts.append(out.astype(np.float32))
        rows.append(src)
    if not parts:
        return np.zeros((0, *keypoints.shape[1:]), np.float32), np.zeros(0, np.intp)
    return np.concatenate(parts), np.concatenate(rows).astype(np.intp)
