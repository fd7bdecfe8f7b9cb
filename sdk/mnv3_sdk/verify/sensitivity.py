"""Which int8 layers lose the most: each quantized layer's output against fp32 (SQNR), worst first."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mnv3_sdk.export.lower import fold_batchnorm
from mnv3_sdk.export.quantize import WRAPPED_PREFIX, QuantizationSettings, quantize_int8
from mnv3_sdk.verify.metrics import sqnr_db

_QUANTIZED_OPERATORS = ("conv2d", "linear")


@dataclass(frozen=True)
class LayerSensitivity:
    layer: str
    sqnr_db: float


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
                name = list(stack.values())[-1][0].removeprefix("L['self'].").removeprefix(WRAPPED_PREFIX)
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
