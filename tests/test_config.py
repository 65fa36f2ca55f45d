"""The config declarations: the example is generated from them and loads, every key has a doc, bad
values are one line naming the key, secrets stay hidden, and the page's form fields come from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from edge.cli import main as cli_main
from edge.config import (
    Config,
    ConfigError,
    EventsConfig,
    SourceConfig,
    TierConfig,
    example_toml,
    form_fields,
    load_config,
)
from edge.features import FeatureConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "install" / "config.example.toml"
KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")
SECTION_LINE = re.compile(r"^\[([A-Za-z_]+)\]\s*$")


def config_keys() -> set[str]:
    """Every settable key of Config as "section.key" (top-level keys without a section)."""
    keys = set()
    for name, info in Config.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            keys |= {f"{name}.{key}" for key in section.model_fields}
        else:
            keys.add(name)
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


def test_an_override_under_a_value_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"^override 'room.floor=2': room is not a table$"):
        load_config(None, ["room=kitchen", "room.floor=2"])


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[events\nconfirm_s = 1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(path)


def test_the_example_is_generated_from_the_declarations() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == example_toml(), (
        "install/config.example.toml is stale: run `fallwatch config-example > install/config.example.toml`"
    )


def test_the_command_prints_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["config-example"]) == 0
    assert capsys.readouterr().out == example_toml()


def test_every_key_and_section_is_declared_with_a_doc() -> None:
    sections = [info.annotation for info in Config.model_fields.values()]
    sections = [s for s in sections if isinstance(s, type) and issubclass(s, BaseModel)] + [TierConfig]
    for section in sections:
        assert (section.__doc__ or "").strip(), f"{section.__name__}: its docstring introduces the section"
        undocumented = [name for name, info in section.model_fields.items() if not (info.description or "").strip()]
        assert not undocumented, f"{section.__name__}: declare a doc for {undocumented}"
    assert Config.model_fields["room"].description


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("tracking.min_iou=1.5", "tracking.min_iou = 1.5: must be in [0, 1)"),  # the declared bounds in words
        ("events.min_drop=3", "events.min_drop = 3: must be in [0, 2] body lengths"),  # with the declared unit
        ("events.suspect_frames=0", "events.suspect_frames = 0: must be >= 1"),
        ("source.reopen_backoff_max_s=0.5", "source.reopen_backoff_max_s = 0.5: must be >= source.reopen_backoff_s"),
        ("events.confirm_s=true", "events.confirm_s = True: must be a number"),  # no coercion of a bool
        ("events.confirm_s='5'", "events.confirm_s = '5': must be a number"),  # nor of a string
        ("features.window_frames=1.5", "features.window_frames = 1.5: must be an integer"),
        # an endless confirm_s would mean a suspected fall never alerts
        ("events.confirm_s=inf", "events.confirm_s = inf: must be a finite number"),
        ("features.max_gap_s=nan", "features.max_gap_s = nan: must be a finite number"),
        ("log.level='LOUD'", "log.level = 'LOUD': must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("events=3", "events = 3: must be a table"),
        ("gpio.led_pin=33", "gpio.*_pin = [29, 33, 33]: buzzer, LED and cancel pins must differ"),
        (
            "notify.tiers=[{urls=['ntfy://a'], after_min=9}, {urls=['ntfy://b'], after_min=5}]",
            "notify.tiers = [9.0, 5.0]: tiers must be listed in order of after_min",
        ),
        ("notify.tiers=[{urls=['ntfy://a'], after_min=0}]", "notify.tiers[0].after_min = 0: must be > 0 minutes"),
    ],
)
def test_the_message_words_the_declaration(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, [override])
    assert str(info.value) == f"{EXAMPLE}: {message}"


def test_a_removed_key_is_refused_with_the_known_keys() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, ["events.cooldown_s=30"])
    assert str(info.value).startswith("defaults: events.cooldown_s = 30: unknown key; known: ['bed_zones', ")
    assert "'confirm_s'" in str(info.value)


@pytest.mark.parametrize(
    "override",
    [
        "notify.urls=['TOPSECRET']",  # not a URL
        "notify.urls='ntfy://TOPSECRET'",  # not a list
        "notify.tiers=[{urls=['TOPSECRET']}]",
        "mqtt.password=['TOPSECRET']",
        "web.port=8781",  # the hash is wrong for a page, but still not shown
    ],
)
def test_a_secret_is_never_in_a_message(override: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override, "web.password_hash='TOPSECRET'"])
    assert "TOPSECRET" not in str(info.value)
    assert "'<hidden>'" in str(info.value)


def test_a_section_built_in_code_raises_the_same_one_line_message() -> None:
    with pytest.raises(ConfigError, match=r"^source\.width = 640: set width and height together$"):
        SourceConfig(width=640)
    with pytest.raises(ConfigError, match=r"^notify\.tiers\[\]\.urls = '<hidden>': must list at least one"):
        TierConfig(urls=[])


def test_replace_is_validated_and_recomputes() -> None:
    assert EventsConfig().replace(confirm_s=1) == EventsConfig(confirm_s=1.0)
    with pytest.raises(ConfigError, match=r"^events\.min_drop = 9: must be in \[0, 2\]"):
        EventsConfig().replace(min_drop=9)
    every = FeatureConfig().replace(joints=("all",))
    assert len(every.joints) == len(every.parents) == 18  # "all" expanded, as at construction


@pytest.mark.parametrize(
    ("overrides", "secret"),
    [
        ([], False),
        (["notify.urls=['ntfy://ntfy.sh/t']"], True),
        (["notify.tiers=[{urls=['ntfy://ntfy.sh/t']}]"], True),  # a secret inside a table of a list
        (["mqtt.password='pw'"], True),
        (["web.password_hash='scrypt$x'"], True),
        (["mqtt.username='me'", "room='Hall'"], False),
    ],
)
def test_has_secrets_follows_the_declarations(overrides: list[str], secret: bool) -> None:
    assert load_config(None, overrides).has_secrets() is secret


def test_form_fields_give_what_a_form_needs() -> None:
    cfg = load_config(None, ["events.confirm_s=5", "mqtt.password='TOPSECRET'",
                             "notify.tiers=[{urls=['ntfy://TOPSECRET'], after_min=5}]"])  # fmt: skip
    events = {f.key: f for f in form_fields(cfg, "events")}
    confirm = events["events.confirm_s"]
    assert (confirm.kind, confirm.limits, confirm.bounds, confirm.unit) == (
        "float",
        {"ge": 0},
        ">= 0 seconds",
        "seconds",
    )
    assert (confirm.default, confirm.value, confirm.secret) == (10.0, 5.0, False)
    assert confirm.doc.startswith("Seconds after `fall_suspected`")
    assert events["events.bed_zones"].kind == "list"
    level = next(f for f in form_fields(cfg, "log") if f.key == "log.level")
    assert (level.kind, level.choices, level.value) == ("choice", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
    password = next(f for f in form_fields(cfg, "mqtt") if f.key == "mqtt.password")
    assert (password.secret, password.value) == (True, None)
    tiers = next(f for f in form_fields(cfg, "notify") if f.key == "notify.tiers")
    assert (tiers.kind, tiers.value) == ("tables", [{"urls": None, "after_min": 5.0}])
    keys = {f.key for name in ["", *Config.model_fields] if name != "room" for f in form_fields(cfg, name)}
    assert keys == config_keys()
