"""mnv3-sdk: MobileNetV3 → ExecuTorch/XNNPACK model → Android SDK.

``build_sdk``, ``verify_model``, ``benchmark``, ``profile_model``, ``profile_model_arm64`` and ``inspect_model`` (``mnv3_sdk.api``) are the
library's entry points; they load torch and ExecuTorch on first use, so ``import mnv3_sdk`` stays cheap.
"""

from typing import Any

__version__ = "0.1.0"

_API = ("build_sdk", "verify_model", "benchmark", "profile_model", "profile_model_arm64", "inspect_model")


def __getattr__(name: str) -> Any:
    if name in _API:
        from mnv3_sdk import api

        return getattr(api, name)
    if name == "SdkError":
        from mnv3_sdk.errors import SdkError

        return SdkError
    if name == "GateFailed":
        from mnv3_sdk.verify.metrics import GateFailed

        return GateFailed
    raise AttributeError(f"module 'mnv3_sdk' has no attribute {name!r}")
