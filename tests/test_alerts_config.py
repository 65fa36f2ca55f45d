"""Secrets and `fallwatch notify-test`: tokens from the file or the environment, a readable file with
secrets refused, and the command run as a real process against a real HTTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.alerts.hub import AlertHub
from edge.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
TOKEN = "tk-0123456789abcdef"


def _config(folder: Path, text: str, mode: int) -> Path:
    path = folder / "fallwatch.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "mode", "refused"),
    [
        (f'[notify]\nurls = ["ntfy://ntfy.sh/{TOKEN}"]\n', 0o644, True),  # a token others can read
        (f'[notify]\nurls = ["ntfy://ntfy.sh/{TOKEN}"]\n', 0o640, True),  # the group can read it
        (f'[notify]\nurls = ["ntfy://ntfy.sh/{TOKEN}"]\n', 0o600, False),  # owner only: fine
        (f'[mqtt]\nenabled = true\npassword = "{TOKEN}"\n', 0o604, True),  # an MQTT password too
        ('room = "Hall"\n', 0o644, False),  # no secrets: may be world-readable
    ],
)
def test_a_config_file_with_secrets_must_be_private(tmp_path, text, mode, refused):
    path = _config(tmp_path, text, mode)
    if refused:
        with pytest.raises(ConfigError, match="chmod 600") as info:
            load_config(path)
        assert TOKEN not in str(info.value)
    else:
        load_config(path)


def test_secrets_from_the_environment_keep_the_file_shareable(tmp_path, monkeypatch):
    monkeypatch.setenv("FALLWATCH_NOTIFY_URLS", f"json://127.0.0.1:9/{TOKEN}")
    monkeypatch.setenv("FALLWATCH_MQTT_PASSWORD", TOKEN)
    path = _config(tmp_path, f'room = "Hall"\n[notify]\noutbox = "{tmp_path}/o.sqlite"\n', 0o644)
    cfg = load_config(path)
    hub = AlertHub.from_config(cfg)
    assert hub.notifier is not None and [c.name for c in hub.notifier.channels] == ["json://127.0.0.1:9/****"]
    hub.close()


def _notify_test(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FALLWATCH_NOTIFY_URLS"}
    env.update(PYTHONPATH=str(REPO), **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "-v", "notify-test", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_notify_test_reports_each_channel_and_hides_tokens(tmp_path, receiver):
    state, port = receiver
    state.script = [(200, {}), (403, {})]
    path = _config(
        tmp_path,
        f'room = "Hall"\n[notify]\nurls = ["json://127.0.0.1:{port}/a/{TOKEN}", "json://127.0.0.1:{port}/b/{TOKEN}"]\n',
        0o600,
    )
    done = _notify_test(["--config", str(path)], {})
    assert done.returncode == 1, done.stderr
    assert f"ok     #1 json://127.0.0.1:{port}/****" in done.stdout
    assert f"FAILED #2 json://127.0.0.1:{port}/****" in done.stdout
    assert "1 of 2 channel(s)" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert [a.body["title"] for a in state.arrivals] == ["FallWatch test: Hall"] * 2


def test_notify_test_with_the_environment_and_with_nothing(tmp_path, receiver):
    state, port = receiver
    done = _notify_test([], {"FALLWATCH_NOTIFY_URLS": f"json://127.0.0.1:{port}/{TOKEN}"})
    assert done.returncode == 0 and "1 of 1 channel(s)" in done.stdout
    assert [a.path for a in state.arrivals] == [f"/{TOKEN}"]
    assert TOKEN not in done.stdout + done.stderr
    nothing = _notify_test([], {})
    assert nothing.returncode == 1 and "no channel configured" in nothing.stdout


def test_notify_test_refuses_a_readable_config_with_tokens(tmp_path):
    path = _config(tmp_path, f'[notify]\nurls = ["ntfy://ntfy.sh/{TOKEN}"]\n', 0o644)
    done = _notify_test(["--config", str(path)], {})
    assert done.returncode == 2 and "chmod 600" in done.stderr
    assert TOKEN not in done.stderr
