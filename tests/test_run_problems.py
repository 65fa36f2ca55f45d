"""What a run must not hide or get wrong (issue 15's list), each through the real command or part:
alerts stuck under a removed channel, undelivered alerts at exit, `fallwatch outbox`, camera
passwords in logs and in systemd's status, broken traces and videos, a folder or FIFO as source,
an events log under a file, and a second SIGTERM while stopping. Real parts: files, SQLite,
OpenCV, HTTP and TCP on 127.0.0.1, a unix datagram socket as systemd, subprocesses and signals."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.alerts.channels import Message, create_channel
from edge.alerts.notify import Notifier, create_tiers
from edge.alerts.outbox import Outbox
from edge.cli import main as cli_main
from edge.config import Config, NotifyConfig, SourceConfig
from edge.output.base import NullSink
from edge.pipeline import Pipeline
from edge.pose.recorded import Trace, record_trace
from edge.sources import SourceError, create_source
from tests.support import free_port, wait_until
from tests.test_pipeline import nobody_classifier, nobody_pose
from tests.webhooks import Receiver

REPO = Path(__file__).resolve().parents[1]


def tiny_clip(path: Path, frames: int = 20) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    return path


def nobody_trace(tmp_path: Path) -> Path:
    return record_trace(tmp_path / "nobody.npz", Trace(np.array([0.0]), np.zeros((1, 1, 18, 3)), (64, 48)))


def run_args(tmp_path: Path, source: str, *extra: str) -> list[str]:
    """`fallwatch run` on `source` with nobody in view (recorded pose), its files under tmp_path."""
    return [
        "run", "--source", source, "--events", str(tmp_path / "events.jsonl"),
        "--set", "pose.type='recorded'", "--set", f"pose.recorded_path='{nobody_trace(tmp_path)}'",
        "--set", f"notify.outbox='{tmp_path / 'outbox.sqlite'}'", *extra,
    ]  # fmt: skip


def queue_alert(outbox_path: Path, url: str, key: str = "a1b2c3d4e5f6a7b8") -> None:
    """An alert left pending in the outbox for `url`'s channel (as a run that ended before sending it)."""
    outbox = Outbox(outbox_path)
    outbox.enqueue(Message(key, "FallWatch: Fall in room", "A person fell.", "fall_alert"), [create_channel(url).key])
    outbox.close()


# --- the outbox ----------------------------------------------------------------------------------


def test_alerts_queued_for_a_channel_removed_from_the_config_go_to_the_current_one(
    tmp_path: Path, receiver: tuple[Receiver, int], caplog: pytest.LogCaptureFixture
) -> None:
    state, port = receiver
    outbox = tmp_path / "outbox.sqlite"
    queue_alert(outbox, f"json://127.0.0.1:{free_port()}/old")  # the channel of the old config
    cfg = NotifyConfig(urls=[f"json://127.0.0.1:{port}/new"], outbox=str(outbox))
    notifier = Notifier("Hall", cfg, create_tiers(cfg))
    with caplog.at_level(logging.WARNING):
        notifier.start()
        wait_until(lambda: state.titles("/new") == ["FallWatch: Fall in room"])
        assert notifier.stop() == 0
    assert "queued for channels no longer configured" in caplog.text
    rows = Outbox(outbox).deliveries()
    assert sorted((row.state, row.detail) for row in rows) == [
        ("delivered", "HTTP 200"),
        ("failed", "channel no longer configured"),
    ]


def test_only_channels_gone_from_every_tier_count_as_removed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.enqueue(Message("k1", "t", "b", "fall_alert"), ["tier1", "tier2", "gone"])
    assert outbox.adopt_orphans(["tier1", "tier2"], ["tier1"]) == 1
    rows = sorted((row.channel, row.state) for row in outbox.deliveries())
    assert rows == [("gone", "failed"), ("tier1", "pending"), ("tier2", "pending")]


def test_run_on_a_file_with_undelivered_alerts_says_so_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"json://127.0.0.1:{free_port()}/hook"
    monkeypatch.setenv("FALLWATCH_NOTIFY_URLS", url)
    queue_alert(tmp_path / "outbox.sqlite", url)
    clip = tiny_clip(tmp_path / "clip.avi")
    status = cli_main(run_args(tmp_path, str(clip), "--set", "notify.drain_s=0.5"))
    err = capsys.readouterr().err
    assert status == 3, err
    assert "1 alert deliveries are still pending" in err and "fallwatch outbox retry" in err


