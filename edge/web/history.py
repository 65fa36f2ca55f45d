"""The events history: pages of the running service's events log (JSON lines), newest first.

The log is read backwards in blocks from its end, so a page costs the same on a log of years as on
one of a day. A line that is not an event (a line torn by a power cut) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from edge.events import Event

PER_PAGE = 50
_BLOCK = 64 * 1024


def events_page(path: str | Path, page: int, per_page: int = PER_PAGE) -> tuple[list[dict[str, Any]], bool]:
    """Page `page` (0 = the newest) of the events log at `path`, newest first, each event as its log
    line's JSON object; and whether older events follow. A log not written yet is empty."""
    if page < 0:
        raise ValueError(f"page = {page}: must be 0 or more")
    try:
        lines = list(islice(_events_backwards(Path(path)), page * per_page, (page + 1) * per_page + 1))
    except FileNotFoundError:
        return [], False
    return [json.loads(line) for line in lines[:per_page]], len(lines) > per_page


def _events_backwards(path: Path) -> Iterator[str]:
    """The log's valid event lines, last first (each re-written by Event.to_json)."""
    for raw in _lines_backwards(path):
        try:
            yield Event.from_json(raw.decode("utf-8")).to_json()
        except (ValueError, TypeError):  # a torn or foreign line (UnicodeDecodeError is a ValueError)
            continue


def _lines_backwards(path: Path) -> Iterator[bytes]:
    """The non-blank lines of the file at `path`, last first, read in _BLOCK-sized pieces from its end."""
    with path.open("rb") as file:
        position = file.seek(0, 2)
        rest = b""
        while position > 0:
            step = min(_BLOCK, position)
            position -= step
            file.seek(position)
            lines = (file.read(step) + rest).split(b"\n")
            rest = lines[0]  # may continue in the block before
            yield from (line for line in reversed(lines[1:]) if line.strip())
        if rest.strip():
            yield rest
