"""The canonical skeleton (trt_pose's 18 keypoints) and converters into it from other layouts.

A skeleton is a float32 array (18, 3): x, y normalised to the image ([0, 1]) and a confidence in
[0, 1]; a missing keypoint has confidence 0 (and x = y = 0). Every converter works on any leading
shape, so a whole clip (T, K, C) converts in one call. The frame's aspect ratio (width / height)
travels beside the keypoints in `Skeletons`: x and y are different units until x is scaled back.

Converters are duck-typed (they take NumPy arrays or anything `np.asarray` accepts, torch tensors
included) and never import the library whose output they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "neck",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


# FLIP_PERMUTATION[i] is the keypoint that lands at i when the picture is mirrored.
FLIP_PERMUTATION = np.array([INDEX[_mirror_name(n)] for n in KEYPOINT_NAMES], dtype=np.intp)

# trt_pose's human_pose.json topology (0-based), used for drawing stick figures.
EDGES: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 7), (6, 8), (7, 9), (8, 10),
    (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    (17, 0), (17, 5), (17, 6), (17, 11), (17, 12),
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """A foreign keypoint layout: the canonical name of each of its keypoints, in its order.

    `yx` is True when the layout stores (y, x) instead of (x, y); `has_score` is False when it has
    no per-keypoint confidence (every finite, non-(0, 0) point then counts as found, confidence 1).
    Keypoints the canonical skeleton lacks are named None and dropped.
    """

    name: str
    keypoints: tuple[str | None, ...]
    yx: bool = False
    has_score: bool = True

    @property
    def channels(self) -> int:
        return 3 if self.has_score else 2


_COCO17 = KEYPOINT_NAMES[:17]
_MP = [None] * 33
for _i, _n in {
    0: "nose", 2: "left_eye", 5: "right_eye", 7: "left_ear", 8: "right_ear",
    11: "left_shoulder", 12: "right_shoulder", 13: "left_elbow", 14: "right_elbow",
    15: "left_wrist", 16: "right_wrist", 23: "left_hip", 24: "right_hip",
    25: "left_knee", 26: "right_knee", 27: "left_ankle", 28: "right_ankle",
}.items():  # fmt: skip
    _MP[_i] = _n

# OpenPose COCO-18, in its order (BODY_25 is the same with MidHip inserted at index 8 and six foot points).
_OPENPOSE18: tuple[str, ...] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)

LAYOUTS: dict[str, Layout] = {
    # MediaPipe Pose's 33 landmarks as (x, y, visibility).
    "mediapipe33": Layout("mediapipe33", tuple(_MP)),
    # The URFD AlphaPose CSV: COCO without eyes and ears.
    "alphapose13": Layout(
        "alphapose13",
        (
            "nose",
            "left_shoulder",
            "right_shoulder",
            "left_elbow",
            "right_elbow",
            "left_wrist",
            "right_wrist",
            "left_hip",
            "right_hip",
            "left_knee",
            "right_knee",
            "left_ankle",
            "right_ankle",
        ),
    ),
    # MD4FD: 11 points, (x, y) only, and the RIGHT ankle before the left one. The order is the one in
    # the files, not the data README's (which lists wrists second and third): matched frame by frame
    # against urfd_alphapose (the same falls), points 1-8 are shoulders, hips, knees and ankles within
    # 0.02 image units, and points 9-10 sit on the hips (0.02), never on the wrists (>= 0.11): dropped.
    "md4fd11": Layout(
        "md4fd11",
        (
            "nose",
            "left_shoulder",
            "right_shoulder",
            "left_hip",
            "right_hip",
            "left_knee",
            "right_knee",
            "right_ankle",
            "left_ankle",
            None,
            None,
        ),
        has_score=False,
    ),
    # OpenPose BODY_25 as (x, y, confidence): COCO-18's order with MidHip (dropped) at index 8 and six
    # foot points (dropped) at the end.
    "openpose25": Layout("openpose25", (*_OPENPOSE18[:8], None, *_OPENPOSE18[8:], *(None,) * 6)),
    # OpenPose COCO-18 as (x, y) only (no confidence stored; (0, 0) = missing).
    "openpose18": Layout("openpose18", _OPENPOSE18, has_score=False),
    # MoveNet: COCO-17 as (y, x, score).
    "movenet17": Layout("movenet17", _COCO17, yx=True),
    # trt_pose: the canonical order, peaks as (y, x), no score.
    "trt_pose18": Layout("trt_pose18", KEYPOINT_NAMES, yx=True, has_score=False),
}


def derive_neck(keypoints: np.ndarray) -> np.ndarray:
    """Fill the neck as the shoulders' midpoint wherever it is missing and both shoulders are found.

    Works in place on a canonical array (..., 18, 3) and returns it. The derived confidence is the
    lower of the two shoulders'.
    """
    left, right = keypoints[..., INDEX["left_shoulder"], :], keypoints[..., INDEX["right_shoulder"], :]
    neck = keypoints[..., INDEX["neck"], :]
    fill = (neck[..., 2] <= 0) & (left[..., 2] > 0) & (right[..., 2] > 0)
    neck[fill, :2] = (left[fill, :2] + right[fill, :2]) / 2
    neck[fill, 2] = np.minimum(left[fill, 2], right[fill, 2])
    return keypoints


def sanitize(keypoints: np.ndarray) -> np.ndarray:
    """Zero every keypoint that is non-finite or has confidence <= 0 (in place; returns it)."""
    bad = ~np.isfinite(keypoints).all(axis=-1) | ~(keypoints[..., 2] > 0)
    keypoints[bad] = 0.0
    np.clip(keypoints[..., 2], 0.0, 1.0, out=keypoints[..., 2])
    return keypoints


def to_canonical(points: Any, layout: str) -> np.ndarray:
    """Convert keypoints (..., K, C) in a named layout to canonical (..., 18, 3) float32.

    Raises ValueError naming the layout and the expected shape when the last two axes do not fit.
    """
    spec = LAYOUTS[layout]
    arr = np.asarray(points, dtype=np.float32)
    expected = (len(spec.keypoints), spec.channels)
    if arr.ndim < 2 or arr.shape[-2:] != expected:
        raise ValueError(f"{layout}: expected keypoints shaped (..., {expected[0]}, {expected[1]}), got {arr.shape}")
    xy = arr[..., [1, 0]] if spec.yx else arr[..., :2]
    if spec.has_score:
        score = arr[..., 2]
    else:
        finite = np.isfinite(xy).all(axis=-1)
        score = (finite & (np.nan_to_num(np.abs(xy)).sum(axis=-1) > 0)).astype(np.float32)
    out = np.zeros((*arr.shape[:-2], NUM_KEYPOINTS, 3), dtype=np.float32)
    for src, name in enumerate(spec.keypoints):
        if name is not None:
            out[..., INDEX[name], :2] = xy[..., src, :]
            out[..., INDEX[name], 2] = score[..., src]
    return derive_neck(sanitize(out))


def from_canonical(keypoints: np.ndarray, layout: str) -> np.ndarray:
    """Convert canonical keypoints (..., 18, 3) to a named layout (..., K, C).

    The inverse of `to_canonical` for the keypoints the layout has; a missing keypoint comes out as
    zeros (score 0, or (0, 0) for a layout without scores). Used by round-trip tests and exporters.
    """
    spec = LAYOUTS[layout]
    kp = np.asarray(keypoints, dtype=np.float32)
    out = np.zeros((*kp.shape[:-2], len(spec.keypoints), spec.channels), dtype=np.float32)
    for dst, name in enumerate(spec.keypoints):
        if name is None:
            continue
        src = kp[..., INDEX[name], :]
        xy = src[..., [1, 0]] if spec.yx else src[..., :2]
        out[..., dst, :2] = xy
        if spec.has_score:
            out[..., dst, 2] = src[..., 2]
    return out


def flip_horizontal(keypoints: np.ndarray) -> np.ndarray:
    """Mirror canonical keypoints (..., 18, 3): x -> 1 - x and left/right swapped; missing stay missing."""
    kp = np.asarray(keypoints, dtype=np.float32)[..., FLIP_PERMUTATION, :].copy()
    found = kp[..., 2] > 0
    kp[..., 0] = np.where(found, 1.0 - kp[..., 0], 0.0)
    return kp


@dataclass(frozen=True)
class Skeletons:
    """The people found in one frame.

    keypoints: float32 (N, 18, 3) in the canonical layout, N >= 0 (0 = nobody in view).
    aspect: the frame's width / height (> 0); multiply x by it to get y's units.
    """

    keypoints: np.ndarray
    aspect: float

    def __post_init__(self) -> None:
        kp = self.keypoints
        if not isinstance(kp, np.ndarray) or kp.ndim != 3 or kp.shape[1:] != (NUM_KEYPOINTS, 3):
            shape = getattr(kp, "shape", type(kp).__name__)
            raise ValueError(f"Skeletons: expected keypoints shaped (N, {NUM_KEYPOINTS}, 3), got {shape}")
        if not (np.isfinite(self.aspect) and self.aspect > 0):
            raise ValueError(f"Skeletons: aspect must be a positive width/height ratio, got {self.aspect}")

    @classmethod
    def empty(cls, aspect: float) -> Skeletons:
        """Nobody in view."""
        return cls(np.zeros((0, NUM_KEYPOINTS, 3), dtype=np.float32), aspect)

    @classmethod
    def from_layout(cls, points: Any, layout: str, aspect: float) -> Skeletons:
        """People (N, K, C) in a named layout (see LAYOUTS)."""
        arr = to_canonical(points, layout)
        return cls(arr.reshape(-1, NUM_KEYPOINTS, 3), aspect)

    @classmethod
    def from_trt_pose(cls, counts: Any, objects: Any, normalized_peaks: Any, aspect: float) -> Skeletons:
        """trt_pose's ParseObjects output for one image.

        counts: (1,) people; objects: (1, max_people, 18) peak index per part, -1 when not found;
        normalized_peaks: (1, 18, max_peaks, 2) as (y, x) in [0, 1]. Found parts get confidence 1.
        """
        n = int(np.asarray(counts).reshape(-1)[0])
        obj = np.asarray(objects)[0, :n].astype(np.int64)
        peaks = np.asarray(normalized_peaks, dtype=np.float32)[0]
        kp = np.zeros((n, NUM_KEYPOINTS, 3), dtype=np.float32)
        for person in range(n):
            for part in range(NUM_KEYPOINTS):
                k = obj[person, part]
                if k >= 0:
                    y, x = peaks[part, k]
                    kp[person, part] = (x, y, 1.0)
        return cls(derive_neck(sanitize(kp)), aspect)

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def boxes(self) -> np.ndarray:
        """(N, 4) boxes x0, y0, x1, y1 around each person's found keypoints; zeros when none found."""
        out = np.zeros((len(self), 4), dtype=np.float32)
        for i, person in enumerate(self.keypoints):
            found = person[person[:, 2] > 0, :2]
            if len(found):
                out[i] = (*found.min(axis=0), *found.max(axis=0))
        return out
