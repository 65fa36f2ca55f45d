"""`fallwatch demo`: the whole pipeline on a built-in example (not built yet)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the demo needs no camera and no configuration."""


def main(args: argparse.Namespace) -> int:
    print(
        "fallwatch demo: the live pipeline is not built yet, so there is nothing to demonstrate.\n"
        "What exists today: the canonical skeleton, the feature function and the dataset builder\n"
        "(`fallwatch dataset build`). See README.md for what works.",
        file=sys.stderr,
    )
    return 1
