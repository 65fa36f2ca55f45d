"""Bed zones written into the config file: only the `bed_zones` line of [events] changes.

Every other line, comment included, stays as the user wrote it. The new text is validated as a whole
config before it is written (atomically, keeping the file's mode, 0600 for a file with secrets), and
read back: a file whose layout hides the key (a dotted or inline-table form) is refused, never guessed.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from edge.config import ConfigError, config_from_text
from edge.files import write_atomic

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*bed_zones\s*=")

Zones = list[list[list[float]]]


def save_bed_zones(path: str | Path, zones: Zones) -> Zones:
    """Set events.bed_zones in the config file at `path`; the zones as validated (floats).

    Raises ConfigError naming the file and key for bad zones or a file it cannot edit safely.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new = config_from_text(set_bed_zones(text, zones), str(path))
    if new.events.bed_zones != [[[float(c) for c in p] for p in zone] for zone in zones]:
        raise ConfigError(f"{path}: events.bed_zones is written in a form this page cannot edit; edit it by hand")
    write_atomic(path, set_bed_zones(text, new.events.bed_zones).encode(), mode=stat.S_IMODE(path.stat().st_mode))
    return new.events.bed_zones


def set_bed_zones(text: str, zones: Zones) -> str:
    """`text` (a config file) with the [events] table's bed_zones set to `zones` (one line)."""
    line = f"bed_zones = {json.dumps(zones)}\n"  # a JSON array of numbers is a TOML array
    lines = text.splitlines(keepends=True)
    start = next((i for i, text_line in enumerate(lines) if _section(text_line) == "events"), None)
    if start is None:
        return text + ("" if not text or text.endswith("\n") else "\n") + "\n[events]\n" + line
    end = next((i for i in range(start + 1, len(lines)) if _section(lines[i]) is not None), len(lines))
    for i in range(start + 1, end):
        if _KEY.match(lines[i]):
            last, depth = i, 0
            while True:  # an array may span several lines: up to the line that closes it
                code = lines[last].split("#", 1)[0]
                depth += code.count("[") - code.count("]")
                if depth <= 0 or last + 1 >= end:
                    break
                last += 1
            return "".join([*lines[:i], line, *lines[last + 1 :]])
    return "".join([*lines[: start + 1], line, *lines[start + 1 :]])


def _section(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1) if match else None
