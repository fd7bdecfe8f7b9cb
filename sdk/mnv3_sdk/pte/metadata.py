"""The metadata contract (docs/contracts.md § 1): one JSON document, in metadata.json and in the .pte.

``Metadata`` is its type: the build makes one, writes it (``to_json_bytes``: canonical, so the
same build gives the same bytes) and embeds it; ``info``, ``verify`` and ``bench`` read it back
from the .pte alone (``read_from_pte``), checked field by field.
"""

from __future__ import annotations

import json
import typing
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import METADATA_FORMAT

METADATA_METHOD = "metadata"

# Formats this version refuses, with what changed, so an old .pte gets a reason and a remedy.
OLDER_FORMATS = {"mnv3-sdk/1": "uint8 NHWC input, which left a permute and a cast outside XNNPACK"}


@dataclass(frozen=True)
class ModelInfo:
    arch: str  # "mobilenet_v3_small" or "mobilenet_v3_large"
    width_mult: float
    num_classes: int

    @property
    def variant(self) -> str:
        return self.arch.removeprefix("mobilenet_v3_")


@dataclass(frozen=True)
class WeightsInfo:
    source: str  # "imagenet", the weights file's name, or "random"
    sha256: str  # of the state dict's tensors


@dataclass(frozen=True)
class CalibrationInfo:
    source: str  # the calibration folder's name, "data-free", or "none" (not int8)
    samples: int


@dataclass(frozen=True)
class InputSpec:
    name: str
    dtype: str  # "float32", or "float16" for fp16 models
    layout: str  # "NCHW"
    shape: list[int]  # [1, 3, S, S]
    color: str  # "RGB"
    values: str  # "0-255" (normalized in the graph) or "normalized"
    mean: list[float]
    std: list[float]
    normalized_in_graph: bool
    crop_fraction: float
    interpolation: str
    resize: str

    @property
    def size(self) -> int:
        return self.shape[2]

    @property
    def input_format(self) -> str:
        """The build's ``--input-format``: "pixels" (normalized in the graph) or "normalized"."""
        return "pixels" if self.normalized_in_graph else "normalized"


@dataclass(frozen=True)
class OutputSpec:
    name: str
    dtype: str
    shape: list[int]  # [1, num_classes]


@dataclass(frozen=True)
class Metadata:
    format: str
    model: ModelInfo
    weights: WeightsInfo
    quant: str  # "fp32", "fp16" or "int8"
    calibration: CalibrationInfo
    input: InputSpec
    output: OutputSpec
    labels: list[str]
    versions: dict[str, str]  # mnv3_sdk, torch, executorch

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, origin: str) -> Metadata:
        """Checks the format first (older ones are refused with the remedy), then every field's type."""
        found = data.get("format") if isinstance(data, dict) else None
        if found in OLDER_FORMATS:
            raise SdkError(
                f"{origin} was built by an older mnv3-sdk (metadata {found}: {OLDER_FORMATS[found]}); "
                f"this version reads {METADATA_FORMAT} only: rebuild the model"
            )
        if found != METADATA_FORMAT:
            raise SdkError(f"{origin}: metadata format is {found!r}, expected {METADATA_FORMAT!r}")
        return _parse(cls, data, "", origin)


def to_json_bytes(metadata: Metadata) -> bytes:
    """Canonical UTF-8 JSON (sorted keys, no timestamps) so identical inputs give identical bytes."""
    return (json.dumps(metadata.to_dict(), ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def to_tensor(metadata: Metadata) -> torch.Tensor:
    """The JSON as a uint8 tensor, the value returned by the .pte's ``metadata`` method."""
    return torch.frombuffer(bytearray(to_json_bytes(metadata)), dtype=torch.uint8).clone()


def from_json_bytes(data: bytes, origin: str) -> Metadata:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SdkError(f"{origin}: embedded metadata is not valid UTF-8 JSON ({error})") from None
    return Metadata.from_dict(document, origin)


def read_from_pte(path: Path) -> Metadata:
    """Read the metadata embedded in a .pte, using the .pte alone."""
    from mnv3_sdk.pte.runtime import load_program

    return read_from_program(load_program(path), str(path))


def read_from_program(program: Any, origin: str) -> Metadata:
    """The metadata of an already loaded ``executorch.runtime.Program``."""
    if METADATA_METHOD not in program.method_names:
        raise SdkError(f"{origin} has no '{METADATA_METHOD}' method: it was not built by mnv3-sdk")
    outputs = program.load_method(METADATA_METHOD).execute([])
    return from_json_bytes(bytes(outputs[0].numpy().tobytes()), origin)


def check_program_matches(program: Any, metadata: Metadata, origin: str) -> None:
    """Fail unless ``forward``'s input and output are exactly the dtype and shape the metadata promises.

    The app builds its tensors from the metadata alone: a graph that expects anything else fails
    on the device at the first classify ("unexpected scalar type"), so the build checks it here.
    """
    from mnv3_sdk.pte.runtime import SCALAR_TYPES

    method = program.metadata("forward")
    inputs, outputs = method.num_inputs(), method.num_outputs()
    if (inputs, outputs) != (1, 1):
        raise SdkError(f"{origin}: forward takes {inputs} inputs and returns {outputs} outputs, expected 1 and 1")
    for role, spec, tensor in (("input", metadata.input, method.input_tensor_meta(0)),
                               ("output", metadata.output, method.output_tensor_meta(0))):
        expected = (SCALAR_TYPES.get(spec.dtype), tuple(spec.shape))
        actual = (int(tensor.dtype()), tuple(tensor.sizes()))
        if actual != expected:
            names = {code: name for name, code in SCALAR_TYPES.items()}
            raise SdkError(
                f"{origin}: forward's {role} is {names.get(actual[0], f'dtype {actual[0]}')} {list(actual[1])} "
                f"but the metadata promises {spec.dtype} {list(spec.shape)}"
            )


def _parse(kind: Any, value: Any, where: str, origin: str) -> Any:
    """``value`` (decoded JSON) as ``kind``: a dataclass, str, int, float, bool, list[...] or dict[str, str]."""
    def wrong(expected: str) -> SdkError:
        return SdkError(f"{origin}: metadata field {where or 'document'} should be {expected}, found {value!r:.60}")

    if is_dataclass(kind):
        if not isinstance(value, dict):
            raise wrong("an object")
        hints = typing.get_type_hints(kind)
        parsed = {}
        for field in fields(kind):
            path = f"{where}.{field.name}" if where else field.name
            if field.name not in value:
                raise SdkError(f"{origin}: metadata has no field {path}")
            parsed[field.name] = _parse(hints[field.name], value[field.name], path, origin)
        return kind(**parsed)
    container = typing.get_origin(kind)
    if container is list:
        if not isinstance(value, list):
            raise wrong("a list")
        (item,) = typing.get_args(kind)
        return [_parse(item, element, f"{where}[{index}]", origin) for index, element in enumerate(value)]
    if container is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) and isinstance(item, str)
                                                   for key, item in value.items()):
            raise wrong("an object of strings")
        return dict(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong("a whole number")
        return value
    if kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise wrong("a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    raise TypeError(f"no parser for {kind!r}")
