"""Push notifications against real parts: an HTTP server on 127.0.0.1, a real SQLite outbox, real
Apprise, and a delivery process killed with SIGKILL. Fakes: none (the server is the far end)."""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from edge.alerts.channels import Message, WebhookChannel, create_channel, parse_retry_after
from edge.alerts.notify import Notifier, compose, create_channels, create_tiers, send_message, skeleton_picture
from edge.alerts.outbox import Outbox, OutboxWorker
from edge.alerts.redact import install_secret_filter, redact
from edge.config import ConfigError, NotifyConfig
from edge.events import Event
from tests.support import wait_until
from tests.webhooks import Receiver, handler

REPO = Path(__file__).resolve().parents[1]


def _keypoints() -> np.ndarray:
    kp = np.zeros((18, 3), dtype=np.float32)
    kp[:, 0] = np.linspace(0.3, 0.7, 18)
    kp[:, 1] = np.linspace(0.2, 0.9, 18)
    kp[:, 2] = 1.0
    return kp


def _notifier(tmp_path: Path, urls: list[str], **kw: float) -> Notifier:
    cfg = NotifyConfig(urls=urls, outbox=str(tmp_path / "outbox.sqlite"), **kw)
    return Notifier("Living room", cfg, create_tiers(cfg))


def test_json_webhook_receives_what_where_when_and_a_skeleton_picture(tmp_path, receiver):
    state, port = receiver
    notifier = _notifier(tmp_path, [f"json://127.0.0.1:{port}/hook"])
    notifier.start()
    event = Event("fall_alert", video_time=12.0, track_id=3, probs={"fall": 0.93})
    notifier.alert(event, keypoints=_keypoints(), aspect=4 / 3)
    wait_until(lambda: state.accepted_keys() == [event.id])
    notifier.stop()
    arrival = state.arrivals[0]
    assert arrival.path == "/hook"
    assert "Fall in Living room" in arrival.body["title"]
    assert "Living room" in arrival.body["message"] and " on " in arrival.body["message"]
    assert arrival.body["type"] == "failure"
    (attachment,) = arrival.body["attachments"]
    import cv2

    picture = cv2.imdecode(np.frombuffer(base64.b64decode(attachment["base64"]), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (320, 427, 3)
    # A stick figure on a blank canvas: mostly white, some dark bone pixels.
    assert (picture == 255).all(axis=2).mean() > 0.8 and (picture < 100).all(axis=2).any()


def test_camera_frame_is_sent_only_when_opted_in(tmp_path, receiver):
    state, port = receiver
    frame = np.full((48, 64, 3), 77, dtype=np.uint8)
    for expected, opt_in in enumerate((False, True), start=1):
        cfg = NotifyConfig(urls=[f"json://127.0.0.1:{port}/"], outbox=str(tmp_path / f"o{opt_in}.sqlite"),
                           attach_camera_frame=opt_in)  # fmt: skip
        notifier = Notifier("Hall", cfg, create_tiers(cfg))
        notifier.start()
        notifier.alert(Event("fall_alert", 1.0, 1), keypoints=_keypoints(), frame=frame)
        wait_until(lambda n=expected: len(state.arrivals) == n)
        notifier.stop()
    names = [a.body["attachments"][0]["filename"] for a in state.arrivals]
    assert names == ["skeleton.png", "frame.jpg"]


def test_503_then_429_retry_after_then_200_arrives_once_after_the_wait(tmp_path, receiver):
    state, port = receiver
    state.script = [(503, {}), (429, {"Retry-After": "1"})]
    notifier = _notifier(tmp_path, [f"json://127.0.0.1:{port}/"], backoff_s=0.05, backoff_max_s=0.1)
    notifier.start()
    event = Event("fall_alert", 1.0, 1)
    notifier.alert(event)
    wait_until(lambda: state.accepted_keys() == [event.id])
    time.sleep(0.3)  # room for a (wrong) repeat to show up
    notifier.stop()
    assert [a.status for a in state.arrivals] == [503, 429, 200]
    assert state.accepted_keys() == [event.id]
    # The backoff alone would retry after <= 0.1 s; the 200 came only after the server's 1 s.
    assert state.arrivals[2].time - state.arrivals[1].time >= 1.0
    assert notifier.outbox.counts() == {"pending": 0, "delivered": 1, "failed": 0}


def test_permanent_4xx_is_not_retried_and_is_reported_on_the_next_heartbeat(tmp_path, receiver, caplog):
    state, port = receiver
    state.script = {"/bad": [(404, {})]}
    notifier = _notifier(tmp_path, [f"json://127.0.0.1:{port}/bad", f"json://127.0.0.1:{port}/good"],
                         backoff_s=0.05)  # fmt: skip
    notifier.start()
    event = Event("fall_alert", 1.0, 1)
    notifier.alert(event)
    wait_until(lambda: notifier.outbox.counts()["pending"] == 0)
    failures = notifier.report_failures(Event("heartbeat", 60.0))
    wait_until(lambda: len(state.arrivals) == 3)
    time.sleep(0.3)
    notifier.stop()
    assert sorted((a.path, a.status) for a in state.arrivals[:2]) == [("/bad", 404), ("/good", 200)]
    assert len(failures) == 1 and failures[0].detail == "HTTP 404"
    notice = state.arrivals[2]
    assert notice.path == "/good" and "could not be delivered" in notice.body["message"]
    assert "failed for good" in caplog.text
    assert notifier.report_failures(Event("heartbeat", 120.0)) == []  # reported once


def test_apprise_channel_reaches_an_ntfy_server_and_reads_its_status(receiver):
    state, port = receiver
    state.script = [(404, {}), (429, {"Retry-After": "5"})]
    url = f"ntfy://127.0.0.1:{port}/fallwatch-topic"
    message = Message("k1", "FallWatch: test", "hello")
    # A fresh channel per send: Apprise waits 5.5 s between two sends of one instance.
    first, second, third = (create_channel(url).send(message) for _ in range(3))
    assert (first.ok, first.permanent) == (False, True)
    assert (second.ok, second.permanent) == (False, False)
    assert third.ok
    assert state.arrivals[2].body["topic"] == "fallwatch-topic"
    assert state.arrivals[2].body["message"] == "hello"


def test_apprise_channel_uploads_the_skeleton_picture(receiver):
    state, port = receiver
    image = skeleton_picture(_keypoints(), 1.0)
    result = create_channel(f"ntfy://127.0.0.1:{port}/topic").send(Message("k2", "t", "b", "fall_alert", image))
    assert result.ok
    (arrival,) = state.arrivals
    assert "filename=skeleton.png" in arrival.path and arrival.body["raw"] == image


def test_send_message_reports_each_channel(receiver):
    state, port = receiver
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    cfg = NotifyConfig(urls=[f"json://127.0.0.1:{port}/ok", f"json://127.0.0.1:{dead_port}/down"], timeout_s=2)
    results = send_message(cfg, "Training done", "F1 0.91")
    assert list(results.values()) == [True, False]
    assert state.arrivals[0].body["title"] == "Training done"


def test_urls_come_from_the_environment_when_the_file_has_none(monkeypatch):
    monkeypatch.setenv("FALLWATCH_NOTIFY_URLS", "json://127.0.0.1:9/a  ntfy://topic")
    assert [c.name for c in create_channels(NotifyConfig())] == ["json://127.0.0.1:9/****", "ntfy://****"]
    with pytest.raises(ConfigError, match=r"notify.urls\[0\]") as info:
        create_channels(NotifyConfig(urls=["nosuchscheme://TOPSECRET"]))
    assert "TOPSECRET" not in str(info.value)


def test_tokens_never_reach_the_log(tmp_path, receiver, caplog):
    state, port = receiver
    state.script = [(401, {})]  # one channel fails for good, the other delivers
    token = "SeKrEt-t0ken-4242"
    urls = [f"json://user:{token}@127.0.0.1:{port}/hook/{token}?key={token}", f"ntfy://127.0.0.1:{port}/{token}"]
    caplog.set_level(logging.DEBUG)
    install_secret_filter(urls)
    notifier = _notifier(tmp_path, urls, backoff_s=0.05)
    notifier.start()
    notifier.alert(Event("fall_alert", 1.0, 1))
    wait_until(lambda: notifier.outbox.counts()["pending"] == 0)
    send_message(notifier.cfg, "t", "b")
    notifier.stop()
    assert any(a.status == 401 for a in state.arrivals)  # the failure paths ran
    assert "delivered to" in caplog.text and "ntfy" in caplog.text
    assert token not in caplog.text
    assert token not in "".join(repr(r.args) + str(r.msg) for r in caplog.records)
    assert token not in (tmp_path / "outbox.sqlite").read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://127.0.0.1:8080/hook?token=abc", "json://127.0.0.1:8080/****"),  # path and query hidden
        ("tgram://123456:ABCdef/987", "tgram://****/****"),  # the bot token sits where a host would
        ("ntfy://user:pw@ntfy.sh/mytopic", "ntfy://****@ntfy.sh/****"),  # user:password hidden
        ("pover://userkey@apptoken", "pover://****@****"),
        ("mailtos://u:p@gmail.com", "mailtos://****@gmail.com"),
    ],
)
def test_redact(url, shown):
    assert redact(f"sending to {url} now") == f"sending to {shown} now"