def test_outbox_command_lists_retries_and_drops(
    tmp_path: Path, receiver: tuple[Receiver, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state, port = receiver
    outbox = tmp_path / "outbox.sqlite"
    queue_alert(outbox, f"json://127.0.0.1:{free_port()}/gone", key="aaaa1111bbbb2222")
    queue_alert(outbox, f"json://127.0.0.1:{port}/hook", key="cccc3333dddd4444")
    monkeypatch.setenv("FALLWATCH_NOTIFY_URLS", f"json://127.0.0.1:{port}/hook")
    overrides = tmp_path / "fw.toml"
    overrides.write_text(f'[notify]\noutbox = "{outbox}"\n')
    assert cli_main(["outbox", "--config", str(overrides), "list"]) == 0
    listed = capsys.readouterr().out
    assert "aaaa1111bbbb2222" in listed and "(no longer configured)" in listed and "2 pending" in listed
    assert cli_main(["outbox", "--config", str(overrides), "drop", "aaaa1111", "--reason", "old test"]) == 0
    assert cli_main(["outbox", "--config", str(overrides), "retry", "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "1 deliveries sent, 0 still pending" in out
    assert state.titles("/hook") == ["FallWatch: Fall in room"]  # the dropped one was not sent
    assert cli_main(["outbox", "--config", str(overrides), "drop", "zzzz9999", "--reason", "x"]) == 2
    rows = {row.key: row for row in Outbox(outbox).deliveries()}
    assert rows["aaaa1111bbbb2222"].detail == "dropped by hand: old test"


# --- camera credentials --------------------------------------------------------------------------

SECRET = "s3cretpass"


def test_a_camera_password_stays_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    uri = f"rtsp://admin:{SECRET}@127.0.0.1:{free_port()}/live"
    with caplog.at_level(logging.WARNING):
        source = create_source(SourceConfig(uri=uri, lost_after_s=30))
        source.read()
        source.close()
    assert "retrying" in caplog.text and "127.0.0.1" in caplog.text
    assert SECRET not in caplog.text


def test_a_camera_password_stays_out_of_systemd_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_alerts_escalation import DarkCamera

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    cfg = Config()
    cfg.source.uri = f"rtsp://admin:{SECRET}@192.168.1.30:554/stream1"
    cfg.gpio.backend = "simulated"
    pipeline = Pipeline(cfg, DarkCamera(), nobody_pose(tmp_path), nobody_classifier(cfg), NullSink(), events_path="")
    pipeline.alerts = None
    try:
        pipeline.start()
        sent = listener.recv(4096).decode()
    finally:
        pipeline.stop()
        listener.close()
    assert "READY=1" in sent and "STATUS=watching rtsp://" in sent and "192.168.1.30" in sent
    assert SECRET not in sent and "admin" not in sent


# --- broken inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["truncated", "empty", "corrupt"])
def test_a_broken_trace_is_a_one_line_error(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    good = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"
    data = {"truncated": good.read_bytes()[:300], "empty": b"", "corrupt": os.urandom(2000)}[kind]
    trace = tmp_path / f"{kind}.npz"
    trace.write_bytes(data)
    args = ["run", "--source", str(trace), "--events", str(tmp_path / "e.jsonl"), "--set", "pose.type='recorded'",
            "--set", f"pose.recorded_path='{trace}'", "--set", f"notify.outbox='{tmp_path / 'o.sqlite'}'"]  # fmt: skip
    status = cli_main(args)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert "\n" not in err and f"{kind}.npz: not a keypoint trace" in err, err


def _count_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return count


@pytest.mark.parametrize("damage", ["cut in half", "corrupt middle"])
def test_a_video_that_stops_decoding_early_is_reported_and_exits_3(
    shared_data: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Subject 2/ADL/23.mp4 keeps its index (moov) at the start, so half of it still opens.
    data = bytearray((shared_data / "gmdcsa24" / "Subject 2/ADL/23.mp4").read_bytes())
    if damage == "cut in half":
        data = data[: len(data) // 2]
    else:
        start = len(data) // 3
        data[start : start + len(data) // 3] = bytes(len(data) // 3)
    clip = tmp_path / "damaged.mp4"
    clip.write_bytes(bytes(data))
    status = cli_main(run_args(tmp_path, str(clip)))
    captured = capsys.readouterr()
    announced = _count_frames(clip)
    frames_in = int(captured.out.split("frames in ")[1].split(",")[0])
    assert frames_in < announced  # it really did end early
    assert status == 3, captured.err
    assert f"damaged.mp4: only {frames_in} of {announced} frames could be decoded" in captured.err


def test_an_intact_video_has_no_problem(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = shared_data / "gmdcsa24" / "Subject 2/Fall/14.mp4"  # announces 169 frames, decodes 168
    assert cli_main(run_args(tmp_path, str(clip))) == 0, capsys.readouterr().err


def test_a_folder_or_a_fifo_as_source_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder, not a video file"):
        create_source(SourceConfig(uri=str(tmp_path)))
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"pipe\.mp4: is not a regular file"):
        create_source(SourceConfig(uri=str(fifo)))


def test_an_events_log_under_a_regular_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where a folder should be")
    clip = tiny_clip(tmp_path / "clip.avi")
    args = run_args(tmp_path, str(clip))
    args[args.index("--events") + 1] = str(blocker / "logs" / "events.jsonl")
    status = cli_main(args)
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert "\n" not in err and f"log.events = '{blocker}/logs/events.jsonl': {blocker} is a file, not a folder" in err


# --- signals ------------------------------------------------------------------------------------


def test_a_second_sigterm_while_stopping_does_not_kill_the_stop(tmp_path: Path) -> None:
    """Stopping waits for a delivery in progress (a server that never answers); a second SIGTERM
    then must not end the process with 143 halfway through its stop."""
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(5)  # accepts, never answers
    url = f"json://127.0.0.1:{hanging.getsockname()[1]}/hook"
    queue_alert(tmp_path / "outbox.sqlite", url)
    args = run_args(tmp_path, f"rtsp://127.0.0.1:{free_port()}/live", "--set", "notify.timeout_s=4",
                    "--set", "notify.drain_s=1")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "FALLWATCH_NOTIFY_URLS": url}
    process = subprocess.Popen([sys.executable, "-m", "edge.cli", *args], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        retries = 0
        for line in process.stderr:  # the first retry is logged while opening; the second from the loop
            retries += "retrying" in line
            if retries == 2:
                break
        process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # now inside stop(): draining, then waiting for the hanging send
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
        hanging.close()
    assert process.returncode == 3, rest  # a normal end, saying the alert is still pending
    assert "already stopping" in rest
