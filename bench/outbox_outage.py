"""How long queued alerts wait after a network outage ends (real clock, real SQLite, real HTTP).

For each notify.backoff_max_s given, side by side in one run: a json:// channel points at a closed
port on 127.0.0.1 (connection refused, as with the network down), `--alerts` alerts are queued
through Notifier (committed to the outbox), the port stays closed for `--outage-s`, then a
receiver opens on it. Reported per setting: the time to commit each alert (fsync'd SQLite), the
retries made during the outage, the wait from the port reopening to the first and to the last
delivery, and repeats seen by the receiver (must be 0).

    .venv/bin/python bench/outbox_outage.py --outage-s 600 --backoff-max-s 30 300
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edge.alerts.channels import WebhookChannel
from edge.alerts.notify import Notifier
from edge.config import NotifyConfig
from edge.events import Event


class Receiver(ThreadingHTTPServer):
    """Counts deliveries by Idempotency-Key with their arrival times (monotonic)."""

    def __init__(self, port: int) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrivals.append((time.monotonic(), self.headers.get("Idempotency-Key", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_one(backoff_max_s: float, args: argparse.Namespace, folder: Path, results: dict) -> None:
    port = _free_port()
    cfg = NotifyConfig(outbox=str(folder / f"outbox-{backoff_max_s:g}.sqlite"), backoff_s=args.backoff_s,
                       backoff_max_s=backoff_max_s)  # fmt: skip
    notifier = Notifier("Bench room", cfg, [[WebhookChannel(f"json://127.0.0.1:{port}/", cfg.timeout_s)]])
    notifier.start()
    events = [Event("fall_alert", float(i), i) for i in range(args.alerts)]
    start = time.perf_counter()
    for event in events:
        notifier.alert(event)
    commit_ms = (time.perf_counter() - start) * 1000 / len(events)
    time.sleep(args.outage_s)
    retries = notifier.outbox._db().execute("SELECT SUM(attempts) FROM deliveries").fetchone()[0] or 0
    receiver = Receiver(port)
    reopened = time.monotonic()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    while notifier.outbox.counts()["delivered"] < len(events):
        time.sleep(0.05)
    notifier.stop()
    receiver.shutdown()
    receiver.server_close()
    keys = [key for _, key in receiver.arrivals]
    results[backoff_max_s] = {
        "backoff_max_s": backoff_max_s,
        "commit_ms_per_alert": round(commit_ms, 2),
        "retries_during_outage": retries,
        "first_delivery_after_reopen_s": round(receiver.arrivals[0][0] - reopened, 2),
        "all_delivered_after_reopen_s": round(receiver.arrivals[-1][0] - reopened, 2),
        "delivered": len(set(keys)),
        "repeats": len(keys) - len(set(keys)),
        "in_order": keys == [e.id for e in events],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-s", type=float, default=600.0, help="seconds the port stays closed (default 600)")
    parser.add_argument("--alerts", type=int, default=100, help="alerts queued during the outage (default 100)")
    parser.add_argument("--backoff-s", type=float, default=2.0, help="notify.backoff_s (default 2)")
    parser.add_argument("--backoff-max-s", type=float, nargs="+", default=[30.0, 300.0], help="settings to compare")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the retries' warnings would drown the table
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as folder:
        threads = [
            threading.Thread(target=run_one, args=(value, args, Path(folder), results)) for value in args.backoff_max_s
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(f"outage {args.outage_s:g} s, {args.alerts} alerts, backoff_s {args.backoff_s:g}")
    header = list(next(iter(results.values())))
    print(" | ".join(header))
    for value in args.backoff_max_s:
        print(" | ".join(str(results[value][key]) for key in header))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": list(results.values())}, indent=2))


if __name__ == "__main__":
    main()