def test_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("999999") == 3600.0


def test_skeleton_picture_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        skeleton_picture(np.zeros((17, 3)), 1.0)


def test_outage_of_ten_minutes_scaled_1000x_with_100_alerts_delivers_each_once(tmp_path):
    """Time scaled by 1/1000: the defaults (backoff 2 s .. 30 s) become 2 ms .. 30 ms and a 10-minute
    outage 0.6 s. The port is closed (connection refused) for the outage, then a server opens on it."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    notifier = _notifier(tmp_path, [f"json://127.0.0.1:{port}/"], backoff_s=0.002, backoff_max_s=0.03)
    notifier.start()
    events = [Event("fall_alert", float(i), i) for i in range(100)]
    for event in events:
        notifier.alert(event)
    time.sleep(0.6)
    assert notifier.outbox.counts()["pending"] == 100
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_until(lambda: notifier.outbox.counts()["delivered"] == 100)
        time.sleep(0.2)
    finally:
        notifier.stop()
        server.shutdown()
        server.server_close()
    assert sorted(state.accepted_keys()) == sorted(e.id for e in events)
    assert state.accepted_keys() == [e.id for e in events]  # oldest first


_DELIVERY_SCRIPT = """
import sys, time
from edge.alerts.channels import Message, WebhookChannel
from edge.alerts.outbox import Outbox, OutboxWorker
path, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
outbox = Outbox(path)
channels = [WebhookChannel(url + "/a"), WebhookChannel(url + "/b")]
for i in range(count):
    outbox.enqueue(Message(f"alert-{i:02d}", f"alert {i}", "body", "fall_alert"), [c.key for c in channels])
