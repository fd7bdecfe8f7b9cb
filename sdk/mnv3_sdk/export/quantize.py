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
