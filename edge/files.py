"""Files that are never half-written, content hashes, and a file read from its end: one way for every
module that saves or pages data."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np


def write_via(path: str | Path, write: Callable[[Path], object], mode: int | None = None) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it onto `path`.

    The temporary name keeps `path`'s suffix (Keras and matplotlib choose the format by it). A crash or
    an exception leaves `path` as it was and no temporary file behind; the result gets `mode`, or the
    usual umask mode when None (mkstemp would leave 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def check_folder(path: str | Path, key: str) -> None:
    """Raise NotADirectoryError naming `key` when a folder above `path` is an existing file (so it could
    never be created); a missing folder is fine (the writer creates it)."""
    for folder in Path(path).parents:
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(f"{key} = {str(path)!r}: {folder} is a file, not a folder")
            return


def write_atomic(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write bytes to `path` atomically and durably (see write_via; `mode` as there): the data reaches the
    disk before the rename, and the rename before this returns, so a power cut leaves the old file or
    the new one, never an empty one."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())

    written = write_via(path, write, mode)
    folder = os.open(written.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return written


def write_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    """Write a compressed .npz atomically (see write_via); `path` is used as given (no .npz appended)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks; OSError when it cannot be read."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Bytes read per step when a file is read from its end.
BLOCK = 64 * 1024


def lines_backwards(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of the file at `path` and where each starts, last first, read in
    BLOCK-sized pieces from its end."""
    with Path(path).open("rb") as file:
        position = file.seek(0, 2)
        rest = b""
        while position > 0:
            step = min(BLOCK, position)
            position -= step
            file.seek(position)
            data = file.read(step) + rest
            lines = data.split(b"\n")
            rest = lines[0]  # may continue in the block before
            start = position + len(data)
            for line in reversed(lines[1:]):
                start -= len(line)
                if line.strip():
                    yield start, line
                start -= 1  # the newline before it
        if rest.strip():
            yield 0, rest
