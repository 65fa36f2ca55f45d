"""`fallwatch dataset build`: every source -> windows with label sets -> one training file (.npz)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.training.pose_cache import VideoPose

DEFAULT_DATA = os.environ.get("FALLWATCH_DATA", "../shared/data")
DEFAULT_OUT = "cache/dataset.npz"
DEFAULT_POSE_CACHE = "~/.cache/fallwatch/pose"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="build the training file from the shared data")
    build.add_argument("--data", default=DEFAULT_DATA, help=f"the shared data folder (default {DEFAULT_DATA})")
    build.add_argument("--out", default=DEFAULT_OUT, help=f"the training file to write (default {DEFAULT_OUT})")
    build.add_argument("--sources", default="all", help="comma-separated source names, or 'all' (default)")
    build.add_argument("--config", default=None, help="TOML config whose [features] and [pose] sections to use")
    build.add_argument("--stride-s", type=float, default=None, help="seconds between window ends (default 0.2)")
    build.add_argument("--label-s", type=float, default=None, help="label span at a window's end (default 0.2)")
    build.add_argument(
        "--pose-cache", default=DEFAULT_POSE_CACHE, help=f"pose keypoint cache folder (default {DEFAULT_POSE_CACHE})"
    )
    build.add_argument(
        "--cached-only", action="store_true", help="skip videos not yet in the pose cache instead of running pose"
    )
    build.add_argument(
        "--jobs",
        type=int,
        default=max(1, os.cpu_count() or 1),
        help="pose worker processes for the videos not yet in the pose cache (default: the CPU count)",
    )
    build.add_argument("--no-progress", action="store_true", help="no progress bar")


def _fill_pose_cache(pose: VideoPose, root: Path, sources: list[str], args: argparse.Namespace) -> None:
    """Pose the sources' videos not yet in the cache, in args.jobs processes; the build then reads the cache."""
    from tqdm import tqdm

    from edge.training.pose_cache import fill_cache, pending
    from edge.training.sources.videos import video_files

    videos = [video for name in sources for video in video_files(root, name)]
    todo = pending(videos, pose)
    if not todo:
        return
    assert pose.cache_dir is not None
    bar = tqdm(
        total=sum(job.frames for job in todo), unit="frame", desc="pose", disable=args.no_progress, file=sys.stderr
    )
    try:
        report = fill_cache(
            todo, pose.cfg, pose.cache_dir, pose.max_rate_hz, args.jobs, on_done=lambda job, _: bar.update(job.frames)
        )
    finally:
        bar.close()
    workers = min(args.jobs, len(todo))
    print(
        f"pose: {len(todo)} of {len(videos)} videos not yet cached; posed {report.videos} ({report.frames} frames) "
        f"in {report.seconds:.0f} s with {workers} worker(s); {len(report.failed)} failed (skipped below)"
    )


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from edge.config import load_config
    from edge.training.clips import Clip, DatasetError
    from edge.training.dataset_build import DEFAULT_LABEL_S, DEFAULT_STRIDE_S, build_windows, write_dataset
    from edge.training.datasets import SOURCES, check_sources, iter_source
    from edge.training.skipped import Skipped

    if args.jobs < 1:
        print(f"fallwatch dataset build: --jobs {args.jobs}: must be at least 1", file=sys.stderr)
        return 2
    started = time.monotonic()
    cfg = load_config(args.config)
    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} not found (pass --data or set FALLWATCH_DATA)")
    try:
        names = list(SOURCES) if args.sources == "all" else check_sources(args.sources.split(","))
    except DatasetError as exc:
        print(f"fallwatch dataset build: {exc}", file=sys.stderr)
        return 2
    pose = None
    if any(SOURCES[n].needs_pose for n in names):
        from edge.training.pose_cache import VideoPose

        cache = Path(args.pose_cache).expanduser()
        pose = VideoPose(cfg.pose, cache, max_rate_hz=cfg.features.rate_hz, cached_only=args.cached_only)
        if not args.cached_only:
            _fill_pose_cache(pose, root, [n for n in names if SOURCES[n].needs_pose], args)
    stride_s = DEFAULT_STRIDE_S if args.stride_s is None else args.stride_s
    label_s = DEFAULT_LABEL_S if args.label_s is None else args.label_s
    min_strides = {n: SOURCES[n].min_stride_s for n in names if SOURCES[n].min_stride_s is not None}
    bar = tqdm(unit="clip", disable=args.no_progress, file=sys.stderr)

    def items() -> Iterator[Clip | Skipped]:
        for name in names:
            bar.set_description(name)
            yield from iter_source(name, root, pose)

    def on_item(item: Clip | Skipped) -> None:
        bar.update(1)

    try:
        report = build_windows(items(), cfg.features, stride_s, label_s, on_item, min_strides)
    except DatasetError as exc:
        print(f"fallwatch dataset build: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    for skip in report.skipped:
        print(f"fallwatch dataset build: {skip}", file=sys.stderr)
    if len(report.windows) == 0:
        print("fallwatch dataset build: no windows: nothing written", file=sys.stderr)
        return 1
    meta = {
        "stride_s": stride_s,
        "min_strides": min_strides,
        "label_s": label_s,
        "sources": names,
        "pose_config": pose.config_dict() if pose is not None else None,
        "skipped": [{"source": s.source, "item": s.item, "reason": s.reason} for s in report.skipped],
        "data": str(root.resolve()),
    }
    out = Path(args.out)
    write_dataset(out, report.windows, cfg.features, meta)
    print(report.table())
    print(f"wrote {out}: {len(report.windows)} windows from {sum(report.clips_per_source.values())} clips "
          f"in {time.monotonic() - started:.0f} s; skipped {len(report.skipped)}")  # fmt: skip
    return 0
