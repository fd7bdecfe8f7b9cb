"""Where mnv3-sdk keeps what it can rebuild: synthesized images, the Android toolchain, compiled Kotlin."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """``$MNV3_SDK_CACHE``, else ``$XDG_CACHE_HOME/mnv3-sdk``, else ``~/.cache/mnv3-sdk``."""
    base = os.environ.get("MNV3_SDK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mnv3-sdk"
    )
    return Path(base)
