"""What the build's and the bench's option dataclasses share: each option declared once, as a
field with its default and its command-line flag; the same config whether a value comes from the
CLI (Path, float) or from a script (str, int)."""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
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


@dataclass(frozen=True)
class Flag:
    """How a config field appears on the command line: its help, and where the flag's name or
    shape differs from the field's (``--width`` for ``width_mult``; ``--no-aar`` turning
    ``build_aar`` off). The CLI builds every option from these (``cli.options_of``)."""

    help: str
    name: str | None = None  # default: "--" and the field's name with hyphens
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    negate: bool = False  # a bool that defaults to True and the flag turns off
    show_default: bool = True


def option(default: Any, help: str, **flag: Any) -> Any:
    """A config field with its default and its command-line flag (``Flag``'s fields as keywords)."""
    return field(default=default, metadata={"flag": Flag(help, **flag)})


def flag_of(item: Field) -> Flag | None:
    return item.metadata.get("flag")
