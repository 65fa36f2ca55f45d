"""Health checks for a FallWatch installation: each one PASS, WARN, FAIL or SKIP, with a fix.

    checks = run_checks("/etc/fallwatch/config.toml")   # list[Check], in a fixed order
    for check in checks:
        print(check.line())
    ok = not any(c.status == "FAIL" for c in checks)

What is checked: the config loads and validates; JetPack and TensorRT versions; the TensorRT engines
(classifier and trt_pose) were built for this TensorRT and GPU (their JSON build records); the
camera opens and delivers frames; the GPIO pins are free and can be set up (Jetson only; outputs
are set up LOW, nothing sounds); the pose model loads; bed and sofa zones are drawn (WARN when there
are none: lying down fast on a bed raises a fall alert without one); every notification channel's host resolves
and accepts a TCP connection (nothing is sent); the MQTT broker accepts a TCP connection; the
outbox's disk has room; the clock is synchronised.

A check that the configuration does not need is SKIP (a PC with MediaPipe and simulated GPIO needs
no JetPack); one it needs and that fails is FAIL; a problem that the service works around (a stale
engine it rebuilds at start, TensorRT missing with runtime "auto") is WARN. Heavy libraries are
imported inside the check that needs them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.alerts.boards import JETSON_IO, pin_problem
from edge.classifier.tensorrt import DEVICE_FIELDS, read_record, record_mismatch
from edge.config import Config, ConfigError, load_config

Status = Literal["PASS", "WARN", "FAIL", "SKIP"]
TEGRA_RELEASE = Path("/etc/nv_tegra_release")
UNITS = Path("/etc/systemd/system")
SETUP = "sudo install/jetson-setup.sh"
MIN_FREE_BYTES = 200 << 20
# Fields of an engine's build record that must equal the running system's.


@dataclass(frozen=True)
class Check:
    """One result: `name` (short, fixed), `status`, what was found, and how to fix it ("" when fine)."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        """`FAIL  jetpack     not a Jetson (...)` plus an indented `fix:` line when there is one."""
        text = f"{self.status:<5} {self.name:<12} {self.detail}"
        return text + (f"\n{'':18}fix: {self.fix}" if self.fix and self.status != "PASS" else "")


def needs_jetson(cfg: Config) -> bool:
    """True when the configuration asks for something only a Jetson has."""
    uri = cfg.source.uri.lower()
    return (
        cfg.pose.type == "trt_pose"
        or cfg.gpio.backend == "jetson"
        or cfg.classifier.runtime == "tensorrt"
        or cfg.source.backend == "jetson"
        or uri.startswith(("csi://", "v4l2://"))
    )


def check_config(path: str | None) -> tuple[Check, Config]:
    """The config file loads and validates; on failure the other checks run on the defaults."""
    if path is None:
        return Check(
            "config", "WARN", "no --config given: checking the defaults", "fallwatch doctor --config FILE"
        ), Config()
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        fix = "edit the key named above; install/config.example.toml documents every key"
        if "cannot read" in str(exc):
            fix = "run it with sudo: the file is readable by its owner only (it may hold tokens)"
        return Check("config", "FAIL", str(exc), fix), Config()
    return Check("config", "PASS", f"{path} loads and validates"), cfg


def check_jetpack(cfg: Config, release_file: Path = TEGRA_RELEASE) -> Check:
    """L4T R36 (JetPack 6) from /etc/nv_tegra_release."""
    if not release_file.is_file():
        if needs_jetson(cfg):
            return Check(
                "jetpack",
                "FAIL",
                f"not a Jetson ({release_file} not found), but the config needs one (trt_pose, Jetson GPIO, TensorRT or csi://)",
                'on a PC use pose.type = "mediapipe" and gpio.backend = "simulated"',
            )
        return Check("jetpack", "SKIP", f"not a Jetson ({release_file} not found); the config needs none")
    first = release_file.read_text(errors="replace").splitlines()[:1]
    match = re.match(r"# R(\d+) \(release\), REVISION: ([\d.]+)", first[0] if first else "")
    if not match:
        return Check("jetpack", "FAIL", f"cannot read {release_file}: {first!r}", "reflash JetPack 6")
    release, revision = match.groups()
    if release != "36":
        return Check(
            "jetpack",
            "FAIL",
            f"L4T R{release}.{revision} is not JetPack 6",
            "flash JetPack 6 (L4T R36) on a Jetson Orin",
        )
    return Check("jetpack", "PASS", f"L4T R36.{revision} (JetPack 6)")


def _import_tensorrt() -> Any:
    import tensorrt  # heavy: imported on use

    return tensorrt


def check_tensorrt(cfg: Config, importer: Callable[[], Any] = _import_tensorrt) -> Check:
    """TensorRT's Python module and version (JetPack ships it)."""
    required = cfg.classifier.runtime == "tensorrt" or cfg.pose.type == "trt_pose"
    try:
        version = str(importer().__version__)
    except ImportError:
        fix = f"{SETUP} (JetPack's TensorRT; the venv must use --system-site-packages)"
        if required:
            return Check("tensorrt", "FAIL", "TensorRT not importable, and the config needs it", fix)
        if not TEGRA_RELEASE.is_file():
            return Check("tensorrt", "SKIP", "TensorRT not installed (not needed: ONNX Runtime runs the classifier)")
        return Check("tensorrt", "WARN", "TensorRT not importable: the classifier falls back to ONNX Runtime", fix)
    return Check("tensorrt", "PASS", f"TensorRT {version}")


