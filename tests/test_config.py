"""The example config loads, documents every key of edge/config.py, and bad values name their key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from edge.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "install" / "config.example.toml"
KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")
SECTION_LINE = re.compile(r"^\[([A-Za-z_]+)\]\s*$")


def config_keys() -> set[str]:
    """Every settable key of Config as "section.key" (top-level keys without a section)."""
    keys = set()
    for top in dataclasses.fields(Config):
        section = top.default_factory
        if dataclasses.is_dataclass(section):
            keys |= {f"{top.name}.{f.name}" for f in dataclasses.fields(section) if f.init}
        else:
            keys.add(top.name)
    return keys


def example_keys() -> dict[str, int]:
    """ "section.key" -> line number for every key set in the example, checking each has a comment above."""
    found: dict[str, int] = {}
    section = ""
    previous = ""
    for number, line in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), start=1):
        if match := SECTION_LINE.match(line):
            section = match.group(1)
        elif match := KEY_LINE.match(line):
            name = f"{section}.{match.group(1)}" if section else match.group(1)
            assert previous.startswith("#"), f"{EXAMPLE.name}:{number}: {name} has no comment line above it"
            found[name] = number
        if line.strip():
            previous = line.strip()
    return found


def test_example_loads_and_equals_the_defaults() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg == Config(), "the example documents the defaults: a value that differs is a stale comment"


def test_every_config_field_is_documented_in_the_example() -> None:
    documented = example_keys()
    missing = sorted(config_keys() - set(documented))
    assert not missing, f"keys of edge/config.py missing from {EXAMPLE.name}: {missing}"
    stale = sorted(set(documented) - config_keys())
    assert not stale, f"keys in {EXAMPLE.name} that edge/config.py does not know: {stale}"


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("tracking.max_age_s=0", "tracking.max_age_s"),  # a track must live some time
        ("tracking.min_iou=1.5", "tracking.min_iou"),  # out of [0, 1)
        ("tracking.max_distance=-1", "tracking.max_distance"),
        ("tracking.max_age_s='long'", "tracking.max_age_s"),  # wrong type
        ("tracking.colour=1", "tracking.colour"),  # unknown key
        ("events.fall_threshold=1", "events.fall_threshold"),  # a probability in (0, 1)
        ("events.suspect_frames=0", "events.suspect_frames"),
        ("events.up_threshold=0.8", "events.up_threshold"),  # above down_threshold: no hysteresis
        ("events.min_drop=3", "events.min_drop"),
        ("events.drop_within_s=0", "events.drop_within_s"),
        ("events.motion_memory_s=0.1", "events.motion_memory_s"),  # shorter than drop_within_s
        ("events.confirm_s=-1", "events.confirm_s"),
        ("events.bed_zones=[[[0, 0], [1, 1]]]", "events.bed_zones[0]"),  # two points are no polygon
        ("events.bed_zones=[[[0, 0], [2, 0], [1, 1]]]", "events.bed_zones[0]"),  # outside the image
        ("log.level='LOUD'", "log.level"),
        ("log.events='/var/lib/fallwatch/'", "log.events"),
        ("source.lost_after_s=0", "source.lost_after_s"),
        ("features.window_frames=1.5", "features.window_frames"),
    ],
)
def test_bad_value_is_one_line_naming_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, [override])
    message = str(info.value)
    assert "\n" not in message
    assert key in message
    assert message.startswith(str(EXAMPLE))


def test_good_overrides_apply() -> None:
    cfg = load_config(EXAMPLE, ["events.confirm_s=5", "tracking.max_age_s=2", "log.events=/tmp/e.jsonl"])
    assert (cfg.events.confirm_s, cfg.tracking.max_age_s, cfg.log.events) == (5.0, 2.0, "/tmp/e.jsonl")


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[events\nconfirm_s = 1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(path)
