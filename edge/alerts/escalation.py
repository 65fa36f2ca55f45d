"""Escalation: an alert goes to contacts in tiers, again and again, until someone acknowledges it.

Each alarm (fall_alert, long_lie) opens an episode, stored in the outbox's SQLite file beside the
deliveries, in the same transaction as the messages it queues, so a restart resumes the schedule
and never sends anything twice:

    episodes(alert, track, started, state, tiers, repeats, token)  state: open | acknowledged | closed
    episode_channels(alert, channel)                                 every channel the episode reached

Schedule, from the wall-clock time `started` of the alert: tier 1 at once; tier n when
`after_s` of that tier has passed; every `repeat_s` a reminder to every tier reached before it
(0 = none). Missed steps after a downtime are sent once, not in a burst. `acknowledged` stops the
schedule; `recovered` or `cancelled` closes the episode. Either way every channel the episode
reached is told (the message is queued once per channel, keyed by the event id).
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.alerts.channels import Message
from edge.alerts.outbox import Outbox
from edge.events import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    alert TEXT PRIMARY KEY, track INTEGER, started REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'closed')),
    tiers INTEGER NOT NULL, repeats INTEGER NOT NULL DEFAULT 0, token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episode_channels (
    alert TEXT NOT NULL, channel TEXT NOT NULL, PRIMARY KEY (alert, channel));
"""


@dataclass(frozen=True)
class Tier:
    """Contacts added `after_s` seconds after the alert (tier 1: 0). channels: outbox channel keys."""

    channels: tuple[str, ...]
    after_s: float


@dataclass(frozen=True)
class Episode:
    """One open alert as stored: its alert event id, track, wall-clock start, tiers reached, reminders
    sent and the secret token of its acknowledge link."""

    alert: str
    track: int | None
    started: float
    tiers: int
    repeats: int
    token: str


# A message for an escalation step: (the escalated event, the episode) -> what to send.
Compose = Callable[[Event, Episode], Message]


class Escalation:
    """The escalation schedule of one room, in `outbox`'s database. tiers: tier 1 first (after_s 0),
    in order of after_s. repeat_s: seconds between reminders (0 = none). clock: wall-clock seconds."""

    def __init__(
        self, outbox: Outbox, tiers: Sequence[Tier], repeat_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        if not tiers or tiers[0].after_s != 0:
            raise ValueError("escalation: tier 1 (after 0 s) is required")
        self.outbox = outbox
        self.tiers = list(tiers)
        self.repeat_s = repeat_s
        self.clock = clock
        with outbox.transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def open(self, alert: Event, make: Callable[[str], Message]) -> str:
        """Start an episode for `alert` and queue make(token) for tier 1 (token: the secret of its
        acknowledge link); returns the token. The same alert twice is one episode."""
        with self.outbox.transaction() as db:
            row = db.execute("SELECT token FROM episodes WHERE alert = ?", (alert.id,)).fetchone()
            if row is not None:
                return str(row[0])
            token = secrets.token_urlsafe(16)
            db.execute(
                "INSERT INTO episodes(alert, track, started, state, tiers, token) VALUES (?, ?, ?, 'open', 1, ?)",
                (alert.id, alert.track_id, self.clock(), token),
            )
            self._send(db, alert.id, make(token), self.tiers[0].channels)
        return token

    def due(self, video_time: float, compose: Compose) -> list[Event]:
        """Queue every escalation step that is due now; one `escalated` event per message queued."""
        now = self.clock()
        events = []
        for episode in self.open_episodes():
            elapsed = now - episode.started
            reached = sum(1 for tier in self.tiers if tier.after_s <= elapsed)
            repeats = math.floor(elapsed / self.repeat_s) if self.repeat_s > 0 else 0
            if reached <= episode.tiers and repeats <= episode.repeats:
                continue  # nothing due: no write lock on the outbox
            with self.outbox.transaction() as db:
                state = db.execute("SELECT state FROM episodes WHERE alert = ?", (episode.alert,)).fetchone()
                if state is None or state[0] != "open":
                    continue  # acknowledged or closed meanwhile
                earlier = [c for tier in self.tiers[: episode.tiers] for c in tier.channels]
                if reached > episode.tiers:
                    event = Event("escalated", video_time, episode.track, id=f"{episode.alert}-tier{reached}")
                    new = [c for tier in self.tiers[episode.tiers : reached] for c in tier.channels]
                    self._send(db, episode.alert, compose(event, episode), new)
                    db.execute("UPDATE episodes SET tiers = ? WHERE alert = ?", (reached, episode.alert))
                    events.append(event)
                if repeats > episode.repeats:
                    event = Event("escalated", video_time, episode.track, id=f"{episode.alert}-repeat{repeats}")
                    self._send(db, episode.alert, compose(event, episode), earlier)
                    db.execute("UPDATE episodes SET repeats = ? WHERE alert = ?", (repeats, episode.alert))
                    events.append(event)
        return events

    def close(self, end: Event, message: Message) -> list[str]:
        """End the episodes `end` ends and queue `message` to every channel they reached.

        acknowledged: open episodes stop escalating (state acknowledged). recovered, cancelled: open or
        acknowledged episodes close. Episodes of end.track_id, or all when it is None. Returns the
        channels told ([] when no episode matched: nobody was alerted, nobody is told)."""
        acknowledging = end.event == "acknowledged"
        states = ("open",) if acknowledging else ("open", "acknowledged")
        with self.outbox.transaction() as db:
            marks = ",".join("?" * len(states))
            rows = db.execute(f"SELECT alert, track FROM episodes WHERE state IN ({marks})", states).fetchall()
            alerts = [alert for alert, track in rows if end.track_id is None or track == end.track_id]
            if not alerts:
                return []
            channels = sorted({
                channel
                for alert in alerts
                for (channel,) in db.execute("SELECT channel FROM episode_channels WHERE alert = ?", (alert,))
            })  # fmt: skip
            db.executemany(
                "UPDATE episodes SET state = ? WHERE alert = ?",
                [("acknowledged" if acknowledging else "closed", alert) for alert in alerts],
            )
            self.outbox.add_deliveries(db, message, channels)
        return channels

    def open_episodes(self) -> list[Episode]:
        """Episodes still escalating, oldest first."""
        rows = (
            self._db()
            .execute(
                "SELECT alert, track, started, tiers, repeats, token FROM episodes WHERE state = 'open' ORDER BY started"
            )
            .fetchall()
        )
        return [Episode(*row) for row in rows]

    def active_tracks(self) -> list[int | None]:
        """Tracks of episodes not closed yet (open or acknowledged): the person may still be down."""
        rows = self._db().execute("SELECT DISTINCT track FROM episodes WHERE state != 'closed'").fetchall()
        return [row[0] for row in rows]

    def is_token(self, token: str) -> bool:
        """True when `token` belongs to an episode still escalating (an acknowledge link's secret)."""
        rows = self._db().execute("SELECT token FROM episodes WHERE state = 'open'").fetchall()
        return any(secrets.compare_digest(token, str(row[0])) for row in rows)

    def _db(self) -> sqlite3.Connection:
        return self.outbox.connection()

    def _send(self, db: sqlite3.Connection, alert: str, message: Message, channels: Sequence[str]) -> None:
        self.outbox.add_deliveries(db, message, channels)
        db.executemany(
            "INSERT OR IGNORE INTO episode_channels(alert, channel) VALUES (?, ?)", [(alert, c) for c in channels]
        )
