"""torch.export → (quantize) → lower to XNNPACK → serialize a .pte with the metadata embedded."""

from __future__ import annotations

import copy
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mnv3_sdk import metadata as metadata_io
from mnv3_sdk.errors import SdkError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Edge operators that carry the network's arithmetic: any of them left outside XNNPACK means a
# several-times slower model, so the build fails rather than ship it.
_HEAVY_OPERATORS = ("convolution", "linear", "addmm", "mm", "bmm")


class RgbBytesInput(nn.Module):
    """The network behind its input adapter: uint8 RGB NHWC bytes in, logits out.

    Normalisation lives in the graph, so the app only has to produce RGB bytes (DESIGN.md § 3).
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
        pixels = image.permute(0, 3, 1, 2).to(self.scale.dtype)
        return self.network(pixels * self.scale + self.offset)


class HalfPrecision(nn.Module):
    """An fp16 copy of a model behind the float32 boundary the metadata promises.

    A float input is cast to fp16 inside the graph (a uint8 input is left to the adapter, which
    casts to its own fp16 buffers' dtype), and the logits are cast back to float32: the app
    feeds and reads the same dtypes whatever the precision inside.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).to(torch.float16)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.is_floating_point():
            image = image.to(torch.float16)
        return self.model(image).to(torch.float32)


@dataclass(frozen=True)
class Delegation:
    """What the XNNPACK partitioner took and what it left to portable kernels."""

    delegated_calls: int
    delegated_operators: dict[str, int]
    portable_operators: dict[str, int]

    @property
    def heavy_portable_operators(self) -> list[str]:
        return [name for name in self.portable_operators if any(h in name for h in _HEAVY_OPERATORS)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "delegated_subgraphs": self.delegated_calls,
            "delegated_operators": self.delegated_operators,
            "portable_operators": self.portable_operators,
        }


@dataclass
class ExportResult:
    pte: bytes
    delegation: Delegation
    timings: dict[str, float] = field(default_factory=dict)


def wrap_for_export(network: nn.Module, input_format: str, quant: str) -> nn.Module:
    """The module that is exported: adapter + network (+ fp32 output cast for fp16)."""
    model: nn.Module = RgbBytesInput(network, IMAGENET_MEAN, IMAGENET_STD) if input_format == "uint8" else network
    if quant == "fp16":
        # HalfPrecision works on a copy: the caller's fp32 network stays the reference.
        model = HalfPrecision(model)
    return model.eval()


def example_input(input_format: str, input_size: int) -> torch.Tensor:
    """The graph's input: its dtype depends on the input format only, never on the quantization."""
    if input_format == "uint8":
        return torch.zeros(1, input_size, input_size, 3, dtype=torch.uint8)
    return torch.zeros(1, 3, input_size, input_size, dtype=torch.float32)


def export_pte(model: nn.Module, example: torch.Tensor, metadata: dict[str, Any]) -> ExportResult:
    """Export ``model`` (already quantized if it should be) to .pte bytes, delegated to XNNPACK."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with torch.no_grad():
        exported = torch.export.export(model, (example,), strict=False)
    timings["export"] = time.perf_counter() - started

    started = time.perf_counter()
    edge = to_edge_transform_and_lower(
        exported,
        partitioner=[XnnpackPartitioner()],
        constant_methods={metadata_io.METADATA_METHOD: metadata_io.to_tensor(metadata)},
    )
    delegation = inspect_delegation(edge.exported_program().graph_module)
    timings["lower"] = time.perf_counter() - started
    if delegation.heavy_portable_operators:
        raise SdkError(
            "XNNPACK did not take every convolution/linear layer (left on portable kernels: "
            + ", ".join(delegation.heavy_portable_operators)
            + "); the model would be several times slower"
        )

    started = time.perf_counter()
    pte = edge.to_executorch().buffer
    timings["serialize"] = time.perf_counter() - started
    return ExportResult(pte=pte, delegation=delegation, timings=timings)


def inspect_delegation(graph_module: torch.fx.GraphModule) -> Delegation:
    portable: Counter[str] = Counter()
    delegated: Counter[str] = Counter()
    calls = 0
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = _operator_name(node.target)
        if name == "executorch_call_delegate":
            calls += 1
            lowered = getattr(graph_module, node.args[0].target)
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function":
                    delegated[_operator_name(inner.target)] += 1
        elif name != "getitem":
            portable[name] += 1
    return Delegation(calls, dict(sorted(delegated.items())), dict(sorted(portable.items())))


def _operator_name(target: Any) -> str:
    name = getattr(target, "__name__", str(target))
    # Edge dialect names look like "aten.convolution.default"; keep them readable.
    return name.replace("aten.", "").replace(".default", "")
