"""A durable outbox: alerts are written to SQLite before any send, then delivered once per channel.

Tables (WAL journal, synchronous=FULL, so a committed row survives a crash or power loss):
- messages(key, created, kind, title, body, image, image_name): one row per alert; `key` is the
  event id, so enqueueing the same event twice is a no-op.
- deliveries(key, channel, state, attempts, detail, reported): one row per (alert, channel),
  state "pending" -> "delivered" | "failed" (a permanent 4xx); committed right after each send.
- channels(channel, failures, next_try): per-channel backoff, kept across restarts, so a
  Retry-After is still honoured after a reboot.

An `OutboxWorker` thread sends to its channels (the Notifier runs one per channel, so a slow
channel does not hold back the others). For each channel it delivers the oldest pending alert first; a transient failure (network down, 5xx, 429) holds back that channel's whole queue until
`next_try` = now + Retry-After when the server sent one, else backoff_s * 2^(failures-1) capped at
backoff_max_s, times a jitter in [0.5, 1]. So 100 alerts queued in an outage are not hammered one
by one: the first probes, and when it gets through the rest follow at once.

Delivery is at-least-once on the wire and exactly-once in the outbox: a process killed after the
server accepted a message but before the commit (a window of one SQLite write) sends it again on
restart. Webhook receivers can drop such a repeat by its Idempotency-Key header (the event id).
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.alerts.channels import Channel, Message, SendResult

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
    body TEXT NOT NULL, image BLOB, image_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL REFERENCES messages(key), channel TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '',
    reported INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key, channel));
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(channel, state);
"""


@dataclass(frozen=True)
class Delivery:
    """One (alert, channel) row as `fallwatch outbox` lists it; created is wall-clock seconds."""

    key: str
    channel: str
    kind: str
    title: str
    created: float
    state: str
    attempts: int
    detail: str


@dataclass(frozen=True)
class Failure:
    """A delivery that failed for good (a permanent 4xx): which alert, which channel, why."""

    key: str
    channel: str
    detail: str


