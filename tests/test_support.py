"""The test helpers that decide between skipping and failing: under CI a missing prerequisite fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import shared_data_dir


def _outcome() -> BaseException:
    """What shared_data_dir() raises (skip and fail are BaseExceptions: caught here, not by pytest)."""
    with pytest.raises(BaseException) as info:
        shared_data_dir()
    assert "real fall data not found" in str(info.value)
    return info.value


def test_missing_shared_data_skips_locally_and_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALLWATCH_DATA", str(tmp_path / "absent"))
    monkeypatch.delenv("CI", raising=False)
    assert type(_outcome()) is pytest.skip.Exception
    monkeypatch.setenv("CI", "true")
    assert type(_outcome()) is pytest.fail.Exception


def test_present_shared_data_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "README.md").write_text("data")
    monkeypatch.setenv("FALLWATCH_DATA", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    assert shared_data_dir() == tmp_path
