"""mnv3-sdk: MobileNetV3 → ExecuTorch/XNNPACK model → Android SDK."""

__version__ = "0.1.0"
