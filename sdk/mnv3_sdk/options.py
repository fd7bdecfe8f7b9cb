"""What the build's and the bench's option dataclasses share: defaults for the CLI, and the same
config whether a value comes from the CLI (Path, float) or from a script (str, int)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any


def option_default(config_type: type, name: str) -> Any:
    """The default of option ``name``, a field of the dataclass ``config_type``."""
    return {option.name: option.default for option in fields(config_type)}[name]


def normalize_option_types(config: Any) -> None:
    """Turn a str given for a ``Path`` field into a Path, and an int given for a ``float`` field
    into a float (1 and 1.0 must give the same metadata bytes), by each field's declared type.

    For frozen dataclasses, from ``__post_init__``.
    """
    for option in fields(config):
        if not option.init:
            continue  # derived in __post_init__, not given
        value = getattr(config, option.name)
        declared = str(option.type)  # a string under `from __future__ import annotations`
        if isinstance(value, str) and declared.startswith("Path"):
            object.__setattr__(config, option.name, Path(value))
        elif isinstance(value, int) and not isinstance(value, bool) and declared.startswith("float"):
            object.__setattr__(config, option.name, float(value))
