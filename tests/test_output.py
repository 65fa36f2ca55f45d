"""Annotated output: every frame of a real clip reaches the file, and a failed run leaves no file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import SourceConfig
from edge.output import NullSink, OutputError, create_output
from edge.output.annotate import STATE_COLOURS, PersonAnnotation, draw_annotations
from edge.skeleton import INDEX
from edge.sources import create_source


def count_frames(path: Path) -> tuple[int, float, tuple[int, int]]:
    """Frames decoded from a video file, its fps and (width, height)."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    info = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    return n, *info


def standing_person() -> np.ndarray:
    kp = np.zeros((18, 3), np.float32)
    for name, (x, y) in {
        "nose": (0.5, 0.2), "neck": (0.5, 0.3), "left_shoulder": (0.55, 0.3), "right_shoulder": (0.45, 0.3),
        "left_hip": (0.53, 0.55), "right_hip": (0.47, 0.55), "left_knee": (0.53, 0.7), "right_knee": (0.47, 0.7),
        "left_ankle": (0.53, 0.9), "right_ankle": (0.47, 0.9),
    }.items():  # fmt: skip
        kp[INDEX[name]] = (x, y, 0.9)
    return kp


def test_every_frame_of_a_real_clip_is_written(shared_data: Path, tmp_path: Path) -> None:
    source = create_source(SourceConfig(uri=str(shared_data / "gmdcsa24" / "Subject 2/ADL/23.mp4")))
    out = tmp_path / "annotated.mp4"
    frames_in = 0
    person = PersonAnnotation(standing_person(), track_id=1, label="stand", prob=0.93, state="ok")
    with create_output(str(out), fps=source.fps or 30.0) as sink:
        while not source.finished:
            frame = source.read()
            if frame is None:
                continue
            # Annotate only some frames: the output must not depend on what the classifier says.
            people = [person] if frame.index % 3 else []
            sink.write(draw_annotations(frame.image, people))
            frames_in += 1
    assert frames_in == 109 and sink.frames_written == frames_in
    n, fps, size = count_frames(out)
    assert n == frames_in
    assert fps == pytest.approx(source.fps, abs=0.01) and size == (640, 480)
    assert not sink.tmp_path.exists()  # type: ignore[attr-defined]


def test_an_exception_leaves_no_half_written_file(tmp_path: Path) -> None:
    out = tmp_path / "crash.mp4"
    with pytest.raises(RuntimeError, match="pose crashed"), create_output(str(out), fps=15.0) as sink:
        for _ in range(5):
            sink.write(np.zeros((48, 64, 3), np.uint8))
        assert sink.tmp_path.exists() and not out.exists()  # type: ignore[attr-defined]
        raise RuntimeError("pose crashed")
    assert list(tmp_path.iterdir()) == []


def test_grey_frames_and_a_size_change_are_written_not_dropped(tmp_path: Path) -> None:
    out = tmp_path / "ir.avi"
    with create_output(str(out), fps=10.0, size=(64, 48)) as sink:
        for i in range(6):
            grey = np.full((48, 64), 40 * i, np.uint8)
            sink.write(draw_annotations(grey, [PersonAnnotation(standing_person(), 2, "lie", 0.7, "alert")]))
        sink.write(np.zeros((96, 128, 3), np.uint8))  # the camera came back at another resolution
    assert count_frames(out)[0] == 7 and count_frames(out)[2] == (64, 48)


def test_draw_annotations_draws_on_a_copy_in_the_states_colour() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    drawn = draw_annotations(image, [PersonAnnotation(standing_person(), 7, "fall", 0.81, "alert")])
    assert image.max() == 0  # the input frame is untouched
    # The torso line from neck (100, 60) to the hips' side runs through the alert colour.
    torso = drawn[70:100, 92:109].reshape(-1, 3).astype(int)
    alert = np.array(STATE_COLOURS["alert"])
    assert (np.abs(torso - alert).max(axis=1) < 60).sum() >= 10  # anti-aliased line pixels near that colour
    legs_region = drawn[150:170, 0:80]  # left of the body: nothing drawn there
    assert legs_region.max() == 0
    assert np.array_equal(draw_annotations(image, []), image)
    grey = draw_annotations(np.zeros((20, 30), np.uint8), [])
    assert grey.shape == (20, 30, 3)


def test_person_annotation_refuses_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        PersonAnnotation(np.zeros((17, 3)), 1)


def test_no_output_counts_frames() -> None:
    sink = create_output("", fps=30.0)
    assert isinstance(sink, NullSink)
    for _ in range(3):
        sink.write(np.zeros((4, 4, 3), np.uint8))
    sink.close()
    assert sink.frames_written == 3


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/tmp/out.gif", "unknown video suffix"),
        ("/no/such/folder/out.mp4", "does not exist"),
        ("ftp://host/x", "unknown output scheme"),
        ("display://0", "needs jetson-utils"),
        ("rtsp://@:8554/live", "needs jetson-utils"),
    ],
)
def test_bad_or_unavailable_output_is_one_line_error_naming_it(uri: str, message: str) -> None:
    with pytest.raises(OutputError, match=message) as info:
        create_output(uri, fps=30.0)
    assert uri.split("://")[-1].split("/")[0] in str(info.value) and "\n" not in str(info.value)


def test_window_without_a_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(OutputError, match=r"no display.*--headless"):
        create_output("window", fps=30.0)
