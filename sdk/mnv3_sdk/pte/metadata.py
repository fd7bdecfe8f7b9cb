"""The metadata contract (docs/contracts.md § 1): one JSON document, in metadata.json and in the .pte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import METADATA_FORMAT

METADATA_METHOD = "metadata"

# Formats this version refuses, with what changed, so an old .pte gets a reason and a remedy.
OLDER_FORMATS = {"mnv3-sdk/1": "uint8 NHWC input, which left a permute and a cast outside XNNPACK"}


def to_json_bytes(metadata: dict[str, Any]) -> bytes:
    """Canonical UTF-8 JSON (sorted keys, no timestamps) so identical inputs give identical bytes."""
    return (json.dumps(metadata, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def to_tensor(metadata: dict[str, Any]) -> torch.Tensor:
    """The JSON as a uint8 tensor, the value returned by the .pte's ``metadata`` method."""
    return torch.frombuffer(bytearray(to_json_bytes(metadata)), dtype=torch.uint8).clone()


def from_json_bytes(data: bytes, origin: str) -> dict[str, Any]:
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SdkError(f"{origin}: embedded metadata is not valid UTF-8 JSON ({error})") from None
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found in OLDER_FORMATS:
        raise SdkError(
            f"{origin} was built by an older mnv3-sdk (metadata {found}: {OLDER_FORMATS[found]}); "
            f"this version reads {METADATA_FORMAT} only: rebuild the model"
        )
    if found != METADATA_FORMAT:
        raise SdkError(f"{origin}: metadata format is {found!r}, expected {METADATA_FORMAT!r}")
    return metadata


def read_from_pte(path: Path) -> dict[str, Any]:
    """Read the metadata embedded in a .pte, using the .pte alone."""
    from mnv3_sdk.pte.runtime import load_program

    return read_from_program(load_program(path), str(path))


def read_from_program(program: Any, origin: str) -> dict[str, Any]:
    """The metadata of an already loaded ``executorch.runtime.Program``."""
    if METADATA_METHOD not in program.method_names:
        raise SdkError(f"{origin} has no '{METADATA_METHOD}' method: it was not built by mnv3-sdk")
    outputs = program.load_method(METADATA_METHOD).execute([])
    return from_json_bytes(bytes(outputs[0].numpy().tobytes()), origin)


def check_program_matches(program: Any, metadata: dict[str, Any], origin: str) -> None:
    """Fail unless ``forward``'s input and output are exactly the dtype and shape the metadata promises.

    The app builds its tensors from the metadata alone: a graph that expects anything else fails
    on the device at the first classify ("unexpected scalar type"), so the build checks it here.
    """
    from mnv3_sdk.pte.runtime import SCALAR_TYPES

    method = program.metadata("forward")
    inputs, outputs = method.num_inputs(), method.num_outputs()
    if (inputs, outputs) != (1, 1):
        raise SdkError(f"{origin}: forward takes {inputs} inputs and returns {outputs} outputs, expected 1 and 1")
    for role, spec, tensor in (("input", metadata["input"], method.input_tensor_meta(0)),
                               ("output", metadata["output"], method.output_tensor_meta(0))):
        expected = (SCALAR_TYPES.get(spec["dtype"]), tuple(spec["shape"]))
        actual = (int(tensor.dtype()), tuple(tensor.sizes()))
        if actual != expected:
            names = {code: name for name, code in SCALAR_TYPES.items()}
            raise SdkError(
                f"{origin}: forward's {role} is {names.get(actual[0], f'dtype {actual[0]}')} {list(actual[1])} "
                f"but the metadata promises {spec['dtype']} {list(spec['shape'])}"
            )


def input_spec(metadata: dict[str, Any]) -> tuple[str, int, float]:
    """(input format, input size, crop fraction) of the model ``metadata`` describes."""
    spec = metadata["input"]
    input_format = "pixels" if spec["normalized_in_graph"] else "normalized"
    return input_format, int(spec["shape"][2]), float(spec["crop_fraction"])
