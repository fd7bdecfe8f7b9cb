"""int8: PT2E static quantization with the XNNPACK quantizer, exclusions and per-layer sensitivity."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mnv3_sdk.errors import SdkError

# Layer names are the network's own (state dict) names; the exported module wraps the network
# in the input adapter, whose attribute is "network".
WRAPPED_PREFIX = "network."
_ALIASES = {"first": "features.0.0", "last": "classifier.3"}


@dataclass(frozen=True)
class QuantizationSettings:
    per_channel: bool
    excluded: list[str]  # network layer names kept in fp32
    wrapped: bool  # the network sits behind the pixel input adapter (attribute "network")


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


def _annotate_hardswish(model: torch.fx.GraphModule, config, filter_fn) -> None:
    """Quantize every hardswish whose input is quantized: int8 in (the producer's scale), int8 out.

    The XNNPACK quantizer annotates no hardswish. Where a hardswish feeds only a convolution,
    XNNPACK fuses its dequantize, hardswish and quantize into one int8 operator anyway; where it
    also feeds a squeeze-excite pooling (Large's features.11-15, and features.16 before the head)
    the pooling's mean stayed fp32, so the hardswish ran in fp32 between two converts. Annotated,
    every one is XNNPACK's int8 hardswish and the mean shares its scale: Large int8 executes
    1.4 M fewer arm64 instructions per inference (cortex-a53 0.972x -> 0.956x of fp32,
    neoverse-n1 0.505x -> 0.489x; docs/performance.md, arm64 instruction counts).
    """
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils import (
        get_output_act_qspec,
        propagate_annotation,
    )
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation, SharedQuantizationSpec

    key = "quantization_annotation"
    for node in model.graph.nodes:
        if node.op != "call_function" or node.target not in (torch.ops.aten.hardswish.default,
                                                              torch.ops.aten.hardswish_.default):
            continue
        source = node.args[0]
        produced = source.meta.get(key) if isinstance(source, torch.fx.Node) else None
        if produced is None or produced.output_qspec is None or (filter_fn is not None and not filter_fn(node)):
            continue
        node.meta[key] = QuantizationAnnotation(input_qspec_map={source: SharedQuantizationSpec(source)},
                                                output_qspec=get_output_act_qspec(config), _annotated=True)
    propagate_annotation(model)  # the means (and views) after a hardswish now share its scale


def _quantizer(settings: QuantizationSettings):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_module_name_filter,
        get_symmetric_quantization_config,
    )

    class _HardswishXNNPACKQuantizer(XNNPACKQuantizer):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            model = super().annotate(model)
            _annotate_hardswish(model, self.global_config, self.filter_fn)
            return model

    quantizer = _HardswishXNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=settings.per_channel))
    if settings.excluded:
        # set_module_name(name, None) is not supported by this quantizer; a filter that declines
        # every node inside an excluded module leaves those nodes in fp32.
        prefix = WRAPPED_PREFIX if settings.wrapped else ""
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
