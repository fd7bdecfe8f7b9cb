"""Versions pinned in one place: the exporter and the Android runtime that must match it."""

from __future__ import annotations

from importlib import metadata

from mnv3_sdk import __version__

# The Android runtime must not be older than the exporter that wrote the .pte (docs/toolchain.md, "Android runtime").
EXECUTORCH_VERSION = "1.5.1"
# 2: float NCHW input (RGB 0-255 or normalized; float16 for fp16 models). 1 had uint8 NHWC bytes.
METADATA_FORMAT = "mnv3-sdk/2"


def tool_versions() -> dict[str, str]:
    return {
        "mnv3_sdk": __version__,
        "torch": metadata.version("torch"),
        "executorch": metadata.version("executorch"),
    }
