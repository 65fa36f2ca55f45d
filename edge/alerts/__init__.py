"""Alerts: the local alarm first, then durable push notifications and MQTT.

    from edge.alerts import AlertHub

    hub = AlertHub.from_config(cfg)       # pins, outbox + channels, MQTT; secrets hidden in logs
    hub.start()                           # outbox sender thread, MQTT connection (both retry alone)
    for event in events:                  # from the per-track state machine (edge/events.py)
        hub.handle(event, keypoints=kp18x3, aspect=w / h)   # returns at once; never waits on a network
    if hub.cancel_requested():            # poll per frame: the cancel button stopped an alarm ->
        ...                               #   end every suspected/alerted episode with "cancelled"
    for event in hub.poll(video_time):    # per loop: escalated, acknowledged, inactivity ->
        ...                               #   log them, then hub.handle(event)
    hub.people_seen(n)                    # per frame: "person last seen", the inactivity watch
    hub.test_alert("the set-up page")     # buzzer + LED briefly, the voice, a test push (no event)
    hub.close()                           # MQTT offline, senders stopped, buzzer/LED off, pins released

`handle` does what edge.event_kinds.KINDS says for the event's kind: the pins first (LED blinks
on fall_suspected; buzzer + LED steady on fall_alert/long_lie; off on acknowledged, recovered,
cancelled), the voice, then the SQLite outbox (an alarm opens its escalation; an all-clear goes to
every contact the alarm reached), then MQTT. A press of the cancel
button silences the alarm at once, makes `cancel_requested()` true once, calls
`on_cancel(tracks)` if given, and keeps a later fall_alert of that track from being pushed.
A heartbeat event reports deliveries that failed for good (logged, and pushed to working channels).
`send_message(cfg.notify, title, body)` sends one plain message now (notify-test, train --notify).

Modules: gpio.py (pins: Jetson.GPIO, simulated), alarm.py (patterns), voice.py (espeak-ng prompts),
channels.py (webhook, Apprise), outbox.py (SQLite outbox + sender thread), escalation.py (tiers and
reminders until acknowledged), notify.py (messages, pictures, Notifier), ack_page.py (the
acknowledge link's page), inactivity.py (nobody seen for hours), mqtt.py (events + the Home
Assistant device), redact.py (secrets out of logs), hub.py (the above).
"""

from edge.alerts.hub import AlertHub
from edge.alerts.notify import send_message

__all__ = ["AlertHub", "send_message"]
