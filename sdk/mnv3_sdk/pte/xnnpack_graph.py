"""The XNNPACK subgraphs serialized in a .pte, read back node by node.

Each node keeps the debug handle of the aten node it was lowered from, and the runtime creates
its operators in node order; that is what lets ``mnv3-sdk profile`` name the module behind each
timed operator. The .pte's program and each XNNPACK payload are flatbuffers: ExecuTorch's own
deserializer reads the program, the ``flatc`` and schema its wheel ships read the payloads.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnv3_sdk.errors import SdkError

# XNNPACK's datatype enum (backends/xnnpack/serialization/schema.fbs) as the precision a person reads.
_PRECISIONS = {
    "xnn_datatype_fp32": "fp32", "xnn_datatype_fp16": "fp16", "xnn_datatype_bf16": "bf16",
    "xnn_datatype_qint8": "int8", "xnn_datatype_quint8": "uint8", "xnn_datatype_qcint8": "int8",
    "xnn_datatype_qdint8": "int8", "xnn_datatype_qpint8": "int8", "xnn_datatype_qint32": "int32",
    "xnn_datatype_qcint32": "int32", "xnn_datatype_int32": "int32", "xnn_datatype_qcint4": "int4",
    "xnn_datatype_qbint4": "int4",
}


@dataclass(frozen=True)
class XnnNode:
    """One node of an XNNPACK subgraph, in serialized order."""

    kind: str  # the schema's node type without its prefix: "Conv2d", "StaticTranspose", "Convert"
    debug_handle: int  # of the aten node it came from; 65535 for nodes a lowering pass inserted
    precision: str  # of its output: "fp32", "fp16", "int8"…; "" when not recorded


@dataclass(frozen=True)
class DelegateCall:
    """A call into XNNPACK in ``forward``: which instruction runs it and the subgraph it runs."""

    instruction: int
    nodes: list[XnnNode]


def read_delegate_calls(pte_path: Path) -> list[DelegateCall]:
    """``forward``'s XNNPACK calls, in instruction order, each with its subgraph's nodes."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    try:
        program = deserialize_pte_binary(pte_path.read_bytes()).program
    except Exception as error:  # the deserializer raises whatever its parser met
        raise SdkError(f"cannot read the program in {pte_path}: {type(error).__name__}: {error}") from None
    plan = next((plan for plan in program.execution_plan if plan.name == "forward"), None)
    if plan is None:
        raise SdkError(f"{pte_path} has no forward method")
    calls = []
    for index, instruction in enumerate(plan.chains[0].instructions):
        arguments = instruction.instr_args
        if type(arguments).__name__ != "DelegateCall":
            continue
        delegate = plan.delegates[arguments.delegate_index]
        if delegate.id != "XnnpackBackend":
            continue
        if delegate.processed.location.name != "INLINE":
            raise SdkError(f"{pte_path}: XNNPACK payload stored outside the program ({delegate.processed.location.name})")
        calls.append(DelegateCall(index, _nodes(program.backend_delegate_data[delegate.processed.index].data)))
    return calls


def _nodes(payload: bytes) -> list[XnnNode]:
    from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader

    header = XNNHeader.from_bytes(payload[:XNNHeader.EXPECTED_LENGTH])
    graph = _decompile(payload[header.flatbuffer_offset:header.flatbuffer_offset + header.flatbuffer_size])
    precisions = {}
    for value in graph.get("xvalues", []):
        tensor = value.get("xvalue_union") or {}
        tensor = tensor.get("tensor_value", tensor)  # a quantized tensor wraps a plain one
        if "id_out" in tensor:
            precisions[tensor["id_out"]] = _PRECISIONS.get(tensor.get("datatype", ""), "")
    return [XnnNode(node["xnode_union_type"].removeprefix("XNN"), int(node.get("debug_handle", 0)),
                    precisions.get((node.get("xnode_union") or {}).get("output_id"), ""))
            for node in graph.get("xnodes", [])]


def _decompile(flatbuffer: bytes) -> dict[str, Any]:
    """The XNNGraph flatbuffer as JSON, through the wheel's flatc and schema."""
    import importlib.resources

    import executorch.backends.xnnpack.serialization as schema_package
    from executorch.exir._serialize._flatbuffer import _flatc_decompile

    with tempfile.TemporaryDirectory(prefix="mnv3-sdk-xnngraph-") as folder:
        schema = Path(folder) / "schema.fbs"
        with importlib.resources.as_file(importlib.resources.files(schema_package) / "schema.fbs") as source:
            shutil.copyfile(source, schema)
        (Path(folder) / "graph.bin").write_bytes(flatbuffer)
        _flatc_decompile(folder, str(schema), str(Path(folder) / "graph.bin"))
        text = (Path(folder) / "graph.json").read_text(encoding="utf-8")
    # flatc writes the clamp bounds of unbounded activations as bare inf, which JSON lacks.
    return json.loads(re.sub(r"(:\s*-?)(inf|nan)\b", lambda match: match.group(1) + {"inf": "Infinity", "nan": "NaN"}[
        match.group(2)], text))
