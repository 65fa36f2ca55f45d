"""The events history: pages of the running service's events log (JSON lines), newest first.

Routine events (edge.event_kinds.ROUTINE: the heartbeat) are left out unless asked for; a page is
then PER_PAGE events shown, however many heartbeats lie between them. The log is read backwards in
blocks from its end, so the newest page costs the same on a log of years as on one of a day. A line that is not an event (a line torn by a power cut) is skipped with a warning
(edge.events.logged_event, as every reader of the log does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from edge.event_kinds import ROUTINE
from edge.events import Event, logged_event
from edge.files import BLOCK, lines_backwards

PER_PAGE = 50


def events_page(
    path: str | Path, page: int, per_page: int = PER_PAGE, routine: bool = False
) -> tuple[list[dict[str, Any]], bool]:
    """Page `page` (0 = the newest) of the events log at `path`, newest first, each event as its log
    line's JSON object; and whether older events follow. routine: include the routine kinds. A log not
    written yet is empty."""
    if page < 0:
        raise ValueError(f"page = {page}: must be 0 or more")
    try:
        shown = (e for e in _events_backwards(Path(path)) if routine or e.event not in ROUTINE)
        events = list(islice(shown, page * per_page, (page + 1) * per_page + 1))
    except FileNotFoundError:
        return [], False
    return [json.loads(event.to_json()) for event in events[:per_page]], len(events) > per_page


def _events_backwards(path: Path) -> Iterator[Event]:
    """The log's events, last first."""
    for offset, raw in lines_backwards(path):
        event = logged_event(raw, path, partial(_line_number, path, offset))
        if event is not None:
            yield event


def _line_number(path: Path, offset: int) -> int:
    """The number (1 = the first) of the line starting at byte `offset` of the file at `path`."""
    newlines = 0
    with path.open("rb") as file:
        while offset > 0 and (chunk := file.read(min(BLOCK, offset))):
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1
