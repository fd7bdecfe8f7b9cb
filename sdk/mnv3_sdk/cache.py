"""Where mnv3-sdk keeps what it can rebuild: synthesized images, the Android toolchain, compiled Kotlin."""

from __future__ import annotations

import os
import shutil
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


@contextmanager
def directory_writer(path: Path) -> Iterator[Path]:
    """``entry_writer`` for a folder: yields a private empty folder to fill; renames it to ``path``.

    A folder cannot replace a non-empty one in one rename, so when a concurrent writer of the
    same entry got there first, its folder stays (entries are named by what they are made from,
    so both hold the same) and ours is removed. A failed write leaves nothing behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)  # left by a killed process that had our pid
    partial.mkdir()
    try:
        yield partial
        try:
            partial.rename(path)
        except OSError:
            if not path.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def write_entry(path: Path, data: bytes) -> None:
    """Writes a cache entry atomically (see ``entry_writer``)."""
    with entry_writer(path) as partial:
        partial.write_bytes(data)