def _gpu_identity() -> dict[str, str]:
    """This system's TensorRT version, GPU, compute capability and board (imports tensorrt, loads libcudart)."""
    from edge.classifier.tensorrt import device_identity, import_tensorrt

    return device_identity(*import_tensorrt())


def check_engines(cfg: Config, identity: Callable[[], dict[str, str]] = _gpu_identity) -> list[Check]:
    """The classifier's and trt_pose's TensorRT engines were built for this TensorRT and GPU."""
    wanted = []
    if cfg.classifier.runtime in ("auto", "tensorrt"):
        rebuilt = cfg.classifier.rebuild_engine
        wanted.append(("engine", Path(cfg.classifier.engine_path), "gru_engine", rebuilt))
    if cfg.pose.type == "trt_pose":
        wanted.append(("pose-engine", Path(cfg.pose.trt_pose_engine), "pose_engine", cfg.pose.trt_pose_rebuild_engine))
    if not wanted:
        return [Check("engine", "SKIP", "the config uses no TensorRT engine")]
    try:
        system = identity()
    except (ImportError, RuntimeError) as exc:
        required = cfg.classifier.runtime == "tensorrt" or cfg.pose.type == "trt_pose"
        status: Status = "FAIL" if required else "SKIP"
        return [
            Check("engine", status, f"cannot check engines here: {exc}", f"{SETUP} on the Jetson" if required else "")
        ]
    checks = []
    for name, engine, step, rebuilt_at_start in wanted:
        problems = ["missing"] if not engine.is_file() else record_mismatch(read_record(engine), system, DEVICE_FIELDS)
        if not problems:
            checks.append(
                Check(name, "PASS", f"{engine} built for TensorRT {system['tensorrt']} on {system['device']}")
            )
            continue
        fix = f"{SETUP} --steps {step} (engines are device-specific: rebuild after a JetPack upgrade)"
        if rebuilt_at_start:
            checks.append(Check(name, "WARN", f"{engine}: {'; '.join(problems)}; rebuilt at start (minutes)", fix))
        else:
            checks.append(Check(name, "FAIL", f"{engine}: {'; '.join(problems)}", fix))
    return checks


def check_classifier_model(cfg: Config) -> Check:
    """The exported ONNX model the classifier (and its engine) comes from."""
    model = Path(cfg.classifier.model)
    if model.is_file():
        return Check("model", "PASS", f"{model} ({model.stat().st_size} bytes)")
    return Check("model", "FAIL", f"classifier.model = {model}: no such file", f"{SETUP} --steps models")


def check_camera(cfg: Config, timeout_s: float) -> Check:
    """The source opens and delivers a frame within timeout_s (through the pipeline's own source factory)."""
    from edge.sources import create_source

    uri = cfg.source.uri
    fix = (
        f"check source.uri = {uri!r}, the cable, and the permissions (ls -l /dev/video*; the fallwatch user "
        "is in group video); a camera used by the running service is busy: sudo systemctl stop fallwatch"
    )
    if uri.startswith("/dev/") and not Path(uri).exists():
        return Check("camera", "FAIL", f"{uri}: no such device (is the camera plugged in? ls /dev/video*)", fix)
    try:
        source = create_source(cfg.source)
    except Exception as exc:
        return Check("camera", "FAIL", f"{uri}: {exc}", fix)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not source.finished:
            frame = source.read()
            if frame is not None:
                height, width = frame.image.shape[:2]
                return Check("camera", "PASS", f"{uri}: a {width}x{height} frame")
            time.sleep(0.05)
    except Exception as exc:
        return Check("camera", "FAIL", f"{uri}: {exc}", fix)
    finally:
        source.close()
    return Check("camera", "FAIL", f"{uri}: no frame within {timeout_s:g} s", fix)


