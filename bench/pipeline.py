"""Pipeline speed on a real clip: fps and ms per stage, with MediaPipe pose and with recorded keypoints.

    .venv/bin/python bench/pipeline.py [--clip "Subject 2/Fall/12.mp4"] [--model models/fallwatch.onnx] [--repeat 3]

Both runs decode the same GMDCSA24 clip with OpenCV and write every annotated frame to an .mp4 in a
temporary folder; the first runs MediaPipe on each frame, the second replays the keypoints the first
one found (pose.type = "recorded"), so everything after pose is the same work. The pipeline's own
cost is everything but decode and pose (features, classify, events, output), reported as a fraction
of the MediaPipe pose time. Runs alternate (mediapipe, recorded, mediapipe, ...) and the table shows
the median over `--repeat` runs of each.
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


def run_once(cfg: Config) -> Summary:
    return Pipeline(cfg, events_path="").run()


def table(results: dict[str, list[Summary]]) -> str:
    rows = ["| pose | fps | " + " | ".join(f"{s} ms" for s in STAGES) + " | own ms | own / MediaPipe pose |"]
    rows.append("|" + "---|" * (len(STAGES) + 4))
    pose_ms = statistics.median(s.ms_per_frame("pose") for s in results["mediapipe"])
    for name, runs in results.items():
        ms = {stage: statistics.median(r.ms_per_frame(stage) for r in runs) for stage in STAGES}
        own = ms["features"] + ms["classify"] + ms["events"] + ms["output"]
        fps = statistics.median(r.fps for r in runs)
        cells = " | ".join(f"{ms[s]:.2f}" for s in STAGES)
        rows.append(f"| {name} | {fps:.1f} | {cells} | {own:.2f} | {own / pose_ms:.1%} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="Subject 2/Fall/12.mp4", help="a GMDCSA24 clip, relative to gmdcsa24/")
    parser.add_argument("--model", default=str(REPO / "models" / "fallwatch.onnx"))
    parser.add_argument("--repeat", type=int, default=3)
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
            "mediapipe": load_config(None, [*common, 'pose.type="mediapipe"']),
            "recorded": load_config(None, [*common, 'pose.type="recorded"', f'pose.recorded_path="{trace}"']),
        }
        results: dict[str, list[Summary]] = {name: [] for name in configs}
        for _ in range(args.repeat):
            for name, cfg in configs.items():
                results[name].append(run_once(cfg))
    frames = results["mediapipe"][0].frames_in
    print(f"GMDCSA24 {args.clip}: {frames} frames, {os.cpu_count()} CPUs, median of {args.repeat} runs each")
    print(table(results))


if __name__ == "__main__":
    main()
