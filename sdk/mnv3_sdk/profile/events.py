"""Recording a .pte's operator times with ExecuTorch's event tracer (ETDump), and reading them back.

The PyPI wheel's runtime is built with the event tracer, and the XNNPACK delegate then reports
every operator it runs (``backends/xnnpack/runtime/profiling/XNNProfiler.cpp``) as a delegate
event named "<XNNPACK operator name> #<n>", at XNNPACK's 1 µs resolution, in execution order.
The program runs in a worker process (``python -m mnv3_sdk.profile.events SPEC``): the runtime's
thread pool can be sized only before a program is loaded, and a fault in the runtime must not
take the caller down with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnv3_sdk.errors import SdkError

# The ETDump's run names (runtime/executor/method.cpp, program.cpp) and whole-call events.
EXECUTE_RUN = "Execute"
METHOD_EXECUTE = "Method::execute"
DELEGATE_CALL = "DELEGATE_CALL"
OPERATOR_CALL = "OPERATOR_CALL"
# A portable kernel's event is "native_call_<kernel>"; OPERATOR_CALL around it adds the dispatch.
NATIVE_CALL_PREFIX = "native_call_"
# What an inference's numbers count: host times, or guest instructions under qemu (--arch arm64).
MICROSECONDS = "µs"
INSTRUCTIONS = "instructions"


@dataclass(frozen=True)
class TimedEvent:
    """One event of one inference: its name, the instruction of ``forward`` it belongs to, and
    its span in the runtime's ticks (nanoseconds on Linux hosts)."""

    name: str
    instruction: int
    start: int
    end: int
    delegated: bool  # an operator the XNNPACK delegate reported, inside a DELEGATE_CALL

    @property
    def microseconds(self) -> float:
        return (self.end - self.start) / 1000.0


@dataclass(frozen=True)
class Inference:
    """The events of one run of ``forward``, in the order the runtime logged them. With ``unit``
    INSTRUCTIONS their start and end are guest instruction counts (mnv3_sdk.profile.arm64)."""

    events: list[TimedEvent]
    unit: str = MICROSECONDS

    def amount(self, event: TimedEvent) -> float:
        """An event's cost in ``unit``."""
        return event.microseconds if self.unit == MICROSECONDS else float(event.end - event.start)

    @property
    def total(self) -> float:
        whole = [event for event in self.events if event.name == METHOD_EXECUTE]
        return self.amount(whole[0]) if whole else sum(self.amount(event) for event in self.operators)

    @property
    def operators(self) -> list[TimedEvent]:
        """What ran: XNNPACK operators and portable kernels, without the calls wrapping them."""
        return [event for event in self.events
                if event.delegated or event.name.startswith(NATIVE_CALL_PREFIX)]


def record(model: Path, pixels: bool, threads: int, runs: int, etdump: Path) -> None:
    """Run ``model`` once to warm up and ``runs`` times more with the event tracer on, in a worker
    process with ``threads`` threads; the ETDump goes to ``etdump``. ``pixels``: the model takes
    RGB values 0-255 (else normalized values)."""
    spec = {"model": str(model), "pixels": pixels, "threads": threads, "runs": runs, "etdump": str(etdump)}
    completed = subprocess.run([sys.executable, "-m", "mnv3_sdk.profile.events", json.dumps(spec)],
                               capture_output=True, text=True)
    if completed.returncode != 0 or not etdump.is_file():
        lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
        raise SdkError(f"profiling {model} failed (exit {completed.returncode}): {(lines or ['no output'])[-1]}")


def read_inferences(etdump: Path) -> list[Inference]:
    """Every ``forward`` run in an ETDump, the warm-up run included, in order."""
    from executorch.devtools.etdump.serialize import deserialize_from_etdump_flatcc

    try:
        dump = deserialize_from_etdump_flatcc(etdump.read_bytes())
    except Exception as error:  # flatc's and the JSON decoder's own errors
        raise SdkError(f"cannot read the ETDump {etdump}: {type(error).__name__}: {error}") from None
    inferences = []
    for run in dump.run_data or []:
        if run.name != EXECUTE_RUN:
            continue  # "Default": loading the program and its method
        inferences.append(Inference([_timed(event.profile_event) for event in run.events or []
                                     if event.profile_event is not None]))
    return inferences


def _timed(event: Any) -> TimedEvent:
    # A delegate's events carry their name as a string "debug identifier"; the runtime's own
    # events carry it as a name.
    delegated = event.name is None and event.delegate_debug_id_str is not None
    return TimedEvent(event.name or event.delegate_debug_id_str or "", int(event.instruction_id),
                      int(event.start_time), int(event.end_time), delegated)


def _worker(spec: dict[str, Any]) -> None:
    import torch
    from executorch.runtime import Runtime

    from mnv3_sdk.pte.runtime import FLOAT_SCALAR_TYPES, set_threads

    set_threads(int(spec["threads"]))  # before any program is loaded
    # The program object must outlive every use of its method: dropping it first, with the event
    # tracer on, crashed the process (executorch 1.5.1).
    program = Runtime.get().load_program(Path(spec["model"]), enable_etdump=True, debug_buffer_size=0)
    method = program.load_method("forward")
    # Only forward runs here: every run of any method (the metadata's too) is a run in the ETDump.
    generator = torch.Generator().manual_seed(0)
    shape = tuple(program.metadata("forward").input_tensor_meta(0).sizes())
    image = (torch.randint(0, 256, shape, generator=generator).float() if spec["pixels"]
             else torch.randn(shape, generator=generator))
    dtype_code = int(program.metadata("forward").input_tensor_meta(0).dtype())
    image = image.to(FLOAT_SCALAR_TYPES.get(dtype_code, torch.float32)).contiguous()
    for _ in range(1 + int(spec["runs"])):  # the first is the warm-up, dropped when reading
        method.execute([image])
    program.write_etdump_result_to_file(spec["etdump"], spec["etdump"] + ".debug")
    Path(spec["etdump"] + ".debug").unlink(missing_ok=True)  # intermediate outputs: none recorded


if __name__ == "__main__":
    _worker(json.loads(sys.argv[1]))