def check_unit(cfg: Config, units: Path = UNITS) -> Check:
    """The installed service sees what this doctor run sees: doctor runs outside the unit, so a unit
    that hides /tmp (PrivateTmp=yes, the old unit) would fail on a CSI camera while doctor passes."""
    installed = sorted(units.glob("fallwatch*.service"))
    if not installed:
        return Check("unit", "SKIP", f"no fallwatch unit in {units}")
    hiding = [u.name for u in installed if "PrivateTmp=yes" in u.read_text(errors="replace").splitlines()]
    if hiding and cfg.source.uri.lower().startswith("csi://"):
        return Check(
            "unit",
            "FAIL",
            f"{', '.join(hiding)}: PrivateTmp=yes hides nvargus-daemon's /tmp/argus_socket: the CSI camera "
            "works here but not in the service",
            f"{SETUP} --steps service (installs the unit with PrivateTmp=no)",
        )
    return Check("unit", "PASS", f"{', '.join(u.name for u in installed)} installed")


def check_gpio(cfg: Config) -> Check:
    """Jetson.GPIO imports and the three pins can be set up (outputs LOW) and released."""
    if cfg.gpio.backend != "jetson":
        return Check("gpio", "SKIP", 'gpio.backend = "simulated": no pins used')
    fix = (
        f"{SETUP} --steps user,udev, then reboot. 'Could not determine Jetson model' (a container, or a board "
        "Jetson.GPIO does not know, e.g. Orin Nano Super): JETSON_MODEL_NAME=JETSON_ORIN_NANO in "
        "/etc/fallwatch/fallwatch.env, or mount /proc/device-tree in the container"
    )
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if not chips:
        return Check("gpio", "FAIL", "no /dev/gpiochip*: not a Jetson, or the devices are not visible", fix)
    locked = [str(c) for c in chips if not os.access(c, os.R_OK | os.W_OK)]
    if locked:
        return Check("gpio", "FAIL", f"no read/write access to {', '.join(locked)} (user {os.getuid()})", fix)
    problem = pin_problem(cfg.gpio)
    if problem:
        return Check("gpio", "FAIL", problem, "edit [gpio] in the config as said above")
    pins = {"buzzer": cfg.gpio.buzzer_pin, "led": cfg.gpio.led_pin, "cancel": cfg.gpio.cancel_pin}
    try:
        import Jetson.GPIO as GPIO
    except Exception as exc:
        return Check("gpio", "FAIL", f"Jetson.GPIO: {exc}", fix)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # pinmux not GPIO, channel already in use: shown, never hidden
            GPIO.setmode(GPIO.BOARD)
            GPIO.setup([pins["buzzer"], pins["led"]], GPIO.OUT, initial=GPIO.LOW)
            GPIO.setup(pins["cancel"], GPIO.IN)
    except Exception as exc:  # Jetson.GPIO raises RuntimeError, ValueError and its GPIOError (an OSError)
        return Check("gpio", "FAIL", f"pins {pins}: {exc}", "is the service running? sudo systemctl stop 'fallwatch*'")
    finally:
        GPIO.cleanup(list(pins.values()))
    if caught:
        said = "; ".join(str(w.message) for w in caught)
        return Check("gpio", "WARN", f"pins {pins} set up, but Jetson.GPIO warned: {said}", JETSON_IO)
    return Check("gpio", "PASS", f"BOARD pins {pins} set up and released")


def check_pose(cfg: Config) -> Check:
    """The configured pose model loads."""
    from edge.pose import create_pose

    try:
        pose = create_pose(cfg.pose)
    except Exception as exc:
        fix = f"{SETUP} --steps weights,pose_onnx,pose_engine" if cfg.pose.type == "trt_pose" else ""
        return Check("pose", "FAIL", f"pose.type = {cfg.pose.type!r}: {exc}", fix or "pip install 'fallwatch[cpu]'")
    pose.close()
    return Check("pose", "PASS", f"pose.type = {cfg.pose.type!r} loads")


