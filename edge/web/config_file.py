"""Keys changed in the service's config file: only those keys' lines change.

Every other line, comment included, stays as the user wrote it; a key the file does not hold yet is
added to its table (the table is added at the end when the file has none). The new values are
validated with the whole config first, and the edited text is read back: when it does not hold exactly
the old file with the new values (a key written as a dotted key or an inline table, a layout the line
editing cannot follow), the file is refused, never guessed. It is written atomically, keeping its mode
(0600 for a file with secrets).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from edge.config import Config, ConfigError, config_from_data, parse_toml, put_key, toml_value, tomllib
from edge.files import write_atomic

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


def save_keys(path: str | Path, values: dict[str, Any]) -> Config:
    """Set dotted keys ("events.confirm_s", "room") in the config file at `path`; the new Config.

    Raises ConfigError, naming the file, for a bad value (the one-line message naming key and value)
    or a file it cannot edit safely; the file is then unchanged.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = parse_toml(text, str(path))
    for key, value in values.items():
        try:
            put_key(data, key.split("."), value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {key}: {exc} in this file; edit it by hand") from None
    cfg = config_from_data(data, str(path))
    written = {key: key_value(cfg, key) for key in values}  # as validated: 5 for a float key is written 5.0
    for key, value in written.items():
        put_key(data, key.split("."), value)
    new = set_keys(text, written)
    try:
        same = tomllib.loads(new) == data
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        keys = ", ".join(values)
        raise ConfigError(f"{path}: {keys} is written in a form this page cannot edit; edit it by hand")
    write_atomic(path, new.encode(), mode=stat.S_IMODE(path.stat().st_mode))
    return cfg


def set_keys(text: str, values: dict[str, Any]) -> str:
    """`text` (a config file) with each dotted key set to its value (one line each, as TOML)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for key, value in values.items():
        table, _, name = key.rpartition(".")
        lines = _set(lines, table, name, toml_value(value))
    return "".join(lines)


def _set(lines: list[str], table: str, name: str, value: str) -> list[str]:
    """`lines` with `name = value` in `table` ("" = the top-level keys before the first table)."""
    headers = [i for i, line in enumerate(lines) if _table(line) is not None]
    if table:
        start = next((i for i in headers if _table(lines[i]) == table), None)
        if start is None:
            return [*lines, "\n", f"[{table}]\n", f"{name} = {value}\n"]
        body = range(start + 1, next((i for i in headers if i > start), len(lines)))
    else:
        body = range(0, headers[0] if headers else len(lines))
    key = re.compile(rf"^\s*{re.escape(name)}\s*=")
    for i in body:
        if key.match(lines[i]):
            end = _value_end(lines, i, body.stop)
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            comment = _comment(lines[i]) if end == i + 1 else ""
            return [*lines[:i], f"{indent}{name} = {value}{comment}\n", *lines[end:]]
    filled = [i for i in body if lines[i].strip() and not lines[i].lstrip().startswith("#")]
    at = filled[-1] + 1 if filled else body.start
    return [*lines[:at], f"{name} = {value}\n", *lines[at:]]


def _value_end(lines: list[str], start: int, stop: int) -> int:
    """The line after the key at `start`: its value may span lines (an array, a multi-line string), up to
    the first line at which the key's lines parse on their own; `stop` when none does (the read-back
    then refuses the edit)."""
    for end in range(start + 1, stop + 1):
        try:
            tomllib.loads("".join(lines[start:end]))
            return end
        except tomllib.TOMLDecodeError:
            continue
    return stop


def _comment(line: str) -> str:
    """A one-line key's own trailing comment, with the spaces before it ("  # seconds"); "" for none."""
    for i, char in enumerate(line):
        if char == "#":
            try:
                tomllib.loads(line[:i])
            except tomllib.TOMLDecodeError:
                continue  # a "#" inside a string
            return line[len(line[:i].rstrip()) :].rstrip("\n")
    return ""


def _table(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1) if match else None


def key_value(cfg: Config, key: str) -> Any:
    """The value of dotted key `key` ("events.confirm_s") in `cfg`."""
    value: Any = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return value
