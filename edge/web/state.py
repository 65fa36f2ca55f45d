"""What the page shows of the running service, read from its pipeline and alert hub (other threads).

status(pipeline, room, show_camera)   # state, fps, people, live skeletons, latest events, zones
open_alert(hub)                       # an alarm nobody has acknowledged yet
held_checks(pipeline)                 # the doctor's camera, GPIO and pose results, from the service
test_deliveries(hub, key)             # how a test alert's deliveries went, per channel
"""

from __future__ import annotations

import json
from typing import Any

from edge.alerts import AlertHub
from edge.doctor import Check
from edge.pipeline import Pipeline

LATEST_EVENTS = 10


def status(pipeline: Pipeline, room: str, show_camera: bool) -> dict[str, Any]:
    """The room's state, fps, people in view and their skeletons, the latest events, the bed zones."""
    live, events = pipeline.live, pipeline.events[-LATEST_EVENTS:]
    states = set(live.states.values()) if live is not None else set()
    state = next((s for s in ("alert", "suspected") if s in states), "ok")
    if live is None:
        state = "starting"
    elif live.source_lost:
        state = "camera lost"
    detector, hub = pipeline.detector, pipeline.alerts
    height, width = live.image.shape[:2] if live is not None else (3, 4)
    return {
        "room": room,
        "state": state,
        "fps": round(live.fps, 1) if live is not None else 0.0,
        "people": live.people if live is not None else 0,
        "video_time": live.video_time if live is not None else None,
        "aspect": width / height,
        "show_camera": show_camera,
        "skeletons": [
            {"track_id": track, "state": live.states.get(track, "ok"), "keypoints": keypoints.round(4).tolist()}
            for track, keypoints in (live.skeletons.items() if live is not None else ())
        ],
        "events": [{**json.loads(e.to_json()), "picture": e.id in pipeline.event_skeletons} for e in reversed(events)],
        "zones": detector.events.cfg.bed_zones if detector is not None else [],
        "alert_open": isinstance(hub, AlertHub) and open_alert(hub),
    }


def open_alert(hub: AlertHub) -> bool:
    """True while an alarm sounds in the room or escalates to the contacts, unacknowledged."""
    if "alert" in hub.alarm.active_tracks().values():
        return True
    return hub.notifier is not None and bool(hub.notifier.escalation.open_episodes())


def held_checks(pipeline: Pipeline) -> dict[str, Check]:
    """The doctor's results for what the running service holds (the camera, the GPIO pins, the pose
    model): read from the service, since opening them a second time would fail or disturb it."""
    live, cfg = pipeline.live, pipeline.cfg
    if live is None:
        camera = Check("camera", "FAIL", "no frame processed yet", "wait, or look at `journalctl -u fallwatch`")
    elif live.source_lost:
        camera = Check("camera", "FAIL", "lost: no frame for source.lost_after_s", "check the cable and the camera")
    else:
        height, width = live.image.shape[:2]
        camera = Check("camera", "PASS", f"{width}x{height} frames, {live.fps:.1f} processed a second")
    held = {"camera": camera}
    if cfg.gpio.backend == "jetson" and isinstance(pipeline.alerts, AlertHub):
        held["gpio"] = Check("gpio", "PASS", "the pins are held by this service")
    if pipeline.pose is not None:
        held["pose"] = Check("pose", "PASS", f"pose.type = {cfg.pose.type!r} runs in this service")
    return held


def test_deliveries(hub: AlertHub, key: str) -> list[dict[str, Any]]:
    """The test alert `key`'s deliveries: each channel's name (its secrets hidden), state, attempts."""
    if hub.notifier is None:
        return []
    names = {channel.key: channel.name for channel in hub.notifier.channels}
    return [
        {"channel": names.get(d.channel, "a removed channel"), "state": d.state, "attempts": d.attempts}
        for d in hub.notifier.outbox.deliveries(key)
    ]
