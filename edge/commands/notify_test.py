"""`fallwatch notify-test`: send a test message through every configured channel and say which worked."""

from __future__ import annotations

import argparse
import socket


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="the TOML config file (default: built-in defaults)")
    parser.add_argument("--message", default="", help="extra text for the test message")


def main(args: argparse.Namespace) -> int:
    """Exit 0 when every channel accepted the message, 1 when one failed or none is configured."""
    from edge.alerts.notify import notify_urls, send_message
    from edge.config import load_config

    cfg = load_config(args.config)
    urls = notify_urls(cfg.notify)
    if not urls:
        print("fallwatch notify-test: no channel configured (set notify.urls or FALLWATCH_NOTIFY_URLS)")
        return 1
    body = f"This is a test from FallWatch in {cfg.room} on {socket.gethostname()}. If you read it, alerts reach you."
    results = send_message(cfg.notify, f"FallWatch test: {cfg.room}", f"{body}\n{args.message}".strip())
    for name, ok in results.items():
        print(f"{'ok    ' if ok else 'FAILED'} {name}")
    failed = sum(not ok for ok in results.values())
    print(f"{len(results) - failed} of {len(results)} channel(s) delivered the test message.")
    return 1 if failed else 0
