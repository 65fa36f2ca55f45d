"""`fallwatch config-example`: print install/config.example.toml, generated from edge/config.py."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Regenerate the shipped example: fallwatch config-example > install/config.example.toml"


def main(args: argparse.Namespace) -> int:
    from edge.config import example_toml

    sys.stdout.write(example_toml())
    return 0
