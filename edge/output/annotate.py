"""Drawing the pipeline's view onto a frame: skeleton, track id, class and probability, state."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.skeleton import EDGES, NUM_KEYPOINTS

#: Box/label colour per event state (BGR); any other state is drawn grey.
STATE_COLOURS: dict[str, tuple[int, int, int]] = {
    "ok": (0, 200, 0),
    "suspected": (0, 200, 255),
    "alert": (0, 0, 255),
}
GREY = (160, 160, 160)


@dataclass(frozen=True)
class PersonAnnotation:
    """What to draw for one tracked person.

    keypoints: float (18, 3) canonical skeleton, x and y in [0, 1]; confidence 0 = not drawn.
    track_id: the tracker's id.
    label: the top class ("" before the window is full); prob its probability in [0, 1].
    state: the track's event state (edge.events.FallEvents.states(): "ok", "suspected", "alert"), which
        picks the colour (grey for any other).
    """

    keypoints: np.ndarray
    track_id: int
    label: str = ""
    prob: float = 0.0
    state: str = "ok"

    def __post_init__(self) -> None:
        if np.shape(self.keypoints) != (NUM_KEYPOINTS, 3):
            raise ValueError(f"PersonAnnotation: expected keypoints shaped (18, 3), got {np.shape(self.keypoints)}")


def draw_annotations(image: np.ndarray, people: list[PersonAnnotation], status: str = "", note: str = "") -> np.ndarray:
    """A BGR copy of `image` (BGR or grey) with each person's skeleton and label drawn, plus a status line
    at the top and a `note` at the bottom (e.g. the set-up page's address).

    The input frame is never modified; with nobody in view the copy is returned unannotated but for
    `status` (e.g. "source lost") and `note`, so the output never stalls on what the classifier says.
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    height, width = out.shape[:2]
    scale = max(0.4, height / 720)
    thick = max(1, round(2 * scale))
    for person in people:
        colour = STATE_COLOURS.get(person.state, GREY)
        kp = np.asarray(person.keypoints, dtype=np.float32)
        found = kp[:, 2] > 0
        pts = np.round(kp[:, :2] * (width, height)).astype(np.int32)
        for a, b in EDGES:
            if found[a] and found[b]:
                cv2.line(out, tuple(map(int, pts[a])), tuple(map(int, pts[b])), colour, thick, cv2.LINE_AA)
        for i in np.flatnonzero(found):
            cv2.circle(out, tuple(map(int, pts[i])), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
        if found.any():
            x0, y0 = pts[found].min(axis=0)
            text = f"#{person.track_id} {person.label} {person.prob:.2f} {person.state}".replace("  ", " ")
            cv2.putText(out, text, (int(x0), max(12, int(y0) - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                        colour, thick, cv2.LINE_AA)  # fmt: skip
    if status:
        cv2.putText(out, status, (8, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 255), thick,
                    cv2.LINE_AA)  # fmt: skip
    if note:
        corner = (8, height - int(10 * scale))
        for colour, weight in (((0, 0, 0), thick + 2), ((255, 255, 255), thick)):  # white, outlined: any background
            cv2.putText(out, note, corner, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, colour, weight, cv2.LINE_AA)
    return out
