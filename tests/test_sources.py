"""Frame sources on real GMDCSA24 clips, a real MJPEG stream on 127.0.0.1 that dies and comes back,
and the reopen/backoff schedule in simulated time (a scripted camera: the hardware boundary)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import ConfigError, SourceConfig
from edge.sources import Frame, FrameSource, ResilientSource, SourceError, create_source
from edge.sources.opencv import OpenCVSource
from tests.support import FakeClock

CLIPS = {  # path under gmdcsa24 -> frames (counted by decoding every frame with cv2)
    "Subject 1/Fall/13.mp4": 128,  # ~30 fps
    "Subject 2/Fall/14.mp4": 168,  # ~15 fps, irregular timestamps
    "Subject 2/ADL/23.mp4": 109,  # ~15 fps
}


def read_all(source: FrameSource) -> list[Frame]:
    frames = []
    while not source.finished:
        frame = source.read()
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_file_source_delivers_every_frame_with_the_files_time(shared_data: Path, clip: str) -> None:
    path = shared_data / "gmdcsa24" / clip
    source = create_source(SourceConfig(uri=str(path)))
    frames = read_all(source)
    assert source.read() is None and source.finished
    source.close()
    assert len(frames) == CLIPS[clip]
    assert [f.index for f in frames] == list(range(len(frames)))
    times = np.array([f.video_time for f in frames])
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    # The clip's duration by its timestamps matches its frame count at its own frame rate.
    assert times[-1] == pytest.approx((len(frames) - 1) / fps, rel=0.05)
    assert source.pop_status() == []


def test_file_uri_and_file_scheme_are_the_same(shared_data: Path) -> None:
    path = shared_data / "gmdcsa24" / "Subject 2/ADL/23.mp4"
    a = read_all(create_source(SourceConfig(uri=str(path))))
    b = read_all(create_source(SourceConfig(uri=f"file://{path}")))
    assert len(a) == len(b) and np.array_equal(a[10].image, b[10].image)


def test_missing_file_is_one_line_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError) as info:
        create_source(SourceConfig(uri=str(missing)))
    assert str(missing) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content", [b"", b"this is not a video\n" * 100, b"\x00\x00\x00\x18ftypmp42" + bytes(5000)])
def test_corrupt_file_is_one_line_error_naming_it(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(content)
    with pytest.raises(SourceError) as info:
        create_source(SourceConfig(uri=str(bad)))
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_truncated_file_delivers_what_it_has(shared_data: Path, tmp_path: Path) -> None:
    """A clip cut short ends early (finished, not lost) instead of raising mid-stream."""
    data = (shared_data / "gmdcsa24" / "Subject 2/ADL/23.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    source = create_source(SourceConfig(uri=str(cut)))
    frames = read_all(source)
    assert source.finished and 0 < len(frames) < CLIPS["Subject 2/ADL/23.mp4"]
    assert source.pop_status() == []


@pytest.mark.parametrize(
    ("uri", "backend", "message"),
    [
        ("ftp://camera/stream", "auto", "unknown source scheme"),
        ("csi://0", "opencv", 'needs source.backend = "jetson"'),
    ],
)
def test_bad_uri_is_refused_naming_it(uri: str, backend: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        create_source(SourceConfig(uri=uri, backend=backend))


@pytest.mark.parametrize(("key", "value"), [("uri", " "), ("width", -1), ("width", 640)])
def test_bad_source_config_names_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"source\.{key} = "):
        SourceConfig(**{key: value})


def test_jetson_backend_without_jetson_utils_names_what_to_install() -> None:
    """Off a Jetson, csi:// is retried (a live source) while the open error names jetson-utils."""
    from edge.sources.jetson import JetsonSource

    with pytest.raises(SourceError, match="needs jetson-utils"):
        JetsonSource("csi://0", live=True)


# --- a real MJPEG stream over HTTP on 127.0.0.1 that stops and restarts ---------------------------

JPEG = cv2.imencode(".jpg", np.full((120, 160, 3), 90, np.uint8))[1].tobytes()


class MjpegHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(JPEG)
        try:
            while not self.server.stopping:  # type: ignore[attr-defined]
                self.wfile.write(head + JPEG + b"\r\n")
                time.sleep(0.02)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        """Quiet."""


