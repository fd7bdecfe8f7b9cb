"""Running a .pte with the ExecuTorch Python runtime."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from executorch.runtime import Program, Runtime

from mnv3_sdk.errors import SdkError


@contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """Hide the runtime's C++ log lines (cpuinfo probing, flatbuffer checks) written to fd 2.

    Their content is turned into our own one-line errors; on a terminal they are noise.
    """
    if os.environ.get("MNV3_SDK_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def check_pte_file(path: Path) -> None:
    """Refuse, with one line, a path that is missing or not a .pte, before anything loads it."""
    if not path.is_file():
        raise SdkError(f"model file not found: {path}")
    with open(path, "rb") as stream:
        header = stream.read(8)
    # A .pte is a flatbuffer whose file identifier, at bytes 4..8, is "ET" and a schema number.
    if len(header) < 8 or header[4:6] != b"ET":
        raise SdkError(f"{path} is not an ExecuTorch program (.pte)")


def load_program(path: Path) -> Program:
    check_pte_file(path)
    try:
        with _native_logs_silenced():
            return Runtime.get().load_program(path)
    except (RuntimeError, ValueError) as error:
        raise SdkError(f"cannot load {path} with the ExecuTorch runtime: {error}") from None


def set_threads(count: int) -> None:
    """Set the process-wide XNNPACK/threadpool size used by the host runtime.

    Call it before loading any program: resetting the pool under a loaded XNNPACK program
    crashes the process (seen with executorch 1.5.1), hence one process per thread count.
    """
    from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

    _unsafe_reset_threadpool(count)


# ExecuTorch's ScalarType codes (runtime/core/portable_type/scalar_type.h) of the dtypes the
# metadata can name.
SCALAR_TYPES = {"uint8": 0, "float16": 5, "float32": 6}
FLOAT_SCALAR_TYPES = {
    code: getattr(torch, name) for name, code in SCALAR_TYPES.items() if name.startswith("float")
}


class LoadedModel:
    """The ``forward`` method of a .pte, ready to run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.program = load_program(path)
        with _native_logs_silenced():
            self.method = self.program.load_method("forward")
        code = int(self.program.metadata("forward").input_tensor_meta(0).dtype())
        self.input_dtype = FLOAT_SCALAR_TYPES.get(code, torch.float32)

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits as float32 for a float32 batch, cast to the program's input dtype first (float16
        for fp16 models, as the app feeds them)."""
        # The runtime silently misreads non-contiguous tensors, so always hand it a packed copy.
        outputs = self.method.execute([batch.to(self.input_dtype).contiguous()])
        return outputs[0].to(torch.float32, copy=True)
