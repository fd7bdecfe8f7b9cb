"""Where mnv3-sdk keeps what it can rebuild: synthesized images, the Android toolchain, compiled Kotlin."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def user_cache_dir() -> Path:
    """``$MNV3_SDK_CACHE``, else ``$XDG_CACHE_HOME/mnv3-sdk``, else ``~/.cache/mnv3-sdk``."""
    base = os.environ.get("MNV3_SDK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mnv3-sdk"
    )
    return Path(base)


@contextmanager
def entry_writer(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yields a private path to write ``path``'s content to; renames it into place on success.

    Another process (a parallel build or test) either sees no entry or a whole one, never a
    half-written file; a failed write leaves nothing behind. ``suffix`` keeps the extension
    that a writer such as ``numpy.save`` insists on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}{suffix}")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_entry(path: Path, data: bytes) -> None:
    """Writes a cache entry atomically (see ``entry_writer``)."""
    with entry_writer(path) as partial:
        partial.write_bytes(data)
