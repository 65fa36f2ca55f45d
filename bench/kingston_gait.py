"""How fast the Kingston sequences really run: the walking rhythm in their "standing" frames.

    .venv/bin/python bench/kingston_gait.py

The Kingston file records no frame rate (the adapter assumes KINGSTON_FPS = 30). A walk repeats
every stride (two steps): the horizontal distance between the ankles swings from one sign to the
other and back. For every run of WINDOW consecutive frames labelled "standing" with both ankles and
the mid-hip found and the ankles' separation swinging (standard deviation >= MIN_SWING pixels), the
stride is the first autocorrelation peak (>= MIN_PEAK) of the detrended separation, in frames.
A stride in frames over the stride time of a walk gives the frame rate that the recording has.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.training.sources.openpose import KINGSTON_FILE, KINGSTON_FPS

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))
WINDOW = 36  # frames
MIN_SWING = 4.0  # pixels of a 160x120 frame
MIN_PEAK = 0.2
R_ANKLE, L_ANKLE, MID_HIP = 11, 14, 8  # OpenPose BODY_25


def strides(keypoints: np.ndarray, frames: np.ndarray, standing: np.ndarray) -> list[int]:
    """Stride lengths (frames) of the walking windows of one sequence (module docstring)."""
    found = (keypoints[:, [R_ANKLE, L_ANKLE, MID_HIP], 2] > 0).all(axis=1)
    apart = keypoints[:, R_ANKLE, 0] - keypoints[:, L_ANKLE, 0]
    steps = np.arange(WINDOW)
    out = []
    for start in range(0, len(frames) - WINDOW, WINDOW // 2):
        window = slice(start, start + WINDOW)
        if not (found[window].all() and standing[window].all() and (np.diff(frames[window]) == 1).all()):
            continue
        swing = apart[window] - np.polyval(np.polyfit(steps, apart[window], 1), steps)
        if swing.std() < MIN_SWING:
            continue
        swing = swing / swing.std()
        corr = np.correlate(swing, swing, "full")[WINDOW - 1 :] / WINDOW
        peaks = [
            lag
            for lag in range(4, WINDOW - 4)
            if corr[lag] > MIN_PEAK and corr[lag] >= max(corr[lag - 1], corr[lag + 1])
        ]
        if peaks:
            out.append(peaks[0])
    return out


def main() -> None:
    data = np.load(DATA / KINGSTON_FILE, allow_pickle=True)
    found: list[int] = []
    for sequence in np.unique(data["sequence"]):
        rows = data["sequence"] == sequence
        got = strides(data["keypoints"][rows], data["frame"][rows], data["label_text"][rows] == "standing")
        print(f"sequence {sequence}: strides {got} frames")
        found += got
    median = float(np.median(found))
    print(f"{len(found)} walking windows; median stride {median:.0f} frames (range {min(found)}-{max(found)})")
    print(f"at the assumed {KINGSTON_FPS:.0f} fps a stride of {median / KINGSTON_FPS:.2f} s; a stride of 1.0-1.3 s "
          f"(a walk) means {median / 1.3:.0f}-{median / 1.0:.0f} fps")  # fmt: skip


if __name__ == "__main__":
    main()
