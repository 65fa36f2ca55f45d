"""The one table of event kinds: per kind its severity, its headline and what each sink does.

    from edge.event_kinds import KINDS
    KINDS["fall_alert"].alarm     # "alert": buzzer + steady LED, MQTT state "alert"
    KINDS["fall_alert"].push      # "alarm": tier 1 now, then escalation until acknowledged

A new kind is one row here (and the state machine or sink that raises it); the GPIO alarm, the
voice, the push messages, MQTT and the demo read what they do from this table.

Columns:
- severity: "alarm" (someone may be hurt), "warning" (nobody is protected), "clear" (an alarm
  ended, or protection is back), "info" (routine: the page's history hides it unless asked). Push
  channels show alarm/warning as failures.
- headline, detail: what a caregiver reads; "{room}" is the room's name.
- alarm: the level this kind puts its person at for the buzzer and LED ("suspected": LED blinks;
  "alert": buzzer + LED; "idle": off); None leaves it as it is.
- state: the same for MQTT's state and Home Assistant's "Fall detected" sensor, which clears only
  when the person is up or the alarm was cancelled (acknowledged silences the room, the person is
  still down).
- voice: the prompt spoken in the room ("ask": "did you fall?", repeated; "help": help is being
  called; "stop": the prompts end); None says nothing.
- push: "alarm" (tier 1 now, later tiers and repeats until acknowledged: edge/alerts/escalation.py),
  "escalated" (queued by the escalation itself), "all_clear" (to every contact the episode
  reached), "always" (tier 1), "failures" (the heartbeat reports failed deliveries), "never".
- meaning: what happens, in words (`fallwatch demo` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

EventKind = Literal[
    "fall_suspected",
    "fall_alert",
    "long_lie",
    "escalated",
    "acknowledged",
    "recovered",
    "cancelled",
    "source_lost",
    "source_restored",
    "inactivity",
    "heartbeat",
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

Severity = Literal["alarm", "warning", "clear", "info"]
Level = Literal["idle", "suspected", "alert"]
Prompt = Literal["ask", "help", "stop"]
Push = Literal["alarm", "escalated", "all_clear", "always", "failures", "never"]


@dataclass(frozen=True)
class KindInfo:
    """One row of the table (see the module docstring for each column)."""

    severity: Severity
    headline: str
    detail: str
    alarm: Level | None
    state: Level | None
    voice: Prompt | None
    push: Push
    meaning: str


KINDS: dict[str, KindInfo] = {
    "fall_suspected": KindInfo(
        "alarm", "Possible fall in {room}", "The alarm will follow unless the person gets up.",
        "suspected", "suspected", "ask", "never", "LED blinks; the voice asks whether the person fell",
    ),
    "fall_alert": KindInfo(
        "alarm", "Fall in {room}", "A person fell and has not got up. Please check on them now.",
        "alert", "alert", "help", "alarm", "buzzer + LED on; push to caregivers until someone acknowledges",
    ),
    "long_lie": KindInfo(
        "alarm", "Someone has been lying on the floor in {room}",
        "A person has been lying outside the bed for a long time. Please check on them.",
        "alert", "alert", "help", "alarm", "buzzer + LED on; push to caregivers until someone acknowledges",
    ),
    "escalated": KindInfo(
        "alarm", "Fall in {room}: nobody has acknowledged yet",
        "A person fell and nobody has acknowledged the alert. Please check on them now.",
        None, None, None, "escalated", "the alert goes again, to the next tier of contacts",
    ),
    "acknowledged": KindInfo(
        "clear", "Help is on the way in {room}: the alert was acknowledged",
        "Someone acknowledged the fall alert; the reminders stop.",
        "idle", None, "stop", "all_clear", "alarm off; every contact alerted is told",
    ),
    "recovered": KindInfo(
        "clear", "All clear in {room}: the person got up", "The person is up again after the fall alert.",
        "idle", "idle", "stop", "all_clear", "alarm off; every contact alerted gets the all clear",
    ),
    "cancelled": KindInfo(
        "clear", "All clear in {room}: the alarm was cancelled with the button",
        "Someone in the room pressed the cancel button.",
        "idle", "idle", "stop", "all_clear", "alarm off (cancel button); every contact alerted is told",
    ),
    "source_lost": KindInfo(
        "warning", "FallWatch in {room} cannot see: camera lost",
        "Falls cannot be detected until the camera works again.",
        None, None, None, "always", "push: the camera is lost",
    ),
    "source_restored": KindInfo(
        "clear", "FallWatch in {room} sees again: camera back", "Fall detection is running again.",
        None, None, None, "always", "push: the camera is back",
    ),
    "inactivity": KindInfo(
        "warning", "Nobody seen in {room}",
        "Nobody has been seen in the room for the configured time. Please check on them.",
        None, None, None, "always", "push: nobody seen for a long time",
    ),
    "heartbeat": KindInfo(
        "info", "FallWatch in {room} is running", "",
        None, None, None, "failures", "failed deliveries are reported",
    ),
}  # fmt: skip

ALARMS: tuple[str, ...] = tuple(kind for kind, info in KINDS.items() if info.push == "alarm")
# Routine kinds ("info": the heartbeat): the set-up page's history hides them unless asked.
ROUTINE: tuple[str, ...] = tuple(kind for kind, info in KINDS.items() if info.severity == "info")
# Levels from quiet to loud: the loudest track sets the buzzer and LED, and the MQTT state.
RANK: dict[str, int] = {level: rank for rank, level in enumerate(get_args(Level))}
