"""The input contract's arithmetic: preprocessed RGB bytes → the tensor the exported graph takes.

Models built with ``--input-format pixels`` (the default) take float RGB values 0–255 and
normalize in the graph (``export.adapter.PixelInput``); ``normalized`` models take the
normalized floats this module computes. docs/contracts.md § 2 states the contract.
"""

from __future__ import annotations

import numpy as np
import torch

# ImageNet's channel statistics, which every MobileNetV3 checkpoint here was trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(rgb: np.ndarray, input_format: str) -> torch.Tensor:
    """The float32 NCHW tensor the exported graph takes for a preprocessed size×size×3 RGB image.

    fp16 models take the same values as float16; ``LoadedModel.run`` casts, as the app does.
    """
    pixels = torch.from_numpy(np.ascontiguousarray(rgb)).unsqueeze(0).permute(0, 3, 1, 2).float()
    if input_format == "pixels":
        return pixels.contiguous()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((pixels / 255.0 - mean) / std).contiguous()


def normalized_to_rgb(normalized: torch.Tensor) -> list[np.ndarray]:
    """Normalized float NCHW → the RGB bytes the exported graph takes (its input adapter's inverse)."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    rgb = ((normalized * std + mean) * 255.0).round().clamp(0, 255).to(torch.uint8)
    return [np.ascontiguousarray(image.permute(1, 2, 0).numpy()) for image in rgb]
