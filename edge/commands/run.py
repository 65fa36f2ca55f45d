"""`fallwatch run`: the live pipeline on a camera, a stream or a file, until it ends or a signal."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.config import Config
    from edge.pipeline import Pipeline
    from edge.web.server import WebPage

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="a video file, /dev/videoN, rtsp://..., csi://0 (default: source.uri)")
    parser.add_argument("--config", help="the TOML config file (default: built-in defaults)")
    parser.add_argument("--headless", action="store_true", help="never open a window or display output")
    parser.add_argument("--events", help="the events log, JSON lines (default: log.events)")
    parser.add_argument("--output", help="annotated output: a file .mp4/.avi, window, display://0, rtsp://@:8554/live")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. events.confirm_s=5",
    )


def overrides(args: argparse.Namespace) -> list[str]:
    """The command line as config overrides (values quoted as TOML strings), --set last."""
    out = []
    for key, value in (("source.uri", args.source), ("output.uri", args.output), ("log.events", args.events)):
        if value is not None:
            out.append(f"{key}={_toml_string(value)}")
    return out + list(args.set)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.output import OutputError
    from edge.pipeline import build_pipeline
    from edge.pose.recorded import TraceError
    from edge.sources import SourceError

    cfg = load_config(args.config, overrides(args))
    logging.getLogger("edge").setLevel(cfg.log.level)
    if args.headless and (cfg.output.uri == "window" or cfg.output.uri.startswith(("window://", "display://"))):
        logger.info("--headless: not showing %s", cfg.output.uri)
        cfg.output.uri = ""
    if cfg.web.port and not args.config:
        print("fallwatch run: web.port needs --config FILE (the page saves the bed zones into it)", file=sys.stderr)
        return 2
    pipeline = build_pipeline(cfg)
    web: WebPage | None = None
    try:
        web = start_web(cfg, args.config, pipeline) if cfg.web.port else None  # a port in use: OSError below
        summary = pipeline.run()
    except (SourceError, OutputError, TraceError) as exc:
        print(f"fallwatch run: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the events log's folder is not writable
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"fallwatch run: {where}{exc.strerror if exc.filename and exc.strerror else exc}", file=sys.stderr)
        return 2
    finally:
        if web is not None:
            web.close()
    print(summary.format())
    if cfg.log.events:
        print(f"events log: {cfg.log.events}")
    if cfg.output.uri:
        print(f"annotated output: {cfg.output.uri}")
    problems = run_problems(cfg, getattr(pipeline.source, "problem", ""))
    for problem in problems:
        print(f"fallwatch run: {problem}", file=sys.stderr)
    return 3 if problems else 0


def start_web(cfg: Config, config_path: str, pipeline: Pipeline) -> WebPage:
    """The set-up page (edge/web) on cfg.web.host:port, serving this pipeline."""
    from edge.web.server import WebPage

    web = WebPage(cfg.web, config_path, pipeline, cfg.room)
    web.start()
    pipeline.note = f"set-up page: http://{cfg.web.host}:{web.port}/"
    print(pipeline.note)
    return web


def run_problems(cfg: Config, source_problem: str) -> list[str]:
    """What a finished run must not keep quiet about: a file that ended early, alerts not delivered."""
    from edge.alerts.notify import pending_deliveries

    problems = [source_problem] if source_problem else []
    pending = pending_deliveries(cfg.notify)
    if pending:
        problems.append(
            f"{pending} alert deliveries are still pending in {cfg.notify.outbox}; they are sent at the next"
            " start, or now with `fallwatch outbox retry` (list them with `fallwatch outbox list`)"
        )
    return problems
