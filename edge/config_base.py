"""How a config section is declared: a strict pydantic model whose fields carry their bounds and doc.

edge/config.py declares the sections (and edge/features.py the [features] one) with `setting(...)`;
the validation, the one-line messages, the example TOML and the set-up page's form fields all come
from those declarations. Kept apart from edge/config.py so that edge/features.py can use it too.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

# pydantic's error type -> the requirement it stands for (bounds are worded from the field instead).
TYPE_REQUIREMENTS = {
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "finite_number": "must be a finite number",
    "string_type": "must be a str",
    "bool_type": "must be a bool",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
}
BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
# Each section's key in the file (messages start with it), e.g. TierConfig -> "notify.tiers[]"; filled
# by edge/config.py from Config's fields.
SECTION_KEYS: dict[type[BaseModel], str] = {}


class ConfigError(ValueError):
    """A bad configuration value; the message names the key and the value."""


def setting(default: Any, doc: str, *, unit: str = "", secret: bool = False, **constraints: Any) -> Any:
    """Declare one key: its default, its one-line doc, its bounds (gt, ge, lt, le; or another pydantic
    Field argument such as strict), the unit they are in, and whether it holds a secret (then no message
    or page shows its value)."""
    marks = {name: value for name, value in (("unit", unit), ("secret", secret)) if value}
    return Field(default, description=doc, json_schema_extra=marks or None, **constraints)


def check(ok: bool, key: str, value: Any, requirement: str) -> None:
    """In a section's model validator: refuse unless ok, naming `key` (relative to the section, e.g.
    "width" or "urls[0]") and `value`."""
    if not ok:
        raise PydanticCustomError("config", "{requirement}", {"requirement": requirement, "key": key, "value": value})


S = TypeVar("S", bound="Section")


class Section(BaseModel):
    """A config section: unknown keys refused, no type coercion but int -> float; bad values raise
    ConfigError("section.key = value: requirement") from construction too."""

    model_config = ConfigDict(
        extra="forbid", strict=True, protected_namespaces=(), defer_build=True, allow_inf_nan=False
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe(exc, type(self), SECTION_KEYS.get(type(self), ""))) from None

    # Only wraps BaseModel.__init__: nested sections and model_validate keep pydantic's own path (and
    # one ValidationError naming the whole location). RootModel.__init__ says the same this way.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with `changes` (pydantic's model_copy would skip the checks)."""
        return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})


def extra(info: FieldInfo, name: str) -> Any:
    """A declaration's `unit` or `secret` (see `setting`)."""
    return info.json_schema_extra.get(name) if isinstance(info.json_schema_extra, dict) else None


def limits(info: FieldInfo) -> dict[str, float]:
    """The field's declared bounds by name: {"gt": 0, "le": 1}."""
    return {name: getattr(rule, name) for rule in info.metadata for name in SYMBOLS if hasattr(rule, name)}


def bounds(info: FieldInfo) -> str:
    """The field's bounds in words, with its unit: "> 0", "in [0, 1)", "in [0, 60] seconds"; "" for none."""
    found = limits(info)
    low = f"({found['gt']:g}" if "gt" in found else f"[{found['ge']:g}" if "ge" in found else ""
    high = f"{found['lt']:g})" if "lt" in found else f"{found['le']:g}]" if "le" in found else ""
    if low and high:
        text = f"in {low}, {high}"
    elif found:
        ((name, limit),) = found.items()
        text = f"{SYMBOLS[name]} {limit:g}"
    else:
        return ""
    unit = extra(info, "unit")
    return f"{text} {unit}" if unit else text


def describe(exc: ValidationError, model: type[BaseModel], prefix: str) -> str:
    """The first error as one line, "key = value: requirement"; keys start with `prefix`."""
    error = exc.errors()[0]
    ctx = error.get("ctx") or {}
    loc, value = error["loc"], error["input"]
    if error["type"] == "config":
        name, *indices = ctx["key"].replace("]", "").split("[")
        loc = (*loc, name, *map(int, indices))
        value = ctx["value"]
    key, info, owner = _walk(model, loc, prefix)
    if error["type"] == "config":
        requirement = ctx["requirement"]
    elif error["type"] == "extra_forbidden":
        requirement = f"unknown key; known: {sorted(owner.model_fields)}"
    elif error["type"] == "literal_error":
        requirement = f"must be {ctx['expected']}"
    elif error["type"] in BOUND_ERRORS and info is not None and bounds(info):
        requirement = f"must be {bounds(info)}"
    else:
        requirement = TYPE_REQUIREMENTS.get(error["type"], error["msg"][:1].lower() + error["msg"][1:])
    if info is not None and extra(info, "secret"):
        value = "<hidden>"
    return f"{key} = {value!r}: {requirement}"


def _walk(model: type[BaseModel], loc: tuple[int | str, ...], prefix: str) -> tuple[str, FieldInfo | None, Any]:
    """Follow an error's location from `model`: the key in the file, the innermost field declared on
    the way (None before the first), and the model holding the last named part."""
    key, info, owner, current = prefix, None, model, model
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
            continue
        key = f"{key}.{part}" if key else part
        owner = current
        found = current.model_fields.get(part) if current is not None else None
        if found is None:  # an unknown key, or a name that is no field (e.g. "*_pin")
            break
        info, current = found, model_in(found.annotation)
    return key, info, owner


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or as its items; None for plain values."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
