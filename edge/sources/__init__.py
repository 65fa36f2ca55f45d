"""Frame sources: OpenCV (files, /dev/videoN, RTSP, HTTP) and jetson-utils videoSource (csi://, v4l2://).

    source = create_source(cfg.source)        # a ResilientSource; SourceError for a bad file or URI
    while not source.finished:
        frame = source.read()                 # Frame | None (None: timeout or a live source down)
        for status in source.pop_status():    # SourceStatus(kind="source_lost"|"source_restored", video_time)
            ...
    source.close()

URIs follow jetson-inference: a file path (or file://path), /dev/videoN or an index "0", rtsp://,
http:// (MJPEG), csi://0 and v4l2:///dev/videoN; and a keypoint trace (.npz, edge/pose/recorded.py),
replayed as blank frames at its times. backend "auto" picks jetson-utils for csi:// and v4l2:// and OpenCV for everything else;
"opencv" or "jetson" forces one (a .npz trace is always replayed).
"""

from __future__ import annotations

import importlib
from functools import partial
from pathlib import Path

from edge.config import SourceConfig
from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.resilient import ResilientSource, SourceStatus

__all__ = ["Frame", "FrameSource", "ResilientSource", "SourceError", "SourceStatus", "create_source", "is_live"]

# backend -> (module, class); imported on selection only.
BACKENDS: dict[str, tuple[str, str]] = {
    "opencv": ("edge.sources.opencv", "OpenCVSource"),
    "jetson": ("edge.sources.jetson", "JetsonSource"),
    "replay": ("edge.sources.replay", "TraceReplaySource"),
}
LIVE_SCHEMES = ("rtsp", "rtsps", "rtp", "rtpmp2ts", "udp", "http", "https", "webrtc", "csi", "v4l2")
JETSON_ONLY_SCHEMES = ("csi", "webrtc", "rtp", "rtpmp2ts")


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def is_live(uri: str) -> bool:
    """True for cameras and streams, False for files (a path or file://)."""
    return uri.isdigit() or uri.startswith("/dev/") or _scheme(uri) in LIVE_SCHEMES


def choose_backend(uri: str, backend: str) -> str:
    """The backend for a URI: "replay" for a .npz trace; the configured one; or for "auto" jetson for
    csi:// and v4l2://, else opencv.

    Raises SourceError when the URI has an unknown scheme or needs jetson-utils but opencv is forced.
    """
    scheme = _scheme(uri)
    if scheme and scheme != "file" and scheme not in LIVE_SCHEMES:
        raise SourceError(
            f"{uri}: unknown source scheme {scheme}://; expected a file, /dev/videoN, rtsp://, csi://0 ..."
        )
    if scheme in ("", "file") and uri.lower().endswith(".npz"):
        return "replay"
    if backend == "auto":
        return "jetson" if scheme in ("csi", "v4l2", *JETSON_ONLY_SCHEMES) else "opencv"
    if backend == "opencv" and scheme in JETSON_ONLY_SCHEMES:
        raise SourceError(f'{uri}: {scheme}:// needs source.backend = "jetson" (jetson-utils)')
    return backend


def check_file(path: Path) -> None:
    """Raise SourceError saying what `path` is when it is not a regular file (missing, a folder, a FIFO...)."""
    if path.is_file():
        return
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a video file or keypoint trace")
    if path.exists():
        raise SourceError(f"{path}: is not a regular file (a FIFO, socket or device); give a video file")
    raise SourceError(f"{path}: no such file")


def create_source(cfg: SourceConfig) -> ResilientSource:
    """Open the configured source, wrapped so that live sources are reopened and report lost/restored.

    A file that is missing or corrupt raises SourceError naming it at once; a live source that
    cannot open yet is retried with backoff (and reported lost after `cfg.lost_after_s`).
    """
    uri = cfg.uri.strip()
    backend = choose_backend(uri, cfg.backend)
    live = is_live(uri)
    if not live and backend != "jetson":
        check_file(Path(uri.removeprefix("file://")))
    module, name = BACKENDS[backend]
    cls = getattr(importlib.import_module(module), name)
    return ResilientSource(
        partial(cls, uri, live, cfg.width, cfg.height),
        live=live,
        lost_after_s=cfg.lost_after_s,
        backoff_s=cfg.reopen_backoff_s,
        backoff_max_s=cfg.reopen_backoff_max_s,
    )
