"""Annotated output: draw what the pipeline sees and send every frame to a file, a window or a stream.

    from edge.output.annotate import PersonAnnotation, draw_annotations   # cv2: imported on use

    with create_output(cfg.output.uri, fps=source.fps or 30, size=None) as sink:
        for frame, people in ...:
            sink.write(draw_annotations(frame.image, people))   # every frame, whatever the classifier says
    # a clean exit renames the file into place; an exception leaves no half-written file

URIs: "" = none, a path ending .mp4/.avi/... = a file, "window" = a desktop window (cv2.imshow),
display://N, rtsp://@:PORT/PATH, webrtc://... = jetson-utils videoOutput (Jetson only).
"""

from __future__ import annotations

import importlib

from edge.output.base import FrameSink, NullSink, OutputError

__all__ = ["FrameSink", "NullSink", "OutputError", "create_output"]

JETSON_SCHEMES = ("display", "rtsp", "rtp", "webrtc", "rtmp")


def create_output(uri: str, fps: float, size: tuple[int, int] | None = None) -> FrameSink:
    """The sink for an output URI ("" -> NullSink); heavy backends are imported only when chosen.

    fps: the source's frame rate (file sinks play back at it); size: (width, height) or None for
    the first frame's. Raises OutputError naming the URI when it cannot be opened.
    """
    uri = uri.strip()
    if not uri:
        return NullSink()
    if uri == "window" or uri.startswith("window://"):
        window = importlib.import_module("edge.output.window")
        return window.WindowSink(uri.removeprefix("window://") if "://" in uri else "fallwatch")
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in JETSON_SCHEMES:
        jetson = importlib.import_module("edge.output.jetson")
        return jetson.JetsonSink(uri)
    if scheme and scheme != "file":
        raise OutputError(f"{uri}: unknown output scheme {scheme}://; expected a file, window, display://0 or rtsp://")
    video_file = importlib.import_module("edge.output.video_file")
    return video_file.VideoFileSink(uri.removeprefix("file://"), fps, size)
