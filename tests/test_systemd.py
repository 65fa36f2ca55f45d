"""systemd integration: sd_notify datagrams on a real AF_UNIX socket, the frame-flow watchdog contract,
and `systemd-analyze verify` on install/fallwatch.service and the per-camera fallwatch@.service."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.systemd import FrameWatchdog, Notifier, watchdog_interval_s
from tests.support import require_tool

REPO = Path(__file__).resolve().parents[1]


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket; collects what the service sends."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)

    def messages(self) -> list[str]:
        """Every datagram received since the last call."""
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    """A real notify socket at tmp_path/notify, with $NOTIFY_SOCKET pointing at it."""
    path = tmp_path / "notify"
    listener = NotifySocket(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield listener
    listener.sock.close()


def test_notifier_sends_the_sd_notify_messages(notify_socket: NotifySocket) -> None:
    notifier = Notifier()
    assert notifier.ready("watching csi://0")
    assert notifier.status("12.0 fps\nsecond line dropped")
    assert notifier.watchdog()
    assert notifier.stopping()
    assert notify_socket.messages() == [
        "READY=1\nSTATUS=watching csi://0",
        "STATUS=12.0 fps",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd may hand out '@name': an abstract socket, addressed with a leading NUL byte."""
    name = f"fallwatch-test-{os.getpid()}"
    listener = NotifySocket(b"\0" + name.encode())
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert Notifier().ready()
        assert listener.messages() == ["READY=1"]
    finally:
        listener.sock.close()


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    assert not Notifier(str(tmp_path / "gone")).watchdog()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),  # no WatchdogSec in the unit
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "soon"}, None),  # malformed
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_interval_from_env(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval_s(env) == expected


def test_watchdog_pings_while_frames_flow_and_stops_when_they_stop(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract with WatchdogSec: frames flowing -> WATCHDOG=1 at most every WatchdogSec/2;
    frames stop -> no WATCHDOG=1 at all, so systemd kills and restarts the service after WatchdogSec."""
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    watchdog = FrameWatchdog.from_env(Notifier(), started=0.0)
    assert (watchdog.interval_s, watchdog.stall_s) == (30.0, 30.0)

    # 60 s of frames at 10 fps: one ping at the first frame, then one every 15 s.
    for i in range(600):
        watchdog.frame_processed(i / 10)
    assert notify_socket.messages() == ["WATCHDOG=1"] * 4
    assert not watchdog.stalled(60.0)

    # The camera dies after the frame at 59.9 s: the loop keeps running and asks stalled() once a second.
    stalls = [watchdog.stalled(60.0 + s) for s in range(120)]
    assert notify_socket.messages() == []
    assert stalls.index(True) == 30  # 30.1 s after the last frame: longer than stall_s

    # Frames come back: pinging resumes at once.
    watchdog.frame_processed(200.0)
    assert notify_socket.messages() == ["WATCHDOG=1"]
    assert not watchdog.stalled(200.5)


def test_no_first_frame_is_a_stall_from_start() -> None:
    watchdog = FrameWatchdog(Notifier(""), interval_s=None, stall_s=5.0, started=100.0)
    assert not watchdog.stalled(104.0)
    assert watchdog.stalled(105.5)
    assert watchdog.pings == 0
    assert not FrameWatchdog(Notifier(""), interval_s=None, stall_s=5.0).stalled(1e9)


@pytest.mark.parametrize(("interval", "stall"), [(0.0, 1.0), (-1.0, 1.0), (None, 0.0)])
def test_watchdog_rejects_bad_limits(interval: float | None, stall: float) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        FrameWatchdog(Notifier(""), interval, stall)


@pytest.mark.parametrize(("name", "instance"), [("fallwatch.service", ""), ("fallwatch@.service", "kitchen")])
def test_unit_file_verifies_clean(tmp_path: Path, name: str, instance: str) -> None:
    """`systemd-analyze verify` on each unit (the template as instance fallwatch@kitchen), with
    ExecStart pointed at a binary that exists here.

    verify checks that ExecStart's binary exists and is executable; on this machine the venv is not at
    /opt/fallwatch, so a copy of the unit gets a stand-in executable. Every other line is checked as is.
    """
    analyze = require_tool("systemd-analyze", "systemd")
    text = (REPO / "install" / name).read_text()
    exec_lines = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    assert len(exec_lines) == 1, "the unit must have exactly one ExecStart="
    binary = exec_lines[0].removeprefix("ExecStart=").split()[0]
    assert binary == "/opt/fallwatch/venv/bin/fallwatch"
    stand_in = tmp_path / "fallwatch"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    (tmp_path / name).write_text(text.replace(binary, str(stand_in)))
    target = tmp_path / name.replace("@", f"@{instance}") if instance else tmp_path / name
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(target)], capture_output=True, text=True, check=False, timeout=120
    )
    # verify also complains about unrelated units on a host without a running systemd: only ours counts.
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "fallwatch" in line]
    assert ours == [], "\n".join(ours)
    assert result.returncode == 0, result.stderr


def test_the_template_is_the_single_unit_per_camera() -> None:
    """The template differs from fallwatch.service only in the per-camera lines (one place to harden)."""
    single = (REPO / "install" / "fallwatch.service").read_text().splitlines()
    template = (REPO / "install" / "fallwatch@.service").read_text().splitlines()
    settings = {line for line in single if "=" in line and not line.startswith("#")}
    per_camera = {line for line in template if "=" in line and not line.startswith("#")} - settings
    assert per_camera == {
        "Description=FallWatch fall detection (camera %i)",
        "ExecStart=/opt/fallwatch/venv/bin/fallwatch run --config /etc/fallwatch/%i/config.toml --headless",
        "EnvironmentFile=-/etc/fallwatch/%i/fallwatch.env",
        "StateDirectory=fallwatch fallwatch/%i",
        "SyslogIdentifier=fallwatch-%i",
    }
    assert "PrivateTmp=no" in single  # CSI cameras: nvargus-daemon's /tmp/argus_socket must be visible


@pytest.mark.parametrize("name", ["fallwatch.service", "fallwatch@.service"])
def test_unit_keeps_the_watchdog_contract(name: str) -> None:
    """The settings edge/systemd.py relies on (a unit edit that drops one breaks the restart-on-stall)."""
    lines = set((REPO / "install" / name).read_text().splitlines())
    for needed in ("Type=notify", "NotifyAccess=main", "Restart=always", "User=fallwatch"):
        assert needed in lines, needed
    watchdog = [line for line in lines if line.startswith("WatchdogSec=")]
    assert watchdog and int(watchdog[0].split("=")[1]) > 10, "WatchdogSec must exceed source.lost_after_s (10 s)"
