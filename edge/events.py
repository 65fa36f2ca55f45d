"""Fall events and their JSON-lines log (the per-track state machine is added with the pipeline).

Every event is one JSON object on one line:
{"event": kind, "video_time": s, "wall_time": ISO 8601, "track_id": int|null, "probs": {...}|null, "id": str}
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

EventKind = Literal[
    "fall_suspected", "fall_alert", "recovered", "cancelled", "long_lie", "source_lost", "source_restored", "heartbeat"
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    """One thing that happened. `id` is unique and is the delivery key for every alert channel."""

    event: EventKind
    video_time: float
    track_id: int | None = None
    probs: dict[str, float] | None = None
    wall_time: str = field(default_factory=_now_iso)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.event not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.event!r}; expected one of {EVENT_KINDS}")

    def to_json(self) -> str:
        """The event as one JSON line (no trailing newline)."""
        return json.dumps(
            {
                "event": self.event,
                "video_time": round(self.video_time, 3),
                "wall_time": self.wall_time,
                "track_id": self.track_id,
                "probs": None if self.probs is None else {k: round(v, 4) for k, v in self.probs.items()},
                "id": self.id,
            }
        )

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Parse one events-log line; raises ValueError naming the problem."""
        data: dict[str, Any] = json.loads(line)
        missing = {"event", "video_time", "wall_time", "track_id", "probs", "id"} - set(data)
        if missing:
            raise ValueError(f"event line lacks {sorted(missing)}: {line[:80]}")
        return cls(**data)
