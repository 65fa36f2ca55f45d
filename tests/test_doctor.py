"""`fallwatch doctor` on this (non-Jetson) machine with a Jetson config: it must say honestly what is
missing (JetPack, TensorRT, GPIO, pose model) and exit non-zero, while the checks that can pass here
do pass against real parts: a real video file as the camera, a real HTTP server on 127.0.0.1 as the
notification channel, a real closed port as an unreachable MQTT broker."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.config import Config, EventsConfig, WebConfig
from edge.doctor import (
    channel_endpoint,
    check_clock,
    check_config,
    check_engines,
    check_jetpack,
    check_tensorrt,
    check_unit,
    check_zones,
)
from edge.pose.recorded import Trace, record_trace
from edge.web.auth import hash_password

REPO = Path(__file__).resolve().parents[1]
JETSON = {"tensorrt": "10.3.0", "device": "Orin", "compute_capability": "8.7", "board": "NVIDIA Jetson Orin NX"}


@pytest.fixture
def http_server() -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 that records every request (the doctor must send none)."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    assert requests == [], "the doctor sent a notification"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _video(path: Path) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    return path


def _write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    path.chmod(0o600)
    return path


def test_doctor_on_a_pc_with_a_jetson_config(
    tmp_path: Path, http_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "fallwatch.onnx"
    model.write_bytes(b"onnx")
    config = _write_config(
        tmp_path,
        f"""
[source]
uri = "{_video(tmp_path / "clip.avi")}"
[pose]
type = "trt_pose"
trt_pose_model = "{tmp_path / "pose.onnx"}"
[classifier]
model = "{model}"
[gpio]
backend = "jetson"
[notify]
urls = ["json://127.0.0.1:{http_server}/hook"]
outbox = "{tmp_path / "state" / "outbox.sqlite"}"
[mqtt]
enabled = true
port = {_closed_port()}
""",
    )
    status = cli_main(["doctor", "--config", str(config), "--camera-timeout", "10", "--net-timeout", "2"])
    out = capsys.readouterr().out
    lines = {
        line.split()[1]: line.split()[0] for line in out.splitlines() if line[:4] in ("PASS", "WARN", "FAIL", "SKIP")
    }
    assert status == 1
    assert lines["config"] == "PASS"
    assert lines["jetpack"] == "FAIL"  # no /etc/nv_tegra_release here, and trt_pose/Jetson GPIO need one
    assert lines["tensorrt"] == "FAIL"
    assert lines["engine"] == "FAIL"
    assert lines["gpio"] == "FAIL"
    assert lines["pose"] == "FAIL"
    assert lines["model"] == "PASS"
    assert lines["camera"] == "PASS", out
    assert lines["notify[0]"] == "PASS", out
    assert f"json:// -> 127.0.0.1:{http_server} reachable (nothing sent)" in out
    assert lines["mqtt"] == "FAIL"
    assert lines["disk"] == "PASS"
    assert lines["zones"] == "WARN"  # a warning: the exit status and the summary's fixes do not count it
    assert "fix: sudo install/jetson-setup.sh" in out
    summary = out.rstrip().splitlines()[-1]  # e.g. "5 PASS, 6 FAIL, 1 SKIP: fix jetpack, tensorrt, ..."
    assert summary.startswith("5 PASS") and ": fix jetpack, tensorrt, engine, gpio, pose, mqtt" in summary


def test_doctor_passes_a_pc_config_where_nothing_is_missing(
    tmp_path: Path, http_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0 when no check fails: a PC config (recorded pose, simulated GPIO) on this machine."""
    model = tmp_path / "fallwatch.onnx"
    model.write_bytes(b"onnx")
    trace = tmp_path / "trace.npz"
    record_trace(trace, Trace(times=np.arange(3) / 10, keypoints=np.zeros((3, 1, 18, 3)), size=(64, 48)))
    config = _write_config(
        tmp_path,
        f"""
[source]
uri = "{_video(tmp_path / "clip.avi")}"
[pose]
type = "recorded"
recorded_path = "{trace}"
[classifier]
runtime = "onnxruntime"
model = "{model}"
[notify]
urls = ["json://127.0.0.1:{http_server}/hook"]
outbox = "{tmp_path / "outbox.sqlite"}"
""",
    )
    status = cli_main(["doctor", "--config", str(config)])
    out = capsys.readouterr().out
    fails = [line for line in out.splitlines() if line.startswith("FAIL") and not line.startswith("FAIL  clock")]
    assert fails == [], out
    if "FAIL  clock" not in out:
        assert status == 0, out


def test_a_bad_config_is_a_fail_naming_the_key(tmp_path: Path) -> None:
    check, cfg = check_config(str(_write_config(tmp_path, "[gpio]\nbuzzer_pin = 99\n")))
    assert check.status == "FAIL"
    assert "gpio.buzzer_pin" in check.detail and "99" in check.detail
    assert cfg == Config()


@pytest.mark.parametrize(
    ("release", "status", "text"),
    [
        ("# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic", "PASS", "L4T R36.4.0 (JetPack 6)"),
        ("# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref", "FAIL", "L4T R32.7.1 is not JetPack 6"),
        ("nonsense", "FAIL", "cannot read"),
    ],
)
def test_jetpack_from_the_release_file(tmp_path: Path, release: str, status: str, text: str) -> None:
    path = tmp_path / "nv_tegra_release"
    path.write_text(release + "\n")
    check = check_jetpack(Config(), path)
    assert (check.status, text in check.detail) == (status, True)


