"""The network: MobileNetV3's architecture, its weights and its labels."""
