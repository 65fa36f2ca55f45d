"""The `fallwatch` command. Each subcommand lives in edge/commands/<name>.py with two functions:
`add_arguments(parser)` and `main(args) -> int` (the exit status). Heavy imports stay inside main().
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from edge import __version__

# name -> (module, one-line help). A static map: nothing is probed at import time.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("edge.commands.demo", "run MediaPipe and the whole pipeline on the shipped fall video"),
    "run": ("edge.commands.run", "run the detector on a camera, stream or file until it ends or a signal"),
    "dataset": ("edge.commands.dataset", "build the training file from the shared data (dataset build)"),
    "train": ("edge.commands.train", "train a classifier preset on the dataset file and evaluate it"),
    "evaluate": ("edge.commands.evaluate", "evaluate a trained model on held-back clips (falls caught, false alarms)"),
    "export": ("edge.commands.export", "Keras model -> ONNX (native GRU), FP16 ONNX, TensorRT engine"),
    "pose": (
        "edge.commands.pose",
        "trt_pose's network: `pose export WEIGHTS.pth` writes it as ONNX (torch on the CPU)",
    ),
    "doctor": ("edge.commands.doctor", "health checks (JetPack, engines, camera, GPIO, channels) with fixes"),
    "notify-test": ("edge.commands.notify_test", "send a test message through every configured notification channel"),
    "outbox": ("edge.commands.outbox", "list, retry now or drop the alerts waiting in the outbox"),
    "web-password": ("edge.commands.web_password", "hash a password for the set-up page (web.password_hash)"),
    "config-example": ("edge.commands.config_example", "print the example config, every key with its doc and default"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fallwatch", description="Fall detection with pose, a GRU and local alarms.")
    parser.add_argument("--version", action="version", version=f"fallwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from edge.config import ConfigError  # after --help: the config's declarations take a while to import

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(importlib.import_module(args._module).main(args))
    except (ConfigError, FileNotFoundError, ImportError) as exc:  # ImportError: an extra is not installed
        print(f"fallwatch {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
