"""Inactivity: "nobody seen in the room for N hours between HH:MM and HH:MM" -> one push.

For the person who fell where the camera cannot see (the bathroom, the hall): if nobody has been
in view for inactivity.hours within the day's window, something may be wrong. Off by default
(hours = 0). A restart counts as a sighting (no history survives it), so the first alert can come
up to `hours` after a start. One alert per window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from edge.config import InactivityConfig


def window_start(now: float, start: str, end: str) -> float | None:
    """The start (epoch s) of the local-time window [start, end) that holds `now`, or None outside it.
    A window whose end is not after its start runs over midnight."""
    local = datetime.fromtimestamp(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)

    def at(base: datetime, hhmm: str) -> datetime:
        return base + timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[3:]))

    begin, finish = at(day, start), at(day, end)
    if finish <= begin:  # over midnight: today's window, or the one that began yesterday
        if local >= begin:
            return begin.timestamp()
        yesterday = at(day - timedelta(days=1), start)
        return yesterday.timestamp() if local < finish else None
    return begin.timestamp() if begin <= local < finish else None


class Inactivity:
    """Call `seen(now)` whenever a person is in view and `due(now)` regularly (epoch seconds);
    `due` is True once when nobody was seen for cfg.hours inside the window. started: the start time."""

    def __init__(self, cfg: InactivityConfig, started: float) -> None:
        self.cfg = cfg
        self.last_seen = started
        self._alerted: float | None = None

    def seen(self, now: float) -> None:
        self.last_seen = max(self.last_seen, now)

    def due(self, now: float) -> bool:
        if self.cfg.hours <= 0:
            return False
        begin = window_start(now, self.cfg.start, self.cfg.end)
        if begin is None or begin == self._alerted:
            return False
        if now - max(self.last_seen, begin) < self.cfg.hours * 3600:
            return False
        self._alerted = begin
        return True
