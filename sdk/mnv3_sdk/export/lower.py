"""torch.export → (quantize) → lower to XNNPACK → serialize a .pte with the metadata embedded."""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.handles import collect_handles, instruction_handles, operator_name
from mnv3_sdk.pte import metadata as metadata_io
from mnv3_sdk.pte.debug_handles import DebugHandles, pte_digest

# Edge operators that carry the network's arithmetic: any of them left outside XNNPACK means a
# several-times slower model, so the build fails rather than ship it, whatever the flags.
_HEAVY_OPERATORS = ("convolution", "linear", "addmm", "mm", "bmm")


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy with every Conv→BatchNorm pair folded into the conv (BatchNorm becomes Identity).

    Exporting the folded copy takes 40% of the nodes out of the graph ExecuTorch's lowering walks
    (each of its dozens of passes retraces every node): Small fp32 lowers in ~16 s instead of ~25 s here, and the
    result is the same arithmetic XNNPACK's own FuseBatchNormPass would bake in. prepare_pt2e
    folds BatchNorm itself; comparing int8 layer outputs needs an fp32 reference folded the same way.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        children = list(module.named_children())
        for (conv_name, conv), (norm_name, norm) in zip(children, children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                setattr(module, conv_name, fuse_conv_bn_eval(conv, norm))
                setattr(module, norm_name, nn.Identity())
    return folded


@dataclass(frozen=True)
class PortableOp:
    """One operator call left on ExecuTorch's portable (scalar C++) kernels, with its output size."""

    operator: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    def describe(self) -> str:
        return f"{self.operator} {list(self.shape)}"


@dataclass(frozen=True)
class Delegation:
    """What the XNNPACK partitioner took and what it left to portable kernels."""

    delegated_calls: int
    delegated_operators: dict[str, int]
    portable_ops: tuple[PortableOp, ...]

    @property
    def portable_operators(self) -> dict[str, int]:
        return dict(sorted(Counter(op.operator for op in self.portable_ops).items()))

    @property
    def heavy_portable_operators(self) -> list[str]:
        return [name for name in self.portable_operators if any(h in name for h in _HEAVY_OPERATORS)]

    @property
    def tensor_sized_portable_ops(self) -> list[PortableOp]:
        """Portable calls over more than one element: each is a scalar loop over a tensor per inference."""
        return [op for op in self.portable_ops if op.elements > 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "delegated_subgraphs": self.delegated_calls,
            "delegated_operators": self.delegated_operators,
            "portable_operators": self.portable_operators,
            "portable_calls": [
                {"operator": op.operator, "shape": list(op.shape), "elements": op.elements} for op in self.portable_ops
            ],
        }


@dataclass
class ExportResult:
    pte: bytes
    delegation: Delegation
    debug_handles: DebugHandles | None = None  # the sidecar's content (pte/debug_handles.py)
    etrecord: bytes | None = None  # with etrecord=True: upstream's ETRecord, for its Inspector
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def export_pte(
    model: nn.Module, example: torch.Tensor, metadata: metadata_io.Metadata | None = None,
    allow_portable_ops: bool = False, etrecord: bool = False,
) -> ExportResult:
    """Export ``model`` (already quantized if it should be) to .pte bytes, delegated to XNNPACK,
    with what its debug handles stand for (and upstream's ETRecord with ``etrecord``).

    ``metadata`` becomes the .pte's ``metadata`` method; without it (benchmarks and tests of bare
    graphs) the program has ``forward`` only.

    Fails when XNNPACK left a convolution/linear layer, or (unless ``allow_portable_ops``) any
    tensor-sized operator, on portable kernels; ``ExportResult.warnings`` names the allowed ones.
    """
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
        constant_methods={metadata_io.METADATA_METHOD: metadata_io.to_tensor(metadata)} if metadata else None,
        generate_etrecord=etrecord,
    )
    delegation = inspect_delegation(edge.exported_program().graph_module)
    timings["lower"] = time.perf_counter() - started
    warnings = _check_delegation(delegation, allow_portable_ops)
    # Before to_executorch, whose passes renumber the handles of the graph they rewrite.
    handles = collect_handles(edge.exported_program().graph_module)

    started = time.perf_counter()
    program = edge.to_executorch()
    pte = program.buffer
    timings["serialize"] = time.perf_counter() - started
    handles = DebugHandles(pte_digest(pte), handles, instruction_handles(program.debug_handle_map))
    return ExportResult(pte=pte, delegation=delegation, debug_handles=handles,
                        etrecord=_etrecord_bytes(program) if etrecord else None, timings=timings, warnings=warnings)


def _check_delegation(delegation: Delegation, allow_portable_ops: bool) -> list[str]:
    """Refuse heavy layers left outside XNNPACK (and, unless allowed, any tensor-sized operator);
    returns the warnings for the allowed ones."""
    if delegation.heavy_portable_operators:
        raise SdkError(
            "XNNPACK did not take every convolution/linear layer (left on portable kernels: "
            + ", ".join(delegation.heavy_portable_operators)
            + "); the model would be several times slower"
        )
    if not delegation.tensor_sized_portable_ops:
        return []
    listed = ", ".join(op.describe() for op in delegation.tensor_sized_portable_ops)
    if not allow_portable_ops:
        raise SdkError(
            f"operators left outside XNNPACK on portable kernels, over whole tensors at every inference: {listed}"
            " (--allow-portable-ops builds anyway)"
        )
    return [f"operators left on portable kernels (allowed by --allow-portable-ops): {listed}"]


def _etrecord_bytes(program: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    program.get_etrecord().save(buffer)
    return buffer.getvalue()


def inspect_delegation(graph_module: torch.fx.GraphModule) -> Delegation:
    portable: list[PortableOp] = []
    delegated: Counter[str] = Counter()
    calls = 0
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = operator_name(node.target)
        if name == "executorch_call_delegate":
            calls += 1
            lowered = getattr(graph_module, node.args[0].target)
            for inner in lowered.original_module.graph.nodes:
                if inner.op == "call_function":
                    delegated[operator_name(inner.target)] += 1
        elif name != "getitem":
            value = node.meta.get("val")
            portable.append(PortableOp(name, tuple(value.shape) if isinstance(value, torch.Tensor) else ()))
    return Delegation(calls, dict(sorted(delegated.items())), tuple(portable))
