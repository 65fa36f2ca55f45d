"""The one table of event kinds, the inactivity watch, and how the hub follows the table."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.alerts.inactivity import Inactivity, window_start
from edge.config import ConfigError, GpioConfig, InactivityConfig
from edge.event_kinds import EVENT_KINDS, KINDS
from edge.events import Event

REPO = Path(__file__).resolve().parents[1]


def test_every_kind_has_one_row_and_every_row_is_a_kind() -> None:
    assert list(KINDS) == list(EVENT_KINDS)
    for kind, info in KINDS.items():
        assert info.headline.format(room="Hall") and info.meaning, kind
        assert info.push in ("alarm", "escalated", "all_clear", "always", "failures", "never"), kind
    with pytest.raises(ValueError, match="unknown event kind"):
        Event("fell_over", 0.0)  # type: ignore[arg-type]


def test_no_module_lists_event_kinds_of_its_own() -> None:
    """A kind name appears as a string literal only in the table (and the state machines that raise
    it, tests and benchmarks): the six places a new kind touched before are gone."""
    allowed = {
        "edge/event_kinds.py",  # the table
        "edge/events.py",  # the fall state machine raises its kinds
        "edge/detector.py",  # the camera's kinds, and STATEFUL (the kinds that rewrite the state file)
        "edge/sources/resilient.py",  # the source raises source_lost / source_restored
        "edge/alerts/escalation.py",  # escalated, and acknowledged's own rule
        "edge/alerts/hub.py",  # acknowledged and inactivity are raised there
        "edge/alerts/mqtt.py",  # the camera problem sensor follows source_lost / source_restored
        "edge/training/evaluate.py",  # counts alerts to score a model
    }
    offenders = {}
    for path in (REPO / "edge").rglob("*.py"):
        name = str(path.relative_to(REPO))
        literals = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)}
        kinds = literals & set(EVENT_KINDS)
        if kinds and name not in allowed:
            offenders[name] = sorted(kinds)
    assert offenders == {}


def test_the_hub_does_what_the_table_says_for_the_pins() -> None:
    pins = SimulatedPins()
    hub = AlertHub(LocalAlarm(GpioConfig(), pins))
    for kind, info in KINDS.items():
        before = hub.alarm.level
        hub.handle(Event(kind, 1.0, track_id=1))
        assert hub.alarm.level == (info.alarm or before), kind
    hub.close()


def _at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").timestamp()


@pytest.mark.parametrize(
    ("now", "start", "end", "begins"),
    [
        ("2026-11-29 12:00", "07:00", "22:00", "2026-11-29 07:00"),  # inside a day window
        ("2026-11-29 23:00", "07:00", "22:00", None),  # after it
        ("2026-11-29 23:00", "22:00", "08:00", "2026-11-29 22:00"),  # over midnight, evening part
        ("2026-11-30 03:00", "22:00", "08:00", "2026-11-29 22:00"),  # over midnight, morning part
        ("2026-11-30 12:00", "22:00", "08:00", None),
    ],
)
def test_inactivity_window(now: str, start: str, end: str, begins: str | None) -> None:
    assert window_start(_at(now), start, end) == (None if begins is None else _at(begins))


def test_nobody_seen_for_hours_in_the_window_alerts_once() -> None:
    watch = Inactivity(InactivityConfig(hours=3, start="07:00", end="22:00"), started=_at("2026-11-29 06:00"))
    assert not watch.due(_at("2026-11-29 09:59"))  # the window began at 07:00: not 3 h yet
    assert watch.due(_at("2026-11-29 10:00"))
    assert not watch.due(_at("2026-11-29 15:00"))  # once per window
    watch.seen(_at("2026-11-30 08:00"))
    assert not watch.due(_at("2026-11-30 10:30"))  # seen at 08:00 the next day
    assert watch.due(_at("2026-11-30 11:00"))
    assert not Inactivity(InactivityConfig(), started=0.0).due(_at("2026-11-30 11:00"))  # off by default


def test_inactivity_times_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"inactivity\.start"):
        InactivityConfig(start="7am")
    with pytest.raises(ConfigError, match=r"inactivity\.hours"):
        InactivityConfig(hours=30)
