"""install/jetson-setup.sh, run for real in a scratch root (--root): argument parsing, JetPack detection
from a fake /etc/nv_tegra_release, idempotency of the user, udev, config and service steps, --uninstall,
and shellcheck on every shell script. The account tools (useradd, groupadd, usermod, userdel, groupdel)
are fakes on PATH that edit the scratch root's etc/passwd and etc/group and record their calls; the
rest (install, chmod, chown, sed, systemctl --root) are the real tools. Steps that need a Jetson
(apt, torch, TensorRT engines) are verified only on a device (see the README's deploy section).
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import require_tool

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "install" / "jetson-setup.sh"
JP61 = (
    "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 04:36:44 UTC 2024"
)
JP60 = (
    "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: Mon May  6 17:34:21 UTC 2024"
)
JP4 = (
    "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: Sat Feb 19 17:05:08 UTC 2022"
)
JP5 = (
    "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023"
)
JP6_PREVIEW = (
    "# R36 (release), REVISION: 2.0, GCID: 35084178, BOARD: generic, EABI: aarch64, DATE: Tue Dec 19 05:55:03 UTC 2023"
)
# The steps that can run off a Jetson (everything else needs apt, CUDA or the network).
LOCAL_STEPS = "user,udev,config,service"

# One fake for the shadow tools: edits <root>/etc/passwd and etc/group like the real ones would. New
# accounts get the test runner's uid/gid, so the script's real `chown` works without root.
FAKE_ACCOUNTS = """\
import os, sys
from pathlib import Path

tool, args = Path(sys.argv[0]).name, sys.argv[1:]
with open(os.environ["FAKE_CALLS"], "a") as fh:
    fh.write(" ".join([tool, *args]) + "\\n")
root = ""
if "--root" in args:
    i = args.index("--root")
    root = args.pop(i + 1)
    args.pop(i)
passwd, group = Path(root + "/etc/passwd"), Path(root + "/etc/group")
users = [line.split(":") for line in passwd.read_text().splitlines()]
groups = [line.split(":") for line in group.read_text().splitlines()]
name = args[-1]


def option(flag):
    return args[args.index(flag) + 1] if flag in args else ""


def join(group_row, user):
    members = [m for m in group_row[3].split(",") if m]
    group_row[3] = ",".join(members + [user])


if tool == "groupadd":
    groups.append([name, "x", "990", ""])
elif tool == "useradd":
    uid, gid = str(os.getuid()), str(os.getgid())
    users.append([name, "x", uid, gid, option("--comment"), option("--home-dir"), option("--shell")])
    if "--user-group" in args:
        groups.append([name, "x", gid, ""])
    for g in groups:
        if g[0] in option("--groups").split(","):
            join(g, name)
elif tool == "usermod":
    for g in groups:
        if g[0] in option("--groups").split(","):
            join(g, name)
elif tool == "userdel":
    users = [u for u in users if u[0] != name]
    groups = [g for g in groups if g[0] != name]
    for g in groups:
        g[3] = ",".join(m for m in g[3].split(",") if m and m != name)
elif tool == "groupdel":
    groups = [g for g in groups if g[0] != name]
