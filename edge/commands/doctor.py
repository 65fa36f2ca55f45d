"""`fallwatch doctor`: check an installation and say what to fix (see edge/doctor.py for the checks)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIG = "/etc/fallwatch/config.toml"
CAMERA_CONFIG = "/etc/fallwatch/{}/config.toml"  # fallwatch@NAME.service's config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--config",
        help=f"the config file to check (default: {DEFAULT_CONFIG} when it exists, else the defaults)",
    )
    which.add_argument(
        "--camera", metavar="NAME", help=f"check camera NAME's instance ({CAMERA_CONFIG.format('NAME')})"
    )
    parser.add_argument("--camera-timeout", type=float, default=5.0, help="seconds to wait for a frame (default 5)")
    parser.add_argument("--net-timeout", type=float, default=3.0, help="seconds per TCP connect (default 3)")


def main(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 when any check FAILs, else 0."""
    from edge.doctor import run_checks

    if args.camera:
        config = CAMERA_CONFIG.format(args.camera)
    else:
        config = args.config or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    checks = run_checks(config, camera_timeout_s=args.camera_timeout, net_timeout_s=args.net_timeout)
    for check in checks:
        print(check.line(), flush=True)
    failed = [c.name for c in checks if c.status == "FAIL"]
    counts = {s: sum(c.status == s for c in checks) for s in ("PASS", "WARN", "FAIL", "SKIP")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"\n{summary}" + (f": fix {', '.join(failed)}" if failed else ": ready"))
    return 1 if failed else 0