def channel_endpoint(url: str) -> tuple[str, int]:
    """(host, port) an Apprise URL delivers to, without sending anything: the service's fixed endpoint
    (api.telegram.org, api.pushover.net, hooks.slack.com...), the SMTP server, or the URL's own host.
    Raises ValueError when Apprise does not know the URL."""
    import apprise  # imported on use

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise ValueError("Apprise does not recognise this URL")
    for attr in ("notify_url", "webhook_url", "api_url"):
        fixed = getattr(plugin, attr, None)
        if isinstance(fixed, str) and "://" in fixed:
            parsed = urllib.parse.urlsplit(fixed.replace("{}", "x"))
            return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)
    secure = bool(getattr(plugin, "secure", False))
    smtp = getattr(plugin, "smtp_host", None)
    if smtp:
        return str(smtp), int(getattr(plugin, "port", None) or (465 if secure else 587))
    host = getattr(plugin, "host", None)
    if host:
        return str(host), int(getattr(plugin, "port", None) or (443 if secure else 80))
    cloud = getattr(plugin, "cloud_notify_url", None)
    if isinstance(cloud, str):
        parsed = urllib.parse.urlsplit(cloud)
        return parsed.hostname or "", parsed.port or 443
    raise ValueError("cannot tell which host this URL delivers to")


def tcp_reachable(host: str, port: int, timeout_s: float) -> str:
    """ "" when host resolves and accepts a TCP connection on port, else what went wrong."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"DNS lookup failed ({exc.strerror})"
    last = ""
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout_s)
                sock.connect(address)
                return ""
        except OSError as exc:
            last = exc.strerror or exc.__class__.__name__
    return f"TCP connect failed ({last})"


def _shown(host: str) -> str:
    """A host name as printed: one without a dot may be a token that Apprise parsed as a host."""
    return host if "." in host or ":" in host else "<host>"


def check_channels(cfg: Config, timeout_s: float) -> list[Check]:
    """Each notification URL's host resolves and accepts a TCP connection: a dry run, nothing is sent."""
    from edge.alerts.notify import notify_urls

    urls = notify_urls(cfg.notify)
    if not urls:
        return [Check("notify", "WARN", "no notify.urls: alarms stay in the room", "add a channel, e.g. ntfy://topic")]
    checks = []
    for i, url in enumerate(urls):
        name, scheme = f"notify[{i}]", url.split("://", 1)[0]
        try:
            host, port = channel_endpoint(url)
        except (ValueError, ImportError) as exc:
            checks.append(Check(name, "FAIL", f"{scheme}://...: {exc}", "see https://github.com/caronc/apprise/wiki"))
            continue
        problem = tcp_reachable(host, port, timeout_s)
        where = f"{scheme}:// -> {_shown(host)}:{port}"
        if problem:
            fix = "check the network (ping, DNS in /etc/resolv.conf) and the URL; alerts wait in the outbox meanwhile"
            checks.append(Check(name, "FAIL", f"{where}: {problem}", fix))
        else:
            checks.append(Check(name, "PASS", f"{where} reachable (nothing sent)"))
    return checks


def check_mqtt(cfg: Config, timeout_s: float) -> Check:
    """The MQTT broker accepts a TCP connection (no MQTT session is opened)."""
    if not cfg.mqtt.enabled:
        return Check("mqtt", "SKIP", "mqtt.enabled = false")
    problem = tcp_reachable(cfg.mqtt.host, cfg.mqtt.port, timeout_s)
    where = f"{cfg.mqtt.host}:{cfg.mqtt.port}"
    if problem:
        return Check("mqtt", "FAIL", f"broker {where}: {problem}", "check mqtt.host/mqtt.port and that the broker runs")
    return Check("mqtt", "PASS", f"broker {where} accepts connections")


