"""The debug-handle sidecar beside each .pte (``<name>.debug-handles.json``): which PyTorch module,
aten operator and output shape each debug handle of the program stands for.

The runtime names what it times by XNNPACK operator ("Convolution (NHWC, F32) IGEMM #3") or by
instruction, never by module; the handles that link both to the model exist only at build time,
in the exported program. The build writes them here (``export/lower.py``), a few kB, so that
``mnv3-sdk profile`` can name modules from the .pte and this file alone, without the ~22 MB
ETRecord. ``pte_sha256`` ties the file to the exact .pte it describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mnv3_sdk.errors import SdkError

SIDECAR_FORMAT = "mnv3-sdk-debug-handles/1"
SIDECAR_SUFFIX = ".debug-handles.json"
ETRECORD_SUFFIX = ".etrecord"  # upstream's full record, written only with build --etrecord
# The name the build gives nodes outside the network (the input adapter's normalisation) and
# nodes a lowering pass inserted without a handle of their own (layout transposes).
ADAPTER_MODULE = "(input adapter)"
UNKNOWN_MODULE = "(inserted by lowering)"


@dataclass(frozen=True)
class HandleInfo:
    """What one debug handle stands for in the exported model."""

    module: str  # the network's module path, as --quant-exclude names it ("features.3.block.1.fc1")
    operator: str  # the aten operator ("convolution", "hardswish", "quantize_per_tensor")
    shape: list[int]  # its output's shape


@dataclass(frozen=True)
class DebugHandles:
    """The sidecar's content: handle → ``HandleInfo``; for operators left outside the delegate,
    which handles each instruction of ``forward`` runs (the runtime names those by instruction)."""

    pte_sha256: str
    handles: dict[int, HandleInfo]
    instructions: dict[int, list[int]] = field(default_factory=dict)
    format: str = SIDECAR_FORMAT

    def info(self, handle: int | None) -> HandleInfo:
        if handle is None or handle not in self.handles:
            return HandleInfo(UNKNOWN_MODULE, "", [])
        return self.handles[handle]


def sidecar_path(pte_path: Path) -> Path:
    return pte_path.with_name(pte_path.stem + SIDECAR_SUFFIX)


def pte_digest(pte: bytes) -> str:
    return hashlib.sha256(pte).hexdigest()


def to_json_bytes(debug_handles: DebugHandles) -> bytes:
    document = asdict(debug_handles)
    # JSON keys are strings (sorted as such in the file); read_sidecar orders them by number again.
    document["handles"] = {str(key): value for key, value in document["handles"].items()}
    document["instructions"] = {str(key): value for key, value in document["instructions"].items()}
    return (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def read_sidecar(pte_path: Path) -> DebugHandles:
    """The sidecar of ``pte_path``, checked to describe exactly that file."""
    path = sidecar_path(pte_path)
    if not path.is_file():
        raise SdkError(f"{path.name} not found beside {pte_path}: rebuild the model with this mnv3-sdk "
                       "(builds write it beside the .pte) to name its modules")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != SIDECAR_FORMAT:
            raise SdkError(f"{path}: format {document.get('format')!r}, expected {SIDECAR_FORMAT!r}")
        handles = {int(key): HandleInfo(value["module"], value["operator"], list(value["shape"]))
                   for key, value in sorted(document["handles"].items(), key=lambda item: int(item[0]))}
        instructions = {int(key): [int(handle) for handle in value]
                        for key, value in document["instructions"].items()}
        sidecar = DebugHandles(str(document["pte_sha256"]), handles, instructions)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SdkError(f"{path} is not a debug-handle sidecar mnv3-sdk can read ({error})") from None
    if sidecar.pte_sha256 != pte_digest(pte_path.read_bytes()):
        raise SdkError(f"{path.name} describes another .pte than {pte_path} (its sha256 differs): rebuild, or keep "
                       "the two files of one build together")
    return sidecar
