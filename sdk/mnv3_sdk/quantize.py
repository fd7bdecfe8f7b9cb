"""int8: PT2E static quantization with the XNNPACK quantizer, exclusions and per-layer sensitivity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export import fold_batchnorm

# Layer names are the network's own (state dict) names; the exported module wraps the network
# in the input adapter, whose attribute is "network".
_WRAPPED_PREFIX = "network."
_ALIASES = {"first": "features.0.0", "last": "classifier.3"}
_QUANTIZED_OPERATORS = ("conv2d", "linear")


@dataclass(frozen=True)
class QuantizationSettings:
    per_channel: bool
    excluded: list[str]  # network layer names kept in fp32
    wrapped: bool  # the network sits behind the pixel input adapter (attribute "network")


@dataclass(frozen=True)
class LayerSensitivity:
    layer: str
    sqnr_db: float

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "sqnr_db": self.sqnr_db}


def resolve_excluded_layers(spec: str | None, network: nn.Module) -> list[str]:
    """``first,last,features.3`` → network module names, validated."""
    if not spec:
        return []
    known = {name for name, module in network.named_modules() if name}
    names = []
    for raw in spec.split(","):
        name = _ALIASES.get(raw.strip(), raw.strip())
        if not name:
            continue
        if name not in known:
            examples = ", ".join(["first", "last", "features.0.0", "features.4", "classifier.0"])
            raise SdkError(f"--quant-exclude: no layer named {raw.strip()!r} (try e.g. {examples})")
        names.append(name)
    return sorted(set(names))


def _quantizer(settings: QuantizationSettings):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_module_name_filter,
        get_symmetric_quantization_config,
    )

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=settings.per_channel))
    if settings.excluded:
        # set_module_name(name, None) is not supported by this quantizer; a filter that declines
        # every node inside an excluded module leaves those nodes in fp32.
        prefix = _WRAPPED_PREFIX if settings.wrapped else ""
        in_excluded = [get_module_name_filter(prefix + name) for name in settings.excluded]
        quantizer.set_filter_function(lambda node: not any(inside(node) for inside in in_excluded))
    return quantizer


def quantize_int8(
    model: nn.Module,
    example: torch.Tensor,
    calibration_inputs: list[torch.Tensor],
    settings: QuantizationSettings,
) -> torch.fx.GraphModule:
    """Export, insert observers, calibrate, convert: a graph with int8 q/dq pairs for XNNPACK."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    with torch.no_grad():
        graph = torch.export.export(model, (example,), strict=False).module()
        prepared = prepare_pt2e(graph, _quantizer(settings))
        for batch in calibration_inputs:
            prepared(batch.contiguous())
        return convert_pt2e(prepared)


class _LayerOutputRecorder(torch.fx.Interpreter):
    """Runs an exported graph and keeps each conv/linear node's output, keyed by its module name."""

    def __init__(self, graph: torch.fx.GraphModule) -> None:
        super().__init__(graph)
        self.outputs: dict[str, list[torch.Tensor]] = {}

    def run_node(self, node: torch.fx.Node) -> Any:
        result = super().run_node(node)
        if node.op == "call_function" and any(op in str(node.target) for op in _QUANTIZED_OPERATORS):
            stack = node.meta.get("nn_module_stack")
            if stack:
                name = list(stack.values())[-1][0].removeprefix("L['self'].").removeprefix(_WRAPPED_PREFIX)
                self.outputs.setdefault(name, []).append(result.detach().clone())
        return result


def _record_layer_outputs(graph: torch.fx.GraphModule, inputs: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
    recorder = _LayerOutputRecorder(graph)
    with torch.no_grad():
        for batch in inputs:
            recorder.run(batch.contiguous())
    return recorder.outputs


def layer_sensitivity(
    model: nn.Module,
    example: torch.Tensor,
    calibration_inputs: list[torch.Tensor],
    settings: QuantizationSettings,
    inputs: list[torch.Tensor] | None = None,
) -> list[LayerSensitivity]:
    """SQNR of every quantized layer's output against fp32 on ``inputs``, worst first.

    The quantized graph is calibrated on ``calibration_inputs`` as the built model was; it is
    judged on ``inputs`` (default: the calibration inputs), which should be held out: on the
    very images it was calibrated with, a badly calibrated model looks fine. Both graphs run the
    same inputs; a layer's output in the quantized graph carries the error of its own int8
    weights and activations plus everything upstream, as on the device. The fp32 reference has
    BatchNorm folded, as prepare_pt2e does, so conv outputs mean the same thing.
    """
    from mnv3_sdk.verify import sqnr_db

    inputs = calibration_inputs if inputs is None else inputs
    with torch.no_grad():
        reference_graph = torch.export.export(fold_batchnorm(model), (example,), strict=False).module()
    reference = _record_layer_outputs(reference_graph, inputs)
    quantized = _record_layer_outputs(quantize_int8(model, example, calibration_inputs, settings), inputs)
    layers = []
    for name, outputs in quantized.items():
        if name not in reference or any(name == skip or name.startswith(skip + ".") for skip in settings.excluded):
            continue
        values = [sqnr_db(ref, out) for ref, out in zip(reference[name], outputs)]
        finite = [value for value in values if math.isfinite(value)]
        layers.append(LayerSensitivity(name, sum(finite) / len(finite) if finite else math.inf))
    return sorted(layers, key=lambda item: item.sqnr_db)
