"""Facts about this host: what its CPU can do (for the notes on fp16), where its Android SDK is."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def fp16_support() -> str:
    """One sentence on how this host runs XNNPACK's fp16 kernels."""
    flags = cpu_flags()
    machine = platform.machine()
    if "avx512fp16" in flags or "fphp" in flags or "asimdhp" in flags:
        return f"{machine} with native fp16 arithmetic: fp16 kernels run natively"
    if "f16c" in flags:
        return (
            f"{machine} with F16C but no native fp16 arithmetic: XNNPACK converts fp16 to fp32 around "
            "each operation, so host fp16 latency says little about ARMv8.2+ phones, which compute in fp16"
        )
    return f"{machine} without F16C: fp16 operators may not run on this host"


def describe() -> dict[str, str]:
    return {"machine": platform.machine(), "processor": _model_name(), "fp16": fp16_support()}


def _model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def android_sdk_roots() -> list[Path]:
    """The Android SDK folders named by ``$ANDROID_HOME`` and ``$ANDROID_SDK_ROOT``, in that order, when set."""
    return [Path(os.environ[name]) for name in ("ANDROID_HOME", "ANDROID_SDK_ROOT") if os.environ.get(name)]
