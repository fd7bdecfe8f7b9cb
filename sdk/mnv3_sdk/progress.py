"""How the library reports long loops: a callback that wraps an iterable under a label.

The CLI passes one that draws a progress bar; library callers get ``no_progress`` by default.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def no_progress(items: Iterable[Any], _label: str) -> Iterable[Any]:
    return items