class MjpegServer:
    """An MJPEG camera on 127.0.0.1 that can be switched off and on again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), MjpegHandler)
        server.daemon_threads = True
        server.stopping = False  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def stop(self) -> None:
        assert self.server is not None
        self.server.stopping = True  # type: ignore[attr-defined]
        self.server.shutdown()
        self.server.server_close()
        self.server = None


@pytest.fixture
def mjpeg() -> Iterator[MjpegServer]:
    server = MjpegServer()
    server.start()
    yield server
    if server.server is not None:
        server.stop()


def test_live_stream_that_dies_is_lost_then_restored(mjpeg: MjpegServer) -> None:
    cfg = SourceConfig(
        uri=f"http://127.0.0.1:{mjpeg.port}/", lost_after_s=0.3, reopen_backoff_s=0.05, reopen_backoff_max_s=0.1
    )
    source = create_source(cfg)
    log: list[str] = []
    times: list[float] = []

    def pump(until: str, frames: int = 0, limit_s: float = 20.0) -> int:
        got = 0
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            frame = source.read()
            log.extend(s.kind for s in source.pop_status())
            if frame is not None:
                got += 1
                times.append(frame.video_time)
                assert frame.image.shape == (120, 160, 3)
            if (until in log if until else True) and got >= frames:
                return got
        raise AssertionError(f"no {until or 'frames'} within {limit_s} s; events so far {log}")

    pump("", frames=5)
    mjpeg.stop()
    pump("source_lost")
    assert source.lost and not source.finished
    mjpeg.start()
    got = pump("source_restored", frames=5)
    source.close()
    assert log == ["source_lost", "source_restored"]
    assert got >= 5 and not source.lost
    assert np.all(np.diff(times) > 0)  # live time keeps increasing across the reopen


def test_a_slow_loop_gets_the_newest_live_frame_not_a_stale_one(mjpeg: MjpegServer) -> None:
    """A loop slower than the camera skips frames (counted) instead of falling further behind."""
    source = OpenCVSource(f"http://127.0.0.1:{mjpeg.port}/", live=True)
    try:
        first = None
        while first is None:
            first = source.read()
        time.sleep(0.5)  # the loop is busy (pose...) while the stream keeps sending every 20 ms
        newest = source.read()
        assert newest is not None and newest.index == first.index + 1
        assert newest.video_time - first.video_time >= 0.4  # captured after the pause, not queued before it
        assert source.frames_skipped > 0
    finally:
        source.close()


# --- the reopen schedule in simulated time ---------------------------------------------------------


class ScriptedCamera(FrameSource):
    """A camera behind the FrameSource interface: delivers frames while `camera_on`, else breaks."""

    def __init__(self, world: dict[str, object], clock: FakeClock) -> None:
        if not world["plugged"]:
            world["failed_opens"].append(clock.now)  # type: ignore[union-attr]
            raise SourceError("/dev/video9: cannot open the source")
        world["opens"].append(clock.now)  # type: ignore[union-attr]
        self.world, self.clock, self._broken = world, clock, False

    def read(self) -> Frame | None:
        self.clock.now += 0.04
        if not self.world["plugged"]:
            self._broken = True
            return None
        grey = np.full((48, 64), 7, np.uint8)  # an IR camera: one channel
        return Frame(grey, 0.0, 0)

    @property
    def finished(self) -> bool:
        return self._broken

    def close(self) -> None:
        """Nothing to release."""


def test_reopen_backoff_grows_to_max_and_resets_after_frames() -> None:
    clock = FakeClock()
    world: dict[str, object] = {"plugged": True, "opens": [], "failed_opens": []}
    source = ResilientSource(
        lambda: ScriptedCamera(world, clock),
        live=True,
        lost_after_s=5.0,
        backoff_s=1.0,
        backoff_max_s=4.0,
        clock=clock,
        sleep=clock.sleep,
    )
    frames = [source.read() for _ in range(10)]
    assert all(f is not None and f.image.shape == (48, 64) for f in frames)  # grey passes through
    world["plugged"] = False
    unplugged_at = clock.now
    statuses = []
    while clock.now < unplugged_at + 20:
        assert source.read() is None
        statuses += source.pop_status()
    assert [s.kind for s in statuses] == ["source_lost"]
    assert statuses[0].video_time - (unplugged_at - 100.0) == pytest.approx(5.0, abs=0.2)
    gaps = np.diff(world["failed_opens"])  # type: ignore[arg-type]
    assert gaps[:3] == pytest.approx([2.0, 4.0, 4.0], abs=0.1)  # 1 s before the first, then doubled, capped
    world["plugged"] = True
    frame = None
    while frame is None:
        frame = source.read()
    assert [s.kind for s in source.pop_status()] == ["source_restored"]
    assert frame.index == 10 and frame.video_time > frames[-1].video_time
    assert not source.lost and source._delay == 1.0


def test_live_source_that_stalls_without_breaking_is_lost_and_reopened() -> None:
    """A stream that stays open but sends nothing (e.g. a frozen RTSP feed) is reopened and reported."""
    clock = FakeClock()
    world: dict[str, object] = {"plugged": True, "opens": [], "failed_opens": []}

    class FrozenCamera(ScriptedCamera):
        def read(self) -> Frame | None:
            self.clock.now += 1.0  # a capture timeout
            return None

    source = ResilientSource(
        lambda: FrozenCamera(world, clock), live=True, lost_after_s=3.0, backoff_s=0.5, clock=clock, sleep=clock.sleep
    )
    kinds = []
    for _ in range(12):
        assert source.read() is None
        kinds += [s.kind for s in source.pop_status()]
    assert kinds == ["source_lost"]
    assert len(world["opens"]) >= 2  # type: ignore[arg-type]


def test_a_camera_that_is_not_there_is_retried_and_reported_lost() -> None:
    """/dev/video99 does not exist: the service keeps retrying instead of crashing, and says so."""
    cfg = SourceConfig(uri="/dev/video99", lost_after_s=0.2, reopen_backoff_s=0.05, reopen_backoff_max_s=0.1)
    source = create_source(cfg)
    kinds: list[str] = []
    deadline = time.monotonic() + 10
    while "source_lost" not in kinds and time.monotonic() < deadline:
        assert source.read() is None
        kinds += [s.kind for s in source.pop_status()]
    source.close()
    assert kinds == ["source_lost"] and source.lost and not source.finished
