"""The page's settings: the keys a person setting up a room changes, as the config declares them, saved
into the service's config file and applied to the running detector where that can be done live.

    page_settings(config_path)               # the Settings section's data (edge.config.form_fields)
    check_editable(values)                   # ConfigError for a key the form does not edit
    save_settings(config_path, values, det)  # saved, events.* applied live; which keys need a restart

The bed zones (POST /zones) are saved the same way, as events.bed_zones.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.commands.doctor import CAMERA_CONFIG, DEFAULT_CONFIG
from edge.config import (
    Config,
    ConfigError,
    EventsConfig,
    FormField,
    GpioConfig,
    InactivityConfig,
    MqttConfig,
    NotifyConfig,
    VoiceConfig,
    config_from_text,
    form_fields,
)
from edge.config_base import SECTION_KEYS
from edge.detector import FallDetector
from edge.web.config_file import key_value, save_keys

# The sections on the page ("" = the top-level keys: room), in the order shown.
PAGE_MODELS = (EventsConfig, InactivityConfig, VoiceConfig, NotifyConfig, MqttConfig, GpioConfig)
SECTIONS = ("", *(SECTION_KEYS[model] for model in PAGE_MODELS))
EDITABLE_KINDS = ("bool", "int", "float", "str", "choice")
LIVE_SECTION = SECTION_KEYS[EventsConfig]  # applied to the running detector; every other key needs a restart

_saving = threading.Lock()  # one read-edit-write of the file (and of the detector's config) at a time


@dataclass(frozen=True)
class Saved:
    """What a save did: the new config, and the changed keys applied live or needing a restart."""

    cfg: Config
    live: list[str]
    restart: list[str]


def page_settings(config_path: str | Path) -> dict[str, Any]:
    """The config file's page sections: each one's doc and fields (no secret's value), and how to
    restart this service; ConfigError for a file that no longer validates."""
    cfg = config_from_text(Path(config_path).read_text(encoding="utf-8"), str(config_path))
    sections = []
    for name in SECTIONS:
        model = getattr(cfg, name) if name else cfg
        fields = [_field(f) for f in form_fields(cfg, name)]  # "": room alone (form_fields skips the tables)
        doc = (type(model).__doc__ or "").strip().splitlines()[0] if name else "The place this service watches."
        sections.append({"name": name, "doc": doc, "fields": fields})
    return {"sections": sections, "restart": restart_command(config_path)}


def _field(field: FormField) -> dict[str, Any]:
    data = dataclasses.asdict(field)
    data["editable"] = _editable(field)
    data["live"] = field.key.startswith(LIVE_SECTION + ".")
    return data


def _editable(field: FormField) -> bool:
    """The form has an input for the key: a plain value, not a secret."""
    return field.kind in EDITABLE_KINDS and not field.secret


def check_editable(values: dict[str, Any]) -> None:
    """ConfigError naming the first key the page's form does not edit (a secret, a list, another section)."""
    defaults = Config()
    editable = {f.key for name in SECTIONS for f in form_fields(defaults, name) if _editable(f)}
    for key in values:
        if key not in editable:
            raise ConfigError(f"{key}: not editable on this page; set it in the config file")


def save_settings(config_path: str | Path, values: dict[str, Any], detector: FallDetector | None) -> Saved:
    """Write the keys whose value changes into the config file (edge.web.config_file) and hand the
    events.* ones to the running detector; ConfigError (one line, naming key and value) and the file
    unchanged for a bad value."""
    with _saving:
        before = config_from_text(Path(config_path).read_text(encoding="utf-8"), str(config_path))
        changed = {key: value for key, value in values.items() if key_value(before, key) != value}
        cfg = save_keys(config_path, changed) if changed else before
        live = [key for key in changed if key.startswith(LIVE_SECTION + ".")] if detector is not None else []
        if live and detector is not None:
            new = {key.split(".", 1)[1]: key_value(cfg, key) for key in live}
            try:
                detector.use_events(detector.events_next.replace(**new))
            except ConfigError:  # the running rule differs from the file (a --set at start): not live
                live = []
    return Saved(cfg, live, [key for key in changed if key not in live])


def restart_command(config_path: str | Path) -> str:
    """The command that restarts the service running `config_path` (a fallwatch@NAME instance's, the
    single service's, or another `fallwatch run`)."""
    path = Path(config_path)
    if str(path) == DEFAULT_CONFIG:
        return "`sudo systemctl restart fallwatch`"
    if str(path) == CAMERA_CONFIG.format(path.parent.name):
        return f"`sudo systemctl restart fallwatch@{path.parent.name}`"
    return f"a restart of `fallwatch run --config {path}`"
