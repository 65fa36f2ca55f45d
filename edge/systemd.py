"""systemd integration without a dependency: sd_notify, and a watchdog that pings only while frames flow.

    from edge.systemd import FrameWatchdog, Notifier

    notifier = Notifier()                        # reads $NOTIFY_SOCKET; a no-op when not under systemd
    watchdog = FrameWatchdog.from_env(notifier, started=time.monotonic())  # $WATCHDOG_USEC, $WATCHDOG_PID
    notifier.ready("watching /dev/video0")       # once the source, pose and classifier are up
    while running:
        frame = source.read()
        if frame is not None:
            ...                                  # pose, tracks, classifier, events, output
            watchdog.frame_processed(time.monotonic())  # WATCHDOG=1, at most every WatchdogSec/2
        elif watchdog.stalled(time.monotonic()):  # no frame for longer than stall_s (never pings)
            ...                                  # e.g. log it / emit the pipeline's own alert once
    notifier.stopping()

The contract with install/fallwatch.service (Type=notify, WatchdogSec=30, Restart=always): systemd
restarts the service when no WATCHDOG=1 arrives for WatchdogSec. WATCHDOG=1 is sent from
`frame_processed` only, so a pipeline whose camera died, or whose loop hangs in pose or the classifier,
stops pinging and is restarted. The pipeline's own `source_lost` (after source.lost_after_s, 10 s by
default) is emitted before that (keep lost_after_s < WatchdogSec).
"""

from __future__ import annotations

import logging
import os
import socket

logger = logging.getLogger(__name__)


def _socket_address(path: str) -> str | bytes:
    """$NOTIFY_SOCKET as an AF_UNIX address: '@name' is the abstract namespace (a leading NUL byte)."""
    if path.startswith("@"):
        return b"\0" + path[1:].encode()
    return path


class Notifier:
    """Sends sd_notify(3) messages to systemd; every method is a no-op (returns False) off systemd.

    socket_path: the notify socket; None reads $NOTIFY_SOCKET. A send that fails (systemd gone, socket
    removed) is logged once as a warning and returns False: losing the notifier must not stop detection.
    """

    def __init__(self, socket_path: str | None = None) -> None:
        self.socket_path = os.environ.get("NOTIFY_SOCKET", "") if socket_path is None else socket_path
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when running under a systemd unit that listens (Type=notify or a WatchdogSec)."""
        return bool(self.socket_path)

    def notify(self, *assignments: str) -> bool:
        """Send "KEY=VALUE" lines in one datagram, e.g. notify("READY=1", "STATUS=up"); True when sent."""
        if not self.enabled:
            return False
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(_socket_address(self.socket_path))
                sock.sendall(message)
        except OSError as exc:
            if not self._warned:
                logger.warning("cannot notify systemd at %s: %s", self.socket_path, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """READY=1 (startup finished), with an optional status line for `systemctl status`."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """STATUS=text: one line shown by `systemctl status fallwatch`."""
        return self.notify(f"STATUS={text.splitlines()[0] if text else ''}")

    def watchdog(self) -> bool:
        """WATCHDOG=1: "still alive". Call through FrameWatchdog, which sends it only while frames flow."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """STOPPING=1: a clean shutdown has begun."""
        return self.notify("STOPPING=1")


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """WatchdogSec in seconds from $WATCHDOG_USEC, or None when systemd asked for no watchdog.

    $WATCHDOG_PID, when set, must be this process (otherwise the watchdog belongs to another process).
    A malformed value is treated as no watchdog, with a warning.
    """
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        logger.warning("ignoring WATCHDOG_USEC=%r: not an integer", usec)
        return None
    return value / 1e6 if value > 0 else None


class FrameWatchdog:
    """Pings systemd's watchdog only while frames are processed, so a stalled pipeline gets restarted.

    notifier: where WATCHDOG=1 goes.
    interval_s: WatchdogSec; None disables pinging (not under systemd) but `stalled()` still works.
        A ping is sent at most every interval_s / 2, as sd_watchdog_enabled(3) recommends.
    stall_s: no frame for longer than this is a stall (`stalled()` -> True); must be > 0. Pings stop
        as soon as frames stop, whatever stall_s is: it only serves the pipeline's own alert.
    started: when the pipeline started (monotonic s); before the first frame, stalls count from it.
        None: no stall is reported before the first frame.
    All times are time.monotonic() seconds supplied by the caller (tests pass their own clock).
    """

    def __init__(
        self, notifier: Notifier, interval_s: float | None, stall_s: float, started: float | None = None
    ) -> None:
        if interval_s is not None and interval_s <= 0:
            raise ValueError(f"FrameWatchdog interval_s = {interval_s!r}: must be > 0 or None")
        if stall_s <= 0:
            raise ValueError(f"FrameWatchdog stall_s = {stall_s!r}: must be > 0")
        self.notifier = notifier
        self.interval_s = interval_s
        self.stall_s = stall_s
        self.started = started
        self.last_frame: float | None = None
        self.last_ping: float | None = None
        self.pings = 0

    @classmethod
    def from_env(cls, notifier: Notifier, stall_s: float | None = None, started: float | None = None) -> FrameWatchdog:
        """A watchdog configured from $WATCHDOG_USEC; stall_s defaults to WatchdogSec (or 30 s without one)."""
        interval = watchdog_interval_s()
        return cls(notifier, interval, stall_s if stall_s is not None else (interval or 30.0), started)

    def frame_processed(self, now: float) -> bool:
        """Record that one frame went through the whole pipeline; True when WATCHDOG=1 was sent."""
        self.last_frame = now
        if self.interval_s is None:
            return False
        if self.last_ping is not None and now - self.last_ping < self.interval_s / 2:
            return False
        self.last_ping = now
        self.pings += 1
        return self.notifier.watchdog()

    def seconds_since_frame(self, now: float) -> float | None:
        """Seconds since the last processed frame (or since `started` before the first); None if neither."""
        since = self.last_frame if self.last_frame is not None else self.started
        return None if since is None else now - since

    def stalled(self, now: float) -> bool:
        """True when no frame has been processed for longer than stall_s."""
        since = self.seconds_since_frame(now)
        return since is not None and since > self.stall_s