worker = OutboxWorker(outbox, channels, backoff_s=0.05, backoff_max_s=0.2)
worker.start()
while outbox.counts()["pending"]:
    time.sleep(0.02)
worker.stop()
"""


def test_sigkill_mid_delivery_then_restart_delivers_every_alert_once_per_channel(tmp_path, receiver):
    state, port = receiver
    state.delay_s = 0.3
    outbox_path = tmp_path / "outbox.sqlite"
    command = [sys.executable, "-c", _DELIVERY_SCRIPT, str(outbox_path), f"json://127.0.0.1:{port}", "6"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(command, env=env)
    wait_until(lambda: len(state.accepted_keys()) >= 3)
    state.in_flight.clear()
    wait_until(lambda: state.in_flight.is_set())  # a request is being held: kill the sender now
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = subprocess.run(command, env=env, timeout=60)
    assert second.returncode == 0
    time.sleep(state.delay_s + 0.2)
    with state.lock:
        aborted = [a for a in state.arrivals if not a.accepted]
        accepted = [(a.path, a.headers["Idempotency-Key"]) for a in state.arrivals if a.accepted]
    assert aborted, "the kill did not land mid-delivery"
    expected = {(path, f"alert-{i:02d}") for path in ("/a", "/b") for i in range(6)}
    assert sorted(accepted) == sorted(expected)  # all, and none twice
    assert Outbox(outbox_path).counts() == {"pending": 0, "delivered": 12, "failed": 0}


def test_an_outbox_that_cannot_be_opened_is_a_config_error(tmp_path):
    (tmp_path / "a_file").write_text("")
    cfg = NotifyConfig(outbox=str(tmp_path / "a_file" / "outbox.sqlite"))
    with pytest.raises(ConfigError, match=r"notify\.outbox = .*cannot open the outbox"):
        Notifier("Hall", cfg, [[]])


def test_an_alert_raised_while_the_camera_is_lost_says_so():
    lost = compose(Event("fall_alert", 12.0, 1, detail="fast fall, camera lost"), "Kitchen")
    seen = compose(Event("fall_alert", 12.0, 1, detail="fast fall"), "Kitchen")
    assert "camera is lost" in lost.body and "camera is lost" not in seen.body


def test_the_same_event_is_stored_once_and_delivered_once(tmp_path, receiver):
    state, port = receiver
    channel = WebhookChannel(f"json://127.0.0.1:{port}/")
    outbox = Outbox(tmp_path / "o.sqlite")
    message = compose(Event("fall_alert", 1.0, 1), "Kitchen")
    assert outbox.enqueue(message, [channel.key, "other"]) is True
    assert outbox.enqueue(message, [channel.key, "other"]) is False
    assert outbox.counts()["pending"] == 2
    worker = OutboxWorker(outbox, [channel], 1.0, 2.0)
    assert worker.deliver_one() is True
    assert outbox.next_due([channel.key]) is None  # nothing left for this channel: no second send
    assert state.accepted_keys() == [message.key]
    assert outbox.counts() == {"pending": 1, "delivered": 1, "failed": 0}  # "other" has no worker here


def test_a_hanging_channel_does_not_hold_back_the_others(tmp_path, receiver):
    state, port = receiver
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen()
    notifier = _notifier(tmp_path, [f"json://127.0.0.1:{hanging.getsockname()[1]}/", f"json://127.0.0.1:{port}/"],
                         timeout_s=30)  # fmt: skip
    notifier.start()
    event = Event("fall_alert", 1.0, 1)
    notifier.alert(event)
    connection, _ = hanging.accept()  # the first channel's sender is now stuck on us
    wait_until(lambda: state.accepted_keys() == [event.id])
    connection.close()
    hanging.close()
    notifier.stop()
