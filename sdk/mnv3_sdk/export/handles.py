"""What each debug handle of a lowered program stands for: the module, aten operator(s) and output
shape of the nodes that carry it (written beside the .pte as the sidecar of ``pte/debug_handles.py``).

Handles are the one link between what the runtime times and the PyTorch model, and they exist
only here, in the exported program: the XNNPACK nodes serialized in the .pte keep them, the
module stack does not survive lowering.
"""

from __future__ import annotations

from typing import Any

import torch

from mnv3_sdk.export.adapter import WRAPPER_ATTRIBUTES
from mnv3_sdk.pte.debug_handles import ADAPTER_MODULE, HandleInfo


def collect_handles(graph_module: torch.fx.GraphModule) -> dict[int, HandleInfo]:
    """Debug handle → the module, aten operator(s) and output shape of its nodes, over the top
    graph and every delegated subgraph (whose XNNPACK nodes carry these handles into the .pte)."""
    nodes = []
    for node in graph_module.graph.nodes:
        if node.op == "call_function" and operator_name(node.target) == "executorch_call_delegate":
            nodes += getattr(graph_module, node.args[0].target).original_module.graph.nodes
        else:
            nodes.append(node)
    grouped: dict[int, list[torch.fx.Node]] = {}
    for node in nodes:
        handle = node.meta.get("debug_handle")
        if node.op == "call_function" and isinstance(handle, int):
            grouped.setdefault(handle, []).append(node)
    return {handle: _handle_info(group) for handle, group in sorted(grouped.items())}


def _handle_info(group: list[torch.fx.Node]) -> HandleInfo:
    # A handle groups an aten operator with its decomposition and, in int8, its quantize/
    # dequantize pair: the operator itself names it; q/dq alone (a requantization) is named so.
    main = [node for node in group if "quantize" not in operator_name(node.target)
            and operator_name(node.target) != "getitem"] or group
    operators = list(dict.fromkeys(_short_operator(node.target) for node in main))
    value = main[-1].meta.get("val")
    shape = list(value.shape) if isinstance(value, torch.Tensor) else []
    return HandleInfo(_module_of(main[0]), "+".join(operators), shape)


def _module_of(node: torch.fx.Node) -> str:
    """The network's module path of ``node``; nodes the quantizer added carry no module stack, so
    they take their input's (a quantize after a hardswish belongs to that hardswish)."""
    for _ in range(16):
        stack = node.meta.get("nn_module_stack")
        if stack:
            return _network_path(list(stack.values())[-1][0])
        inputs = [value for value in node.args if isinstance(value, torch.fx.Node)]
        if not inputs or inputs[0].op != "call_function":
            break
        node = inputs[0]
    return ADAPTER_MODULE


def _network_path(path: str) -> str:
    """"model.network.features.3.block.0.0" (the adapters' attributes) → "features.3.block.0.0"."""
    parts = path.split(".") if path else []
    for attribute in WRAPPER_ATTRIBUTES:
        if parts[:1] == [attribute]:
            parts = parts[1:]
    return ".".join(parts) or ADAPTER_MODULE


def instruction_handles(debug_handle_map: Any) -> dict[int, list[int]]:
    """forward's instruction id → debug handles, from the emitter's map."""
    forward = debug_handle_map.get("forward", {}) if isinstance(debug_handle_map, dict) else {}
    handles = {}
    for instruction, value in forward.items():
        listed = value if isinstance(value, (list, tuple)) else [value]
        handles[int(instruction)] = [int(handle) for handle in listed if isinstance(handle, int)]
    return handles


def _short_operator(target: Any) -> str:
    """"aten.add.Tensor" → "add"; "quantized_decomposed.quantize_per_tensor.default" → "quantize_per_tensor"."""
    name = operator_name(target)
    for namespace in ("quantized_decomposed.", "dim_order_ops."):
        name = name.removeprefix(namespace)
    return name.split(".")[0]


def operator_name(target: Any) -> str:
    name = getattr(target, "__name__", str(target))
    # Edge dialect names look like "aten.convolution.default"; keep them readable.
    return name.replace("aten.", "").replace(".default", "")