class Outbox:
    """The SQLite outbox at `path` (created with its folder if missing).

    Each thread gets its own connection. Raises sqlite3.Error when the file is not a database.
    `clock` gives wall-clock seconds (next_try survives restarts, so it cannot be monotonic).
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._local = threading.local()
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; write through `transaction()`)."""
        return self._db()

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def enqueue(self, message: Message, channels: Sequence[str]) -> bool:
        """Store `message` for each channel key in one transaction; False if its key was already stored."""
        db = self._db()
        with _transaction(db):
            if db.execute("SELECT 1 FROM messages WHERE key = ?", (message.key,)).fetchone():
                return False
            self.add_deliveries(db, message, channels)
        return True

    def next_due(self, channels: Sequence[str]) -> tuple[Message, str] | float | None:
        """The oldest pending (message, channel) whose channel may send now; else the time the
        earliest one may (a float), or None when nothing is pending for these channels."""
        if not channels:
            return None
        db = self._db()
        marks = ",".join("?" * len(channels))
        pending = f"""FROM deliveries d JOIN messages m ON m.key = d.key
            LEFT JOIN channels c ON c.channel = d.channel
            WHERE d.state = 'pending' AND d.channel IN ({marks})"""
        now = self.clock()
        row = db.execute(
            f"SELECT d.key, d.channel {pending} AND COALESCE(c.next_try, 0) <= ? ORDER BY m.created, m.rowid LIMIT 1",
            (*channels, now),
        ).fetchone()
        if row is None:
            (earliest,) = db.execute(f"SELECT MIN(COALESCE(c.next_try, 0)) {pending}", tuple(channels)).fetchone()
            return None if earliest is None else float(earliest)
        key, channel = row
        message = db.execute(
            "SELECT key, title, body, kind, image, image_name FROM messages WHERE key = ?", (key,)
        ).fetchone()
        return Message(*message), channel

    def record(self, key: str, channel: str, result: SendResult, backoff_s: float, backoff_max_s: float) -> None:
        """Commit the outcome of one send and the channel's backoff state."""
        db = self._db()
        with _transaction(db):
            db.execute("INSERT OR IGNORE INTO channels(channel) VALUES (?)", (channel,))
            if result.ok or result.permanent:
                state = "delivered" if result.ok else "failed"
                db.execute(
                    "UPDATE deliveries SET state = ?, attempts = attempts + 1, detail = ? WHERE key = ? AND channel = ?",
                    (state, result.detail, key, channel),
                )
                db.execute("UPDATE channels SET failures = 0, next_try = 0 WHERE channel = ?", (channel,))
                return
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, detail = ? WHERE key = ? AND channel = ?",
                (result.detail, key, channel),
            )
            db.execute("UPDATE channels SET failures = failures + 1 WHERE channel = ?", (channel,))
            (failures,) = db.execute("SELECT failures FROM channels WHERE channel = ?", (channel,)).fetchone()
            if result.retry_after is not None:
                wait = result.retry_after
            else:
                wait = min(backoff_max_s, backoff_s * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
            db.execute("UPDATE channels SET next_try = ? WHERE channel = ?", (self.clock() + wait, channel))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on this thread's connection (for tables that live beside the outbox)."""
        with _transaction(self._db()) as db:
            yield db

    def add_deliveries(self, db: sqlite3.Connection, message: Message, channels: Sequence[str]) -> None:
        """Inside `transaction()`: store `message` (once) and a pending delivery per channel not yet given it."""
        db.execute(
            "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message.key, self.clock(), message.kind, message.title, message.body, message.image, message.image_name),
        )
        db.executemany(
            "INSERT OR IGNORE INTO deliveries(key, channel, state) VALUES (?, ?, 'pending')",
            [(message.key, channel) for channel in channels],
        )

    def adopt_orphans(self, known: Sequence[str], to: Sequence[str]) -> int:
        """Give every pending delivery whose channel is not in `known` (the configured channels) to
        the channels `to` instead.

        The old delivery is closed as failed ("channel no longer configured"), already reported, and
        each alert it carried is queued for each of `to` (never twice for one). Returns how many
        alerts were moved; nothing moves when `to` is empty."""
        if not to:
            return 0
        db = self._db()
        marks = ",".join("?" * len(known))
        orphan = f"state = 'pending' AND channel NOT IN ({marks})"
        with _transaction(db):
            keys = [key for (key,) in db.execute(f"SELECT DISTINCT key FROM deliveries WHERE {orphan}", tuple(known))]
            db.execute(
                "UPDATE deliveries SET state = 'failed', reported = 1, detail = 'channel no longer configured'"
                f" WHERE {orphan}",
                tuple(known),
            )
            db.executemany(
                "INSERT OR IGNORE INTO deliveries(key, channel, state) VALUES (?, ?, 'pending')",
                [(key, channel) for key in keys for channel in to],
            )
        return len(keys)

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        """Every delivery (or those of alert `key`), oldest alert first, for `fallwatch outbox`."""
        rows = (
            self._db()
            .execute(
                """SELECT d.key, d.channel, m.kind, m.title, m.created, d.state, d.attempts, d.detail
            FROM deliveries d JOIN messages m ON m.key = d.key WHERE ? IS NULL OR d.key = ?
            ORDER BY m.created, m.rowid, d.channel""",
                (key, key),
            )
            .fetchall()
        )
        return [Delivery(*row) for row in rows]

    def retry_now(self) -> None:
        """Clear every channel's backoff so pending deliveries go at the next try."""
        db = self._db()
        with _transaction(db):
            db.execute("UPDATE channels SET next_try = 0, failures = 0")

    def drop(self, key: str, reason: str) -> int:
        """Give up the pending deliveries of alert `key` (a key prefix of 8+ characters works), noting
        `reason`; how many were dropped. Raises ValueError when the prefix matches several alerts."""
        db = self._db()
        with _transaction(db):
            keys = [k for (k,) in db.execute(
                "SELECT DISTINCT key FROM deliveries WHERE state = 'pending' AND substr(key, 1, ?) = ?",
                (len(key), key),
            )]  # fmt: skip
            if len(keys) > 1 and key not in keys:
                raise ValueError(f"{key!r} matches {len(keys)} pending alerts; give more of the key")
            keys = [key] if key in keys else keys
            if not keys:
                return 0
            cursor = db.execute(
                "UPDATE deliveries SET state = 'failed', reported = 1, detail = ? WHERE state = 'pending' AND key = ?",
                (f"dropped by hand: {reason}", keys[0]),
            )
        return cursor.rowcount

    def drop_pending(self, prefix: str, reason: str) -> int:
        """Give up every pending delivery whose message key starts with `prefix`, noting `reason`; how
        many were dropped."""
        db = self._db()
        with _transaction(db):
            cursor = db.execute(
                "UPDATE deliveries SET state = 'failed', reported = 1, detail = ? "
                "WHERE state = 'pending' AND substr(key, 1, ?) = ?",
                (f"dropped: {reason}", len(prefix), prefix),
            )
        return cursor.rowcount

    def counts(self) -> dict[str, int]:
        """Deliveries by state, e.g. {"pending": 3, "delivered": 10, "failed": 0}."""
        rows = self._db().execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
        return {"pending": 0, "delivered": 0, "failed": 0, **dict(rows)}

    def take_failures(self) -> list[Failure]:
        """Permanent failures not reported yet; marks them reported (for the next heartbeat)."""
        db = self._db()
        with _transaction(db):
            rows = db.execute(
                "SELECT key, channel, detail FROM deliveries WHERE state = 'failed' AND reported = 0"
            ).fetchall()
            db.execute("UPDATE deliveries SET reported = 1 WHERE state = 'failed' AND reported = 0")
        return [Failure(*row) for row in rows]


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class OutboxWorker:
    """The thread that delivers the outbox to `channels`.

    backoff_s, backoff_max_s: the retry schedule (see the module docstring). `wake()` after an
    enqueue; `stop(timeout)` lets a send in progress finish (up to the channel's HTTP timeout).
    A channel that raises is logged with its traceback and retried like a network failure.
    """

    def __init__(self, outbox: Outbox, channels: Sequence[Channel], backoff_s: float, backoff_max_s: float) -> None:
        self.outbox = outbox
        self.channels = {channel.key: channel for channel in channels}
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fallwatch-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.deliver_one()
        except Exception:
            logger.exception("outbox worker stopped by an unexpected error; alerts stay queued in %s", self.outbox.path)
        finally:
            self.outbox.close()

    def deliver_one(self) -> bool:
        """Send the next due delivery; when none is due, wait for one (or a wake). True if one was sent."""
        due = self.outbox.next_due(list(self.channels))
        if not isinstance(due, tuple):
            wait = 3600.0 if due is None else max(0.0, due - self.outbox.clock())
            self._wake.wait(min(wait, 60.0))
            self._wake.clear()
            return False
        message, key = due
        channel = self.channels[key]
        try:
            result = channel.send(message)
        except Exception as exc:
            logger.exception("channel %s raised while sending alert %s", channel.name, message.key)
            result = SendResult(False, detail=type(exc).__name__)
        self.outbox.record(message.key, key, result, self.backoff_s, self.backoff_max_s)
        if result.ok:
            logger.info("alert %s (%s) delivered to %s", message.key, message.kind, channel.name)
        elif result.permanent:
            logger.error("alert %s NOT delivered to %s: %s (permanent; check the URL)", message.key, channel.name,
                         result.detail)  # fmt: skip
        else:
            logger.warning("alert %s to %s failed (%s); will retry", message.key, channel.name, result.detail)
        return True
