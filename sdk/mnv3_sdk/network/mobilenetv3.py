"""MobileNetV3-Small and -Large ("Searching for MobileNetV3", tables 1 and 2).

Module, parameter and buffer names are those of torchvision's ``mobilenet_v3_small`` /
``mobilenet_v3_large`` so that checkpoints saved from torchvision load with ``strict=True``.
The architecture is written as a table of block settings, as torchvision does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch import nn

VARIANTS = ("small", "large")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never dropping below 90% of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class BlockSetting:
    """One bottleneck row of the paper's tables, before the width multiplier is applied."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    use_hardswish: bool
    stride: int


# Columns: in, kernel, expansion, out, squeeze-excite, hard-swish, stride.
_SMALL = [
    BlockSetting(16, 3, 16, 16, True, False, 2),
    BlockSetting(16, 3, 72, 24, False, False, 2),
    BlockSetting(24, 3, 88, 24, False, False, 1),
    BlockSetting(24, 5, 96, 40, True, True, 2),
    BlockSetting(40, 5, 240, 40, True, True, 1),
    BlockSetting(40, 5, 240, 40, True, True, 1),
    BlockSetting(40, 5, 120, 48, True, True, 1),
    BlockSetting(48, 5, 144, 48, True, True, 1),
    BlockSetting(48, 5, 288, 96, True, True, 2),
    BlockSetting(96, 5, 576, 96, True, True, 1),
    BlockSetting(96, 5, 576, 96, True, True, 1),
]
_SMALL_LAST_CHANNEL = 1024

_LARGE = [
    BlockSetting(16, 3, 16, 16, False, False, 1),
    BlockSetting(16, 3, 64, 24, False, False, 2),
    BlockSetting(24, 3, 72, 24, False, False, 1),
    BlockSetting(24, 5, 72, 40, True, False, 2),
    BlockSetting(40, 5, 120, 40, True, False, 1),
    BlockSetting(40, 5, 120, 40, True, False, 1),
    BlockSetting(40, 3, 240, 80, False, True, 2),
    BlockSetting(80, 3, 200, 80, False, True, 1),
    BlockSetting(80, 3, 184, 80, False, True, 1),
    BlockSetting(80, 3, 184, 80, False, True, 1),
    BlockSetting(80, 3, 480, 112, True, True, 1),
    BlockSetting(112, 3, 672, 112, True, True, 1),
    BlockSetting(112, 5, 672, 160, True, True, 2),
    BlockSetting(160, 5, 960, 160, True, True, 1),
    BlockSetting(160, 5, 960, 160, True, True, 1),
]
_LARGE_LAST_CHANNEL = 1280

_TABLES = {"small": (_SMALL, _SMALL_LAST_CHANNEL), "large": (_LARGE, _LARGE_LAST_CHANNEL)}

# torchvision trains MobileNetV3 with these BatchNorm settings; eps matters for inference.
_norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class GlobalAveragePool(nn.Module):
    """Mean over H and W, keeping dims: ``AdaptiveAvgPool2d(1)`` without its export cost.

    ``AdaptiveAvgPool2d`` exports with an ``as_strided`` copy that XNNPACK does not take, which
    splits the delegated graph at every squeeze-excite block; a plain mean stays in one piece.
    It has no parameters, so state dict names are unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)


class ConvBNActivation(nn.Sequential):
    """Conv2d (no bias) → BatchNorm → optional activation; indices 0/1/2 as in torchvision."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[..., nn.Module] | None = None,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            _norm_layer(out_channels),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention with a hard-sigmoid gate (torchvision's ``SqueezeExcitation``)."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = GlobalAveragePool()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise → optional squeeze-excite → project (1×1), with a skip when shapes allow."""

    def __init__(self, setting: BlockSetting, width_mult: float) -> None:
        super().__init__()
        in_channels = make_divisible(setting.in_channels * width_mult)
        expanded = make_divisible(setting.expanded * width_mult)
        out_channels = make_divisible(setting.out_channels * width_mult)
        activation = nn.Hardswish if setting.use_hardswish else nn.ReLU

        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNActivation(in_channels, expanded, 1, activation=activation))
        layers.append(
            ConvBNActivation(
                expanded, expanded, setting.kernel, setting.stride, groups=expanded, activation=activation
            )
        )
        if setting.use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(ConvBNActivation(expanded, out_channels, 1))
        self.block = nn.Sequential(*layers)
        self.use_res_connect = setting.stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = result + x
        return result


class MobileNetV3(nn.Module):
    """MobileNetV3 classifier taking normalized float NCHW images and returning logits."""

    def __init__(
        self, variant: str, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2
    ) -> None:
        super().__init__()
        if variant not in _TABLES:
            raise ValueError(f"unknown MobileNetV3 variant {variant!r}; expected one of {VARIANTS}")
        table, last_channel = _TABLES[variant]
        self.variant = variant
        self.width_mult = width_mult
        self.num_classes = num_classes

        first_channels = make_divisible(table[0].in_channels * width_mult)
        last_block_channels = make_divisible(table[-1].out_channels * width_mult)
        last_conv_channels = 6 * last_block_channels
        head_channels = make_divisible(last_channel * width_mult)

        layers: list[nn.Module] = [
            ConvBNActivation(3, first_channels, 3, stride=2, activation=nn.Hardswish)
        ]
        layers += [InvertedResidual(setting, width_mult) for setting in table]
        layers.append(ConvBNActivation(last_block_channels, last_conv_channels, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = GlobalAveragePool()
        self.classifier = nn.Sequential(
            nn.Linear(last_conv_channels, head_channels),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(head_channels, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation, so that "random" weights have realistic activations.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v3(variant: str, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(variant, width_mult=width_mult, num_classes=num_classes)


def arch_name(variant: str) -> str:
    """The torchvision-style architecture name recorded in metadata."""
    return f"mobilenet_v3_{variant}"


@torch.no_grad()
def reestimate_batchnorm(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Recompute every BatchNorm's running mean/variance as the plain average over ``batches``.

    With torchvision's momentum of 0.01, running statistics lag far behind after brief training
    (or are the identity after random initialisation); the eval-mode model then computes on
    activations scaled nothing like those seen in training.
    """
    norms = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    saved_momentum = [norm.momentum for norm in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    model.train()
    try:
        for batch in batches:
            model(batch)
    finally:
        for norm, momentum in zip(norms, saved_momentum):
            norm.momentum = momentum
        model.train(was_training)
