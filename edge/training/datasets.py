"""Dataset adapters: every source in ../shared/data as labelled clips of canonical skeletons.

Usage::

    fallwatch dataset build --data ../shared/data --out cache/dataset.npz     # all sources
    fallwatch dataset build --sources urfd_alphapose,md4fd_urfd,movenet_gru    # no pose needed

    from edge.training.datasets import SOURCES, load_clips
    from edge.training.dataset_build import load_dataset
    loaded = load_clips(Path("../shared/data"), ["urfd_alphapose"])   # .clips, .skipped
    data = load_dataset("cache/dataset.npz")  # .keypoints [W,T,18,3], .features [W,T,F], .allowed [W,5], ...

A source yields `Clip`s (edge/training/clips.py: times, keypoints (N, 18, 3), aspect, per-frame
allowed-class masks (N, 5), kind, split subject) and `Skipped`s (one line naming the bad file; the
build goes on). Keypoint sources read files (sources/keypoints.py, sources/openpose.py); video sources decode every frame
and run the project's own pose estimator, cached on disk by file content (sources/videos.py,
pose_cache.py). Label decisions per source are in each adapter module's docstring.
`dataset_build.py` cuts windows (edge.windows.clip_windows) and writes the one training file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.training.clips import Clip, DatasetError
from edge.training.skipped import Skipped
from edge.training.sources import keypoints, openpose, videos

# Video sources get the pose stage (edge.training.pose_cache.VideoPose); keypoint sources ignore it.
Loader = Callable[[Path, Any], Iterator["Clip | Skipped"]]


@dataclass(frozen=True)
class Source:
    """A named source: its loader, whether it needs the pose estimator (videos), and the window stride
    its clips get at least (None: the build's stride)."""

    name: str
    load: Loader
    needs_pose: bool
    min_stride_s: float | None = None


# HQFSD's 15 recordings run about 4 minutes each: one window a second (not five) keeps them from
# outnumbering every other source's windows together. UP-Fall is one subject in 66 clips (5,930 windows at
# 0.2 s): two windows a second keep one person from outweighing all the others.
LONG_RECORDING_STRIDE_S = 1.0
ONE_SUBJECT_STRIDE_S = 0.5


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("urfd_alphapose", lambda root, pose: keypoints.load_urfd_alphapose(root), False),
        Source("md4fd_urfd", lambda root, pose: keypoints.load_md4fd_urfd(root), False),
        Source("movenet_gru", lambda root, pose: keypoints.load_movenet_gru(root), False),
        Source("kingston_openpose", lambda root, pose: openpose.load_kingston_openpose(root), False),
        Source("hqfsd_openpose", lambda root, pose: openpose.load_hqfsd_openpose(root), False, LONG_RECORDING_STRIDE_S),
        Source("gmdcsa24", videos.load_gmdcsa24, True),
        Source("urfd_video", videos.load_urfd_video, True),
        Source("le2i", videos.load_le2i, True),
        Source("upfall", videos.load_upfall, True, ONE_SUBJECT_STRIDE_S),
        Source("phone_falls", videos.load_phone_falls, True),
    )
}


@dataclass
class Loaded:
    """What `load_clips` found: the clips and what it skipped."""

    clips: list[Clip] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def check_sources(names: list[str]) -> list[str]:
    """Validate source names; raises DatasetError naming the unknown one and the known ones."""
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise DatasetError(f"unknown source(s) {unknown}; known: {sorted(SOURCES)}")
    return names


def iter_source(name: str, root: Path, pose: Any = None) -> Iterator[Clip | Skipped]:
    """One source's clips and skips, in a stable order; a video source without `pose` raises DatasetError."""
    source = SOURCES[check_sources([name])[0]]
    if source.needs_pose and pose is None:
        raise DatasetError(f"{name}: a video source needs a pose estimator (VideoPose)")
    yield from source.load(root, pose)


def load_clips(root: Path, names: list[str], pose: Any = None) -> Loaded:
    """Every clip of the named sources under the data root `root`."""
    loaded = Loaded()
    for name in check_sources(names):
        for item in iter_source(name, root, pose):
            (loaded.clips if isinstance(item, Clip) else loaded.skipped).append(item)
    return loaded
