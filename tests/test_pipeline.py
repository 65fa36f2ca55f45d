"""The whole pipeline: a live source that dies and comes back, signals, corrupt files, the demo, real clips."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from edge.classifier.base import Classifier, ClassifierBackend
from edge.cli import main as cli_main
from edge.config import Config, PoseConfig, load_config
from edge.events import read_events
from edge.output.base import NullSink
from edge.pipeline import Pipeline
from edge.pose.recorded import RecordedPose, Trace, record_trace
from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.resilient import ResilientSource

REPO = Path(__file__).resolve().parents[1]


class NobodyClassifier(ClassifierBackend):
    """With nobody in view no window is ever full, so the pipeline must never call the classifier."""

    name = "must-not-run"

    def run(self, windows: np.ndarray) -> np.ndarray:
        raise AssertionError(f"classifier called with {windows.shape} although nobody is in view")


def nobody_pose(tmp_path: Path) -> RecordedPose:
    """The recorded pose backend on a trace where nobody is ever found."""
    path = record_trace(tmp_path / "nobody.npz", Trace(np.array([0.0]), np.zeros((1, 1, 18, 3)), (64, 48)))
    return RecordedPose(PoseConfig(type="recorded", recorded_path=str(path)))


def nobody_classifier(cfg: Config) -> Classifier:
    return Classifier(NobodyClassifier(), cfg.features.window_frames, cfg.features.num_features)


class FakeClock:
    """Simulated monotonic time for the resilient source (no real waiting in tests)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


class UnpluggableCamera(FrameSource):
    """The hardware boundary: a camera delivering grey frames while world["plugged"], else broken."""

    def __init__(self, world: dict[str, object], clock: FakeClock) -> None:
        if not world["plugged"]:
            raise SourceError("/dev/video9: cannot open the source")
        self.world, self.clock, self._broken = world, clock, False

    def read(self) -> Frame | None:
        self.clock.now += 1 / 15
        if not self.world["plugged"]:
            self._broken = True
            return None
        return Frame(np.full((48, 64), 30, np.uint8), 0.0, 0)

    @property
    def finished(self) -> bool:
        return self._broken

    def close(self) -> None:
        """Nothing to release."""


def test_source_that_dies_mid_stream_and_comes_back(tmp_path: Path) -> None:
    cfg = load_config(None, ["source.lost_after_s=2", "events.heartbeat_s=0"])
    clock = FakeClock()
    world: dict[str, object] = {"plugged": True}
    source = ResilientSource(
        lambda: UnpluggableCamera(world, clock),
        live=True,
        lost_after_s=2.0,
        backoff_s=0.5,
        clock=clock,
        sleep=clock.sleep,
    )
    log = tmp_path / "events.jsonl"
    sink = NullSink()
    pipeline = Pipeline(
        cfg,
        source=source,
        pose=nobody_pose(tmp_path),
        classifier=nobody_classifier(cfg),
        sink=sink,
        events_path=str(log),
    )
    pipeline.start()
    try:
        for _ in range(30):  # 2 s of frames
            assert pipeline.step()
        world["plugged"] = False  # the cable is pulled
        while clock.now < 100 + 2 + 5:
            assert pipeline.step()  # no crash, the loop keeps going while the camera is away
        world["plugged"] = True
        for _ in range(30):
            assert pipeline.step()
    finally:
        pipeline.stop()
    assert [e.event for e in pipeline.events] == ["source_lost", "source_restored"]
    lost, restored = pipeline.events
    assert lost.video_time == pytest.approx(2.0 + 2.0, abs=0.2)  # lost_after_s after the last frame
    assert restored.video_time > lost.video_time
    logged = [(e.event, e.id, e.video_time) for e in read_events(log)]
    assert logged == [(e.event, e.id, round(e.video_time, 3)) for e in pipeline.events]
    assert pipeline.summary.frames_in == sink.frames_written == pipeline.summary.frames_out > 30


def test_sigterm_stops_a_live_run_cleanly(tmp_path: Path) -> None:
    cfg = load_config(None, ["events.heartbeat_s=0"])
    clock = FakeClock()
    world: dict[str, object] = {"plugged": True}

    class SelfStoppingCamera(UnpluggableCamera):
        frames = 0

        def read(self) -> Frame | None:
            SelfStoppingCamera.frames += 1
            if SelfStoppingCamera.frames == 20:
                os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends on `systemctl stop`
            return super().read()

    source = ResilientSource(lambda: SelfStoppingCamera(world, clock), live=True, clock=clock, sleep=clock.sleep)
    previous = signal.getsignal(signal.SIGTERM)
    pipeline = Pipeline(
        cfg,
        source=source,
        pose=nobody_pose(tmp_path),
        classifier=nobody_classifier(cfg),
        sink=NullSink(),
        events_path="",
    )
    summary = pipeline.run()
    assert summary.frames_in == summary.frames_out == 20
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers restored by stop()


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_run_on_a_corrupt_file_is_a_one_line_error(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(content)
    status = cli_main(
        ["run", "--source", str(bad), "--events", str(tmp_path / "e.jsonl"), "--set", "pose.type='recorded'"]
    )
    err = capsys.readouterr().err.strip()
    assert status != 0
    assert "\n" not in err and "broken.mp4" in err, err