def test_no_jetson_is_a_skip_when_the_config_needs_none(tmp_path: Path) -> None:
    assert check_jetpack(Config(), tmp_path / "absent").status == "SKIP"


def test_tensorrt_version_is_reported() -> None:
    class FakeTensorRT:
        __version__ = "10.3.0"

    check = check_tensorrt(Config(), importer=lambda: FakeTensorRT)
    assert (check.status, check.detail) == ("PASS", "TensorRT 10.3.0")


def _engine(folder: Path, name: str, record: dict[str, str]) -> Path:
    engine = folder / name
    engine.write_bytes(b"engine")
    (folder / f"{name}.json").write_text(json.dumps(record))
    return engine


def test_engines_built_for_this_device_pass_and_others_fail(tmp_path: Path) -> None:
    """The JSON build records beside the engines (edge/classifier/tensorrt.py, for both networks)."""
    gru = _engine(tmp_path, "fallwatch.engine", {**JETSON, "onnx_sha256": "ab"})
    _engine(tmp_path, "pose.engine", {**JETSON, "compute_capability": "7.2", "device": "Xavier"})
    cfg = Config()
    cfg.classifier.engine = str(gru)
    cfg.classifier.rebuild_engine = False
    cfg.pose.type = "trt_pose"
    cfg.pose.trt_pose_model = str(tmp_path / "pose.onnx")  # its engine: pose.engine beside it
    cfg.pose.trt_pose_rebuild_engine = False
    checks = {c.name: c for c in check_engines(cfg, identity=lambda: JETSON)}
    assert checks["engine"].status == "PASS"
    assert checks["pose-engine"].status == "FAIL"
    assert "device: engine has 'Xavier', this system 'Orin'" in checks["pose-engine"].detail
    assert "--steps pose_engine" in checks["pose-engine"].fix


def test_a_stale_engine_that_is_rebuilt_at_start_is_a_warning(tmp_path: Path) -> None:
    cfg = Config()
    cfg.classifier.engine = str(_engine(tmp_path, "fallwatch.engine", {**JETSON, "tensorrt": "8.6.2"}))
    (check,) = check_engines(cfg, identity=lambda: JETSON)
    assert check.status == "WARN"
    assert "rebuilt at start" in check.detail


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("json://127.0.0.1:8080/hook", ("127.0.0.1", 8080)),
        ("ntfy://mytopic", ("ntfy.sh", 443)),
        ("ntfy://ntfy.example.org/topic", ("ntfy.example.org", 80)),
        ("tgram://123456789:abcdefg_hijklmnop/12315544/", ("api.telegram.org", 443)),
        ("pover://" + "u" * 30 + "@" + "t" * 30, ("api.pushover.net", 443)),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", ("hooks.slack.com", 443)),
        ("mailto://user:pass@gmail.com", ("smtp.gmail.com", 587)),
    ],
)
def test_channel_endpoints_without_sending(url: str, endpoint: tuple[str, int]) -> None:
    assert channel_endpoint(url) == endpoint


def test_bed_zones_pass_when_drawn_and_warn_with_where_to_draw_them_when_not() -> None:
    bed = [[0.55, 0.4], [0.95, 0.4], [0.95, 0.8], [0.55, 0.8]]
    drawn = check_zones(Config().replace(events=EventsConfig(bed_zones=[bed])))
    assert (drawn.status, drawn.detail) == ("PASS", "1 bed or sofa zone(s): lying inside them never alarms")
    none = check_zones(Config())
    assert none.status == "WARN" and "drops fast onto a bed" in none.detail
    assert "set [web] port and password_hash first" in none.fix
    served = check_zones(Config().replace(web=WebConfig(port=8781, password_hash=hash_password("long enough"))))
    assert served.status == "WARN" and "(port 8781)" in served.fix


@pytest.mark.parametrize(("state", "status"), [(True, "PASS"), (False, "FAIL"), (None, "SKIP")])
def test_clock(state: bool | None, status: str) -> None:
    assert check_clock(lambda: state).status == status


def test_doctor_per_camera_reads_that_cameras_config(capsys: pytest.CaptureFixture[str]) -> None:
    """`fallwatch doctor --camera NAME` checks fallwatch@NAME's own config (here: there is none)."""
    status = cli_main(["doctor", "--camera", "no-such-camera", "--camera-timeout", "0.1", "--net-timeout", "0.1"])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  config       /etc/fallwatch/no-such-camera/config.toml: cannot read config file" in out


def test_a_unit_that_hides_the_argus_socket_fails_for_a_csi_camera(tmp_path: Path) -> None:
    cfg = Config()
    assert check_unit(cfg, tmp_path).status == "SKIP"  # nothing installed
    shipped = (REPO / "install" / "fallwatch.service").read_text()
    (tmp_path / "fallwatch.service").write_text(shipped)
    cfg.source.uri = "csi://0"
    assert check_unit(cfg, tmp_path).status == "PASS"
    (tmp_path / "fallwatch@.service").write_text(shipped.replace("PrivateTmp=no", "PrivateTmp=yes"))
    check = check_unit(cfg, tmp_path)
    assert check.status == "FAIL" and "fallwatch@.service: PrivateTmp=yes" in check.detail
    assert "--steps service" in check.fix
    cfg.source.uri = "/dev/video0"  # a USB camera needs no socket in /tmp
    assert check_unit(cfg, tmp_path).status == "PASS"
