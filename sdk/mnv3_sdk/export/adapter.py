"""What is exported: the network behind its input adapter, in the precision the model runs in."""

from __future__ import annotations

import copy

import torch
from torch import nn

from mnv3_sdk.errors import SdkError
from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD
from mnv3_sdk.network.weights import build_model, load_weights
from mnv3_sdk.pte.metadata import Metadata

# The attributes the wrappers below keep what they wrap under (HalfPrecision's "model", then
# PixelInput's "network"): exported module paths start with them, the network's own names follow.
WRAPPER_ATTRIBUTES = ("model", "network")


class PixelInput(nn.Module):
    """The network behind its input adapter: RGB values 0–255 as floats (NCHW) in, logits out.

    Normalisation lives in the graph, so the app only has to produce RGB values (docs in
    docs/building.md, "Input contract"). The input is already float and NCHW because XNNPACK takes
    neither a layout permute nor a dtype cast: a uint8 NHWC input left both on ExecuTorch's
    portable kernels and cost up to +58% per inference; this multiply-add is delegated and
    measured within noise of a plain normalized-float export (benchmarks/input_contract.py).
    """

    def __init__(self, network: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.network = network
        std_tensor = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        mean_tensor = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        # (x / 255 - mean) / std folded into one multiply-add per channel.
        self.register_buffer("scale", 1.0 / (255.0 * std_tensor))
        self.register_buffer("offset", -mean_tensor / std_tensor)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.network(image * self.scale + self.offset)


class _HalfHardsigmoid(nn.Module):
    """``nn.Hardsigmoid``'s formula, written so that it stays in fp16.

    Exported in fp16, ``hardsigmoid`` decomposes through float32 and back, which XNNPACK does not
    take (it delegates no dtype conversion): every squeeze-excite gate became its own delegate
    with two portable casts around it (19 delegates instead of 1 for Small).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.hardtanh(x + 3.0, 0.0, 6.0) / 6.0


class HalfPrecision(nn.Module):
    """An fp16 copy of a model: float16 in, float16 out.

    The boundary is float16 too (the metadata says so), because a float32↔float16 cast is a
    conversion XNNPACK does not delegate: it would run on portable kernels over the whole image
    at every inference. Every RGB value 0–255 is exact in float16.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).to(torch.float16)
        for parent in self.model.modules():
            for name, child in parent.named_children():
                if isinstance(child, nn.Hardsigmoid):
                    setattr(parent, name, _HalfHardsigmoid())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)


def wrap_for_export(network: nn.Module, input_format: str, quant: str) -> nn.Module:
    """The module that is exported: adapter + network, in fp16 for ``quant == "fp16"``."""
    model: nn.Module = PixelInput(network, IMAGENET_MEAN, IMAGENET_STD) if input_format == "pixels" else network
    if quant == "fp16":
        # HalfPrecision works on a copy: the caller's fp32 network stays the reference.
        model = HalfPrecision(model)
    return model.eval()


def input_dtype(quant: str) -> torch.dtype:
    """The dtype of the graph's input and output: float16 for fp16 models, else float32."""
    return torch.float16 if quant == "fp16" else torch.float32


def example_input(input_size: int, quant: str) -> torch.Tensor:
    """The graph's input, NCHW in every format (see ``input_dtype``)."""
    return torch.zeros(1, 3, input_size, input_size, dtype=input_dtype(quant))


def eager_reference(metadata: Metadata, weights_spec: str, origin: str) -> torch.nn.Module:
    """The eager fp32 model, behind the same input adapter, that a .pte with ``metadata`` was built from."""
    variant, width = metadata.model.variant, metadata.model.width_mult
    weights = load_weights(weights_spec, variant, width)
    if weights.num_classes != metadata.model.num_classes:
        raise SdkError(
            f"weights {weights.source} have {weights.num_classes} classes but {origin} has "
            f"{metadata.model.num_classes}"
        )
    return wrap_for_export(build_model(weights, variant, width), metadata.input.input_format, "fp32")
