"""`fallwatch outbox`: show, retry or drop the alerts waiting in the outbox, without a camera.

    fallwatch outbox list [--all]                 pending and failed deliveries (--all: delivered too)
    fallwatch outbox retry [--timeout 30]         send the pending ones now; exit 1 if some remain
    fallwatch outbox drop KEY --reason "..."      give up an alert's pending deliveries, saying why

Channels show redacted (no tokens). `retry` moves alerts queued for channels no longer in the
config to tier 1 first. Stop the service before `retry` (`systemctl stop fallwatch`): otherwise it
is the service that sends them, on its own schedule.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="the TOML config file (default: built-in defaults)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="pending and failed deliveries, oldest first")
    listing.add_argument("--all", action="store_true", help="delivered ones too")
    retry = sub.add_parser("retry", help="send the pending deliveries now")
    retry.add_argument("--timeout", type=float, default=30.0, help="seconds to keep trying (default 30)")
    drop = sub.add_parser("drop", help="give up the pending deliveries of one alert")
    drop.add_argument("key", help="the alert's key as `list` shows it (its first 8+ characters will do)")
    drop.add_argument("--reason", required=True, help="why, kept with the delivery")


def main(args: argparse.Namespace) -> int:
    from edge.alerts.notify import Notifier, create_tiers
    from edge.alerts.outbox import Outbox
    from edge.config import load_config

    cfg = load_config(args.config)
    path = cfg.notify.outbox
    if args.action == "retry":
        notifier = Notifier(cfg.room, cfg.notify, create_tiers(cfg.notify))
        notifier.outbox.retry_now()
        notifier.start()
        before = notifier.outbox.counts()["pending"]
        left = notifier.stop(drain_s=max(0.0, args.timeout))
        print(f"{path}: {before - left} deliveries sent, {left} still pending")
        return 1 if left else 0
    if not Path(path).is_file():
        print(f"fallwatch outbox: {path}: no outbox yet (nothing was ever queued)", file=sys.stderr)
        return 2
    outbox = Outbox(path)
    try:
        if args.action == "drop":
            try:
                dropped = outbox.drop(args.key, args.reason)
            except ValueError as exc:
                print(f"fallwatch outbox: {exc}", file=sys.stderr)
                return 2
            if not dropped:
                print(f"fallwatch outbox: no pending alert with key {args.key!r}", file=sys.stderr)
                return 2
            print(f"dropped {dropped} pending deliveries of {args.key}: {args.reason}")
            return 0
        names = channel_names(cfg)
        rows = [d for d in outbox.deliveries() if args.all or d.state != "delivered"]
        for d in rows:
            when = datetime.fromtimestamp(d.created).strftime("%Y-%m-%d %H:%M:%S")
            channel = names.get(d.channel, f"{d.channel} (no longer configured)")
            print(f"{when}  {d.state:9s} {d.kind:15s} {d.key}  {channel}  tries {d.attempts}  {d.detail}".rstrip())
        counts = outbox.counts()
        print(f"{path}: {counts['pending']} pending, {counts['failed']} failed, {counts['delivered']} delivered")
        return 0
    finally:
        outbox.close()


def channel_names(cfg: Config) -> dict[str, str]:
    """Channel key -> redacted name for every configured channel of every tier."""
    from edge.alerts.notify import create_tiers

    return {channel.key: channel.name for tier in create_tiers(cfg.notify) for channel in tier}
