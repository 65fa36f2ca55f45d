"""Pipeline speed on a real 30 fps clip: fps and ms per stage, with MediaPipe pose on every frame, with
MediaPipe at the classifier's rate (pose.max_fps, the default: every other frame), with recorded
keypoints, and with trt_pose's ONNX in ONNX Runtime when one is given.

    .venv/bin/python bench/pipeline.py [--clip "Subject 1/Fall/13.mp4"] [--model models/fallwatch.onnx]
                                       [--repeat 3] [--trt-pose trt_pose.onnx]

Every run decodes the same GMDCSA24 clip with OpenCV and writes every annotated frame to an .mp4 in a
temporary folder (frames out == frames in, checked). "recorded" replays the keypoints MediaPipe found
(pose.type = "recorded") at the default pose rate, so everything after pose is the same work as in
"mediapipe". The pipeline's own cost is everything but decode and pose (features, classify,
events, output), reported as a fraction of the MediaPipe pose time. Runs alternate and the table
shows the median over `--repeat` runs of each; the events each run raised follow the table (the
pose rate must not change them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from edge.config import Config, PoseConfig, SourceConfig, load_config
from edge.pipeline import STAGES, Pipeline, Summary
from edge.pose import create_pose
from edge.pose.recorded import extract_trace, record_trace
from edge.sources import create_source

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))


def run_once(cfg: Config) -> tuple[Summary, list[str]]:
    """One run's summary and its events as "kind@seconds"."""
    pipeline = Pipeline(cfg, events_path="")
    summary = pipeline.run()
    return summary, [f"{e.event}@{e.video_time:.1f}" for e in pipeline.events]


def table(results: dict[str, list[Summary]]) -> str:
    head = " | ".join(f"{s} ms" for s in STAGES)
    rows = [f"| pose | frames posed | fps | {head} | own ms | own / MediaPipe pose |", "|" + "---|" * (len(STAGES) + 5)]
    pose_ms = statistics.median(s.ms_per_frame("pose") for s in results["mediapipe"])
    for name, runs in results.items():
        ms = {stage: statistics.median(r.ms_per_frame(stage) for r in runs) for stage in STAGES}
        own = ms["features"] + ms["classify"] + ms["events"] + ms["output"]
        fps = statistics.median(r.fps for r in runs)
        cells = " | ".join(f"{ms[s]:.2f}" for s in STAGES)
        posed = f"{runs[0].frames_posed}/{runs[0].frames_in}"
        rows.append(f"| {name} | {posed} | {fps:.1f} | {cells} | {own:.2f} | {own / pose_ms:.1%} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="Subject 1/Fall/13.mp4", help="a 30 fps GMDCSA24 clip, relative to gmdcsa24/")
    parser.add_argument("--model", default=str(REPO / "models" / "fallwatch.onnx"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--trt-pose", help="also time trt_pose with this ONNX (`fallwatch pose export`) in ONNX Runtime"
    )
    args = parser.parse_args()
    clip = DATA / "gmdcsa24" / args.clip
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.npz"
        source, pose = create_source(SourceConfig(uri=str(clip))), create_pose(PoseConfig())
        try:
            record_trace(trace, extract_trace(source, pose, meta={"source": args.clip}))
        finally:
            pose.close()
            source.close()
        common = [f'source.uri="{clip}"', f'classifier.model="{args.model}"', f'output.uri="{Path(tmp) / "out.mp4"}"']
        configs = {
            "mediapipe, every frame": load_config(None, [*common, 'pose.type="mediapipe"', "pose.max_fps=240"]),
            "mediapipe": load_config(None, [*common, 'pose.type="mediapipe"']),
            "recorded": load_config(None, [*common, 'pose.type="recorded"', f'pose.recorded_path="{trace}"']),
        }
        if args.trt_pose:
            trt = [f'pose.trt_pose_model="{args.trt_pose}"', 'pose.trt_pose_runtime="onnxruntime"']
            configs["trt_pose (ONNX Runtime)"] = load_config(None, [*common, 'pose.type="trt_pose"', *trt])
        results: dict[str, list[Summary]] = {name: [] for name in configs}
        events: dict[str, list[str]] = {}
        for _ in range(args.repeat):
            for name, cfg in configs.items():
                summary, events[name] = run_once(cfg)
                results[name].append(summary)
    frames = results["mediapipe"][0].frames_in
    assert all(r.frames_out == r.frames_in == frames for runs in results.values() for r in runs), "a frame got lost"
    print(f"GMDCSA24 {args.clip}: {frames} frames, {os.cpu_count()} CPUs, median of {args.repeat} runs each")
    print(table(results))
    for name, seen in events.items():
        print(f"events, {name}: {', '.join(seen) or 'none'}")


if __name__ == "__main__":
    main()