def alsa_devices() -> list[str]:
    """PCM device names `aplay -L` lists ([] when aplay is missing or fails)."""
    aplay = shutil.which("aplay")
    if not aplay:
        return []
    try:
        out = subprocess.run([aplay, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line and not line[0].isspace()]


def check_voice(cfg: Config, devices: Callable[[], list[str]] = alsa_devices) -> Check:
    """espeak-ng speaks the prompt, and the audio device is one ALSA knows (nothing is played)."""
    from edge.alerts.voice import prompt_text, synthesize

    voice = cfg.voice
    if not voice.enabled:
        return Check("voice", "SKIP", "voice.device and voice.wav are empty: no spoken prompts")
    try:
        wav = synthesize(prompt_text(voice.ask, voice.name), voice)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return Check("voice", "FAIL", str(exc), "sudo apt-get install espeak-ng; check voice.language / voice.voice")
    spoken = f"espeak-ng made {len(wav)} bytes of speech"
    if voice.wav:
        return Check("voice", "PASS", f"{spoken}; prompts go to {voice.wav}")
    if not shutil.which("aplay"):
        return Check("voice", "FAIL", f"{spoken}, but aplay is missing", "sudo apt-get install alsa-utils")
    known = devices()
    card = voice.device.split(":", 1)[0]
    if voice.device not in known and not (card in ("hw", "plughw") and voice.device.count(":") == 1):
        listed = ", ".join(known[:8]) or "none"
        return Check("voice", "FAIL", f"voice.device = {voice.device!r}: ALSA has no such device (aplay -L: {listed})",
                     "pick one from `aplay -L`, or plughw:CARD,DEV from `aplay -l`")  # fmt: skip
    return Check("voice", "PASS", f"{spoken}; ALSA device {voice.device!r} exists")


def check_zones(cfg: Config) -> Check:
    """Bed and sofa zones are drawn: without one, someone who drops fast onto a bed or sofa in view and
    lies there raises a fall alert (README, Known limits). A room with none in view needs none: WARN."""
    zones = cfg.events.bed_zones
    if zones:
        return Check("zones", "PASS", f"{len(zones)} bed or sofa zone(s): lying inside them never alarms")
    page = f"port {cfg.web.port}" if cfg.web.port else "set [web] port and password_hash first"
    return Check(
        "zones",
        "WARN",
        "no bed or sofa zone: someone who drops fast onto a bed or sofa in view and lies there raises a fall alert",
        f"click each bed's and sofa's corners on the set-up page's live view ({page}), or set [events] "
        "bed_zones; a camera that sees no bed or sofa needs none",
    )


def check_disk(cfg: Config, min_free: int = MIN_FREE_BYTES) -> Check:
    """Free space where the outbox lives (its folder, or the nearest existing parent)."""
    folder = Path(cfg.notify.outbox).parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    detail = f"{free / 2**30:.1f} GiB free at {existing}"
    if existing != folder:
        detail += f" ({folder} not created yet: the service creates it)"
    if free < min_free:
        return Check("disk", "FAIL", detail, f"free at least {min_free >> 20} MiB: alerts are queued there")
    return Check("disk", "PASS", detail)


def clock_synchronised() -> bool | None:
    """True/False from timedatectl (or systemd-timesyncd's flag file); None when neither can tell."""
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        try:
            out = subprocess.run(
                [timedatectl, "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
            return out.stdout.strip() == "yes"
    if Path("/run/systemd/timesync/synchronized").exists():
        return True
    return None


def check_clock(state: Callable[[], bool | None] = clock_synchronised) -> Check:
    """The clock is NTP-synchronised (alert times, TLS certificates: a Jetson has no RTC battery by default)."""
    synced = state()
    if synced is None:
        return Check("clock", "SKIP", "cannot tell: no timedatectl answer and no /run/systemd/timesync/synchronized")
    if synced:
        return Check("clock", "PASS", "synchronised (NTP)")
    return Check(
        "clock",
        "FAIL",
        "not synchronised: alert times may be wrong and TLS (push, MQTT) may fail",
        "sudo timedatectl set-ntp true; check the network; timedatectl timesync-status",
    )


def run_checks(
    config_path: str | None,
    camera_timeout_s: float = 5.0,
    net_timeout_s: float = 3.0,
    held: dict[str, Check] | None = None,
) -> list[Check]:
    """Every check, in order; never raises for what it finds.

    held: results for the parts a running service holds ("camera", "gpio", "pose"), given by that
    service (the set-up page) and used instead of opening them a second time.
    """
    held = held or {}
    config, cfg = check_config(config_path)
    checks = [config, check_jetpack(cfg), check_tensorrt(cfg), *check_engines(cfg), check_classifier_model(cfg)]
    checks += [
        held.get("camera") or check_camera(cfg, camera_timeout_s),
        check_unit(cfg),
        held.get("gpio") or check_gpio(cfg),
        check_voice(cfg),
        held.get("pose") or check_pose(cfg),
        check_zones(cfg),
    ]
    checks += [*check_channels(cfg, net_timeout_s), check_mqtt(cfg, net_timeout_s), check_disk(cfg), check_clock()]
    return checks
