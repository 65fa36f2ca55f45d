"""Files that are never half-written: written beside, renamed over, and on the disk before it returns."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edge.files import write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_write_atomic_syncs_the_data_and_then_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A power cut right after the rename must find the new bytes, not an empty file (ext4 may commit
    # the rename before the data without an fsync), and the rename itself.
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        synced.append("folder" if stat.S_ISDIR(mode) else f"file of {os.fstat(fd).st_size} bytes")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(tmp_path / "state.json", b"12345")
    assert synced == ["file of 5 bytes", "folder"]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