passwd.write_text("".join(":".join(u) + "\\n" for u in users))
group.write_text("".join(":".join(g) + "\\n" for g in groups))
"""


@dataclass
class Scratch:
    """A scratch root that looks enough like a fresh JetPack image, plus the fake account tools."""

    root: Path
    env: dict[str, str]
    calls: Path

    def set_release(self, release: str | None) -> None:
        """Write etc/nv_tegra_release (None: remove it, as off a Jetson)."""
        tegra = self.root / "etc" / "nv_tegra_release"
        if release is None:
            tegra.unlink(missing_ok=True)
        else:
            tegra.write_text(release + "\n")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the set-up script with --root."""
        return subprocess.run(
            ["bash", str(SCRIPT), "--root", str(self.root), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            timeout=120,
        )

    def tree(self) -> dict[str, str]:
        """Every path under the root -> its type, mode and content hash (or link target)."""
        listing = {}
        for path in sorted(self.root.rglob("*")):
            info = path.lstat()
            key = str(path.relative_to(self.root))
            if stat.S_ISLNK(info.st_mode):
                listing[key] = f"link -> {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                listing[key] = f"dir {stat.S_IMODE(info.st_mode):o}"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                listing[key] = f"file {stat.S_IMODE(info.st_mode):o} {info.st_uid}:{info.st_gid} {digest}"
        return listing

    def call_log(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    root = tmp_path / "root"
    for folder in ("etc/udev/rules.d", "etc/systemd/system/multi-user.target.wants", "etc/ld.so.conf.d", "opt"):
        (root / folder).mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\nvideo:x:44:\n")
    (root / "etc" / "nv_tegra_release").write_text(JP61 + "\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "fake_accounts.py"
    fake.write_text(f"#!{sys.executable}\n{FAKE_ACCOUNTS}")
    fake.chmod(0o755)
    for tool in ("useradd", "groupadd", "usermod", "userdel", "groupdel"):
        (bin_dir / tool).symlink_to(fake)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_CALLS": str(tmp_path / "calls")}
    env.pop("FALLWATCH_ROOT", None)
    return Scratch(root, env, tmp_path / "calls")


# ---- argument parsing and JetPack detection ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--steps", "user,coffee"], "unknown step 'coffee'"),
        (["--steps"], "--steps needs a comma-separated list"),
        (["--purge"], "--purge only goes with --uninstall"),
    ],
)
def test_bad_arguments_are_refused(scratch: Scratch, args: list[str], message: str) -> None:
    result = scratch.run(*args)
    assert result.returncode == 1
    assert message in result.stderr


def test_help_lists_the_steps(scratch: Scratch) -> None:
    result = scratch.run("--help")
    assert result.returncode == 0
    assert "--uninstall" in result.stdout
    assert "Steps: packages user udev venv" in result.stdout


def test_a_missing_root_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(tmp_path / "nowhere"), "--dry-run"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no such directory" in result.stderr


@pytest.mark.parametrize(
    ("release", "wheels"), [(JP61, "JetPack 6 (wheels for jp/v61)"), (JP60, "JetPack 6 (wheels for jp/v60)")]
)
def test_jetpack6_is_accepted(scratch: Scratch, release: str, wheels: str) -> None:
    scratch.set_release(release)
    result = scratch.run("--dry-run", "--steps", "user")
    assert result.returncode == 0, result.stderr
    assert wheels in result.stdout


@pytest.mark.parametrize(
    ("release", "message"),
    [
        (JP4, "is JetPack 4 (the original Jetson Nano, Python 3.6): not supported"),
        (JP5, "L4T R35.4.1 is not JetPack 6"),
        (JP6_PREVIEW, "developer preview"),
        (None, "this is not a Jetson"),
        ("garbage", "cannot read the L4T release"),
    ],
)
def test_other_releases_are_refused_with_a_reason(scratch: Scratch, release: str | None, message: str) -> None:
    scratch.set_release(release)
    before = scratch.tree()
    result = scratch.run("--steps", LOCAL_STEPS)
    assert result.returncode == 1
    assert message in result.stderr
    assert scratch.call_log() == []
    assert scratch.tree() == before  # refused before touching anything


def test_dry_run_prints_every_step_and_changes_nothing(scratch: Scratch) -> None:
    before = scratch.tree()
    result = scratch.run("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "[1/13] packages:" in result.stdout  # training is left out without --with-training
    assert "[13/13] service:" in result.stdout
    assert "training" not in result.stdout
    # Each step is checked, read-only: "to do" here (a host with every apt package may say "already done").
    outcomes = result.stdout.count("to do (dry run: nothing changed)") + result.stdout.count("  already done")
    assert outcomes == 13
    assert "[2/13] user: system user 'fallwatch' in the gpio and video groups" in result.stdout
    assert scratch.tree() == before
    assert scratch.call_log() == []
    assert "[14/14] service:" in scratch.run("--dry-run", "--with-training").stdout


def test_nothing_of_torch2trt_or_source_built_torch_is_left() -> None:
    """trt_pose runs as ONNX on TensorRT now: no torch on the device, no C++ plugins, no torchvision build."""
    text = SCRIPT.read_text()
    for gone in ("torch2trt.git", "TORCH2TRT", "torchvision", "cusparselt", "trt_pose.git", "--no-build-isolation"):
        assert gone not in text, gone
    steps = text[text.index("STEPS_ALL=(") : text.index(")", text.index("STEPS_ALL=("))]
    assert "pose_onnx pose_engine" in " ".join(steps.split())
    assert 'JETSON_UTILS_COMMIT="6d5471c97dad443776d2339569a4d1145f034a9e"' in text  # jetson-utils' v1 branch
    assert "libgstreamer-plugins-bad1.0-dev" in text and "nvidia-jetpack" in text
    assert 'VENV_TOOLS=("pip==' in text and '"setuptools==' in text  # pinned, not upgraded to whatever is new


# ---- the steps that run here, twice, then undone -------------------------------------------------


def _local_steps_available() -> None:
    require_tool("systemctl", "systemd")


def test_install_twice_changes_nothing_the_second_time(scratch: Scratch) -> None:
    _local_steps_available()
    first = scratch.run("--steps", LOCAL_STEPS)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("  done") == 4
    calls = scratch.call_log()
    assert [c.split()[0] for c in calls] == ["groupadd", "useradd"]

    installed = scratch.tree()
    config = scratch.root / "etc" / "fallwatch" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert config.stat().st_uid == os.getuid()
    text = config.read_text()
    assert 'type = "trt_pose"' in text and 'backend = "jetson"' in text
    assert 'model = "/var/lib/fallwatch/models/fallwatch.onnx"' in text
    assert (scratch.root / "etc/udev/rules.d/99-fallwatch-gpio.rules").read_bytes() == (
        REPO / "install/99-fallwatch-gpio.rules"
    ).read_bytes()
    wants = scratch.root / "etc/systemd/system/multi-user.target.wants/fallwatch.service"
    assert os.readlink(wants) == "/etc/systemd/system/fallwatch.service"
    passwd = (scratch.root / "etc" / "passwd").read_text()
    assert "fallwatch:x:" in passwd and ":/var/lib/fallwatch:/usr/sbin/nologin" in passwd
    group = (scratch.root / "etc" / "group").read_text()
    assert "video:x:44:fallwatch" in group and "gpio:x:990:fallwatch" in group

    second = scratch.run("--steps", LOCAL_STEPS)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("  already done") == 4
    assert "  done" not in second.stdout
    assert scratch.tree() == installed
    assert scratch.call_log() == calls


def test_the_config_is_never_overwritten_and_its_mode_is_repaired(scratch: Scratch) -> None:
    assert scratch.run("--steps", "user,config").returncode == 0
    config = scratch.root / "etc" / "fallwatch" / "config.toml"
    config.write_text(config.read_text().replace('room = "room"', 'room = "kitchen"'))
    config.chmod(0o644)  # readable by others: the tokens in it would leak
    result = scratch.run("--steps", "config")
    assert result.returncode == 0, result.stderr
    assert "your settings are kept" in result.stdout
    assert 'room = "kitchen"' in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_the_config_loads_as_written(scratch: Scratch) -> None:
    """The Jetson settings written into the example still validate (the config loader is the real one)."""
    from edge.config import load_config

    assert scratch.run("--steps", "user,config").returncode == 0
    cfg = load_config(scratch.root / "etc" / "fallwatch" / "config.toml")
    assert (cfg.pose.type, cfg.gpio.backend) == ("trt_pose", "jetson")


def test_a_failed_step_stops_with_what_to_do(scratch: Scratch) -> None:
    result = scratch.run("--steps", "config")  # the user does not exist yet
    assert result.returncode == 1
    assert "run the 'user' step first" in result.stderr
    assert "step 'config' failed. To fix:" in result.stderr
    assert not (scratch.root / "etc" / "fallwatch" / "config.toml").exists()


def test_uninstall_purge_restores_the_scratch_root(scratch: Scratch) -> None:
    _local_steps_available()
    before = scratch.tree()
    assert scratch.run("--steps", LOCAL_STEPS).returncode == 0
    result = scratch.run("--uninstall", "--purge", "--steps", LOCAL_STEPS)
    assert result.returncode == 0, result.stderr
    assert scratch.tree() == before
    assert [c.split()[0] for c in scratch.call_log()][-2:] == ["userdel", "groupdel"]


def test_uninstall_keeps_the_config_without_purge(scratch: Scratch) -> None:
    _local_steps_available()
    assert scratch.run("--steps", LOCAL_STEPS).returncode == 0
    result = scratch.run("--uninstall", "--steps", LOCAL_STEPS)
    assert result.returncode == 0, result.stderr
    assert "keeping" in result.stdout
    assert (scratch.root / "etc" / "fallwatch" / "config.toml").is_file()
    assert not (scratch.root / "etc" / "systemd" / "system" / "fallwatch.service").exists()
    assert "fallwatch" not in (scratch.root / "etc" / "passwd").read_text()


def test_an_existing_gpio_group_is_kept_on_uninstall(scratch: Scratch) -> None:
    """Only what the script added is removed: a gpio group that was there before stays."""
    group = scratch.root / "etc" / "group"
    group.write_text(group.read_text() + "gpio:x:999:\n")
    assert scratch.run("--steps", "user").returncode == 0
    assert [c.split()[0] for c in scratch.call_log()] == ["useradd"]
    assert scratch.run("--uninstall", "--steps", "user").returncode == 0
    assert "gpio:x:999:" in group.read_text().splitlines()


# ---- a second camera: its own config, state folder and instance of fallwatch@.service ------------


def test_a_second_camera_twice_changes_nothing_the_second_time(scratch: Scratch) -> None:
    _local_steps_available()
    from edge.config import load_config

    assert scratch.run("--steps", LOCAL_STEPS).returncode == 0  # the first camera, as before
    first = scratch.run("--camera", "kitchen", "--steps", LOCAL_STEPS)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("  done") == 2 and first.stdout.count("  already done") == 2  # config, service
    assert "camera kitchen: gpio.backend" in first.stderr  # the pins stay with the first camera
    installed = scratch.tree()
    config = scratch.root / "etc/fallwatch/kitchen/config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    cfg = load_config(config)
    assert cfg.room == "kitchen" and cfg.pose.type == "trt_pose" and cfg.gpio.backend == "simulated"
    assert cfg.log.events == "/var/lib/fallwatch/kitchen/events.jsonl"
    assert cfg.log.state == "/var/lib/fallwatch/kitchen/state.json"
    assert cfg.notify.outbox == "/var/lib/fallwatch/kitchen/outbox.sqlite"
    assert cfg.classifier.model == "/var/lib/fallwatch/models/fallwatch.onnx"  # shared, built once
    assert cfg.pose.trt_pose_model == "/var/lib/fallwatch/models/trt_pose_resnet18_att_224.onnx"
    wants = scratch.root / "etc/systemd/system/multi-user.target.wants/fallwatch@kitchen.service"
    assert os.readlink(wants) == "/etc/systemd/system/fallwatch@.service"
    assert (scratch.root / "etc/systemd/system/fallwatch@.service").read_bytes() == (
        REPO / "install/fallwatch@.service"
    ).read_bytes()
    main = load_config(scratch.root / "etc/fallwatch/config.toml")
    assert main.log.events == "/var/lib/fallwatch/events.jsonl" and main.gpio.backend == "jetson"  # untouched

    second = scratch.run("--camera", "kitchen", "--steps", LOCAL_STEPS)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("  already done") == 4 and "  done" not in second.stdout
    assert scratch.tree() == installed


def test_uninstalling_a_camera_keeps_the_others(scratch: Scratch) -> None:
    _local_steps_available()
    before = scratch.tree()
    assert scratch.run("--camera", "hall", "--steps", LOCAL_STEPS).returncode == 0
    assert scratch.run("--camera", "kitchen", "--steps", "config,service").returncode == 0
    result = scratch.run("--uninstall", "--purge", "--camera", "kitchen")
    assert result.returncode == 0, result.stderr
    assert not (scratch.root / "etc/fallwatch/kitchen").exists()
    assert not (scratch.root / "etc/systemd/system/multi-user.target.wants/fallwatch@kitchen.service").exists()
    assert (scratch.root / "etc/systemd/system/fallwatch@.service").is_file()  # hall still uses it
    assert (scratch.root / "etc/fallwatch/hall/config.toml").is_file()
    assert scratch.run("--uninstall", "--purge", "--camera", "hall").returncode == 0
    assert scratch.run("--uninstall", "--purge", "--steps", LOCAL_STEPS).returncode == 0
    assert scratch.tree() == before


@pytest.mark.parametrize("name", ["Kitchen", "../etc", "a b", ""])
def test_a_camera_name_that_cannot_name_an_instance_is_refused(scratch: Scratch, name: str) -> None:
    result = scratch.run("--camera", name, "--dry-run")
    assert result.returncode == 1
    assert "--camera" in result.stderr


# ---- shellcheck ----------------------------------------------------------------------------------


def _shell_scripts() -> list[Path]:
    scripts = []
    for folder in ("install", ".ci"):
        for path in sorted((REPO / folder).iterdir()):
            if path.is_file() and (path.suffix == ".sh" or path.read_bytes()[:32].split(b"\n")[0].endswith(b"sh")):
                scripts.append(path)
    return scripts


def test_shell_scripts_are_found() -> None:
    names = {p.name for p in _shell_scripts()}
    assert {"jetson-setup.sh", "run"} <= names


@pytest.mark.parametrize("script", _shell_scripts(), ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck_clean(script: Path) -> None:
    shellcheck = require_tool("shellcheck", "shellcheck")
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
