"""The profile's tables: each operator of one inference with the module it ran for, and the
modules' totals, as medians over the measured runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from mnv3_sdk.errors import SdkError
from mnv3_sdk.profile.alignment import Alignment, align, operator_type
from mnv3_sdk.profile.events import NATIVE_CALL_PREFIX, Inference
from mnv3_sdk.pte.debug_handles import DebugHandles, HandleInfo
from mnv3_sdk.pte.xnnpack_graph import DelegateCall, XnnNode

# Operators whose precision says whether a layer was quantized (the others follow their inputs).
HEAVY_OPERATORS = ("Convolution", "Fully Connected")


@dataclass(frozen=True)
class OperatorRow:
    """One operator the runtime ran, in run order."""

    index: int  # its place in the inference, from 0
    operator: str  # XNNPACK's operator type ("Convolution (NHWC, F32) IGEMM") or a portable kernel
    module: str  # the network's module path ("features.3.block.1.0")
    aten: str  # the aten operator(s) it was lowered from ("convolution")
    shape: list[int]  # that aten operator's output shape
    precision: str  # of its output: "fp32", "fp16", "int8"; "" for portable kernels
    delegated: bool  # inside XNNPACK, or a portable kernel of ExecuTorch
    median: float  # in the tables' unit
    share: float  # of the inference's median


@dataclass(frozen=True)
class ModuleRow:
    """A module's operators together (the module path cut at the profile's depth)."""

    module: str
    median: float  # the median over runs of the module's sum in each run, in the tables' unit
    share: float
    operators: int
    precisions: list[str]  # of its convolutions and fully connected layers, else of all its operators


@dataclass(frozen=True)
class Tables:
    operators: list[OperatorRow]
    modules: list[ModuleRow]  # most expensive first
    inference_median: float  # Method::execute (host) or the marked Module::execute (arm64): the whole call
    operators_median: float  # the operators' costs summed per run, median: the rest is call overhead
    alignment: list[str]  # per XNNPACK call, how its operators met its nodes
    unit: str  # "µs" (host times) or "instructions" (guest instructions under qemu): never mixed


@dataclass(frozen=True)
class _Placed:
    """What an operator event stands for, before timing."""

    operator: str
    info: HandleInfo
    precision: str
    delegated: bool


def make_tables(inferences: list[Inference], calls: list[DelegateCall], sidecar: DebugHandles,
                depth: int) -> Tables:
    """The tables of ``inferences`` (warm-up already dropped), modules cut at ``depth`` parts."""
    sequence = [event.name for event in inferences[0].operators]
    for inference in inferences[1:]:
        if [event.name for event in inference.operators] != sequence:
            raise SdkError("the runs did not execute the same operators; the ETDump mixes several programs")
    placed, alignment = _place(inferences[0], calls, sidecar)
    totals = [inference.total for inference in inferences]
    inference_median = statistics.median(totals)
    rows = []
    for index, where in enumerate(placed):
        median = statistics.median(inference.amount(inference.operators[index]) for inference in inferences)
        rows.append(OperatorRow(index, where.operator, where.info.module, where.info.operator, where.info.shape,
                                where.precision, where.delegated, round(median, 3), round(median / inference_median, 6)))
    operators_median = statistics.median(sum(inference.amount(event) for event in inference.operators)
                                         for inference in inferences)
    modules = _modules(rows, inferences, depth, inference_median)
    return Tables(rows, modules, round(inference_median, 3), round(operators_median, 3), alignment,
                  inferences[0].unit)


def _place(inference: Inference, calls: list[DelegateCall],
           sidecar: DebugHandles) -> tuple[list[_Placed], list[str]]:
    """Each operator event's module, by its XNNPACK node (aligned per delegate call) or, for a
    portable kernel, by its instruction."""
    nodes_of_call = {call.instruction: call.nodes for call in calls}
    operators = inference.operators
    placed: list[_Placed | None] = [None] * len(operators)
    descriptions = []
    for instruction in sorted({event.instruction for event in operators if event.delegated}):
        indices = [index for index, event in enumerate(operators) if event.delegated and event.instruction == instruction]
        nodes = nodes_of_call.get(instruction, [])
        types = [operator_type(operators[index].name) for index in indices]
        alignment = align(types, nodes)
        descriptions.append(f"XNNPACK call at instruction {instruction}: {alignment.describe(len(types), len(nodes))}")
        for index, operator, node_index in zip(indices, types, alignment.node_of):
            node = nodes[node_index] if node_index >= 0 else XnnNode("", -1, "")
            placed[index] = _Placed(operator, sidecar.info(node.debug_handle if node_index >= 0 else None),
                                    node.precision, True)
    for index, event in enumerate(operators):
        if placed[index] is None:
            handles = sidecar.instructions.get(event.instruction) or [None]
            placed[index] = _Placed(event.name.removeprefix(NATIVE_CALL_PREFIX), sidecar.info(handles[0]), "", False)
    return [where for where in placed if where is not None], descriptions


def module_at(path: str, depth: int) -> str:
    """"features.3.block.1.0" at depth 2 → "features.3"; names in brackets stay whole."""
    return path if path.startswith("(") else ".".join(path.split(".")[:depth])


def _modules(rows: list[OperatorRow], inferences: list[Inference], depth: int,
             inference_median: float) -> list[ModuleRow]:
    members: dict[str, list[OperatorRow]] = {}
    for row in rows:
        members.setdefault(module_at(row.module, depth), []).append(row)
    modules = []
    for module, group in members.items():
        median = statistics.median(sum(inference.amount(inference.operators[row.index]) for row in group)
                                   for inference in inferences)
        modules.append(ModuleRow(module, round(median, 3), round(median / inference_median, 6), len(group),
                                 _precisions(group)))
    return sorted(modules, key=lambda row: row.median, reverse=True)


def _precisions(group: list[OperatorRow]) -> list[str]:
    heavy = [row for row in group if row.operator.startswith(HEAVY_OPERATORS)]
    return sorted({row.precision for row in heavy or group if row.precision})


def layers_left_in_fp32(rows: list[OperatorRow]) -> list[tuple[str, float, float]]:
    """For an int8 model: (module, median, share) of each layer whose convolution or fully
    connected operator ran in fp32, in run order."""
    found: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row.operator.startswith(HEAVY_OPERATORS) and row.precision == "fp32":
            median, share = found.get(row.module, (0.0, 0.0))
            found[row.module] = (median + row.median, share + row.share)
    return [(module, median, share) for module, (median, share) in found.items()]
