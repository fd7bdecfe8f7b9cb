"""``profile --arch arm64``: guest instructions per operator under qemu-aarch64, not time.

The arm64 runner (runner.cpp --etdump) records the same ETDump as the host profile, and our qemu
plugin (plugin.c) snapshots its instruction counter at every clock_gettime the inference makes.
Each clock read belongs to one ETDump timestamp, so the events' order gives the reads' order:

- the runner reads it once just before Module::execute and once just after (its own iteration
  time, runner.cpp: the markers are outside those reads);
- every event of the runtime itself (Method::execute, OPERATOR_CALL, native_call_*, DELEGATE_CALL)
  reads it at its start and at its end;
- inside each DELEGATE_CALL, XNNPACK's profiler reads once at its start (XNNProfiler::start), then
  XNNPACK once before its first operator and once after each operator.

Measured with qemu-aarch64 -strace, whose clock_gettime results equal the ETDump's timestamps, on
a model with two delegate calls and a portable kernel between them (executorch 1.5.1). A model
with one delegate call has the same number of reads as a layout with two unexplained reads inside
that call instead of the runner's two: that wrong layout, used before, named the XNNPACK operators
right but shifted every portable kernel by one read.

XNNPACK's event times are rebuilt from 1 µs durations (XNNProfiler::submit_trace), so they order
nothing: only the runtime's own events are sorted by time. An operator's instructions are the
counter's difference between the reads before and after it. A model whose reads do not follow
this layout is refused rather than mislabelled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mnv3_sdk.errors import SdkError
from mnv3_sdk.profile.events import DELEGATE_CALL, INSTRUCTIONS, METHOD_EXECUTE, Inference, TimedEvent

# As bench --arch arm64 (bench/instructions.py): the first inferences do one-time work, and fp16
# on cortex-a53 settles only from the third.
WARMUP = 2


@dataclass(frozen=True)
class _Point:
    """One clock read the layout predicts: an event's start or end (or a delegated operator's end)."""

    event: int  # index into the inference's events
    is_end: bool


def expected_reads(inference: Inference) -> list[_Point | None]:
    """The clock reads of ``inference`` in order, each the start or end of one of its events (None:
    a read no event records)."""
    events = inference.events
    runtime = [index for index, event in enumerate(events) if not event.delegated]
    # Starts before ends at equal times: a read cannot end an event before starting the next.
    marks = sorted([(events[index].start, 0, index) for index in runtime]
                   + [(events[index].end, 1, index) for index in runtime])
    reads: list[_Point | None] = [None]  # the runner's read before Module::execute
    for _, is_end, index in marks:
        event = events[index]
        if event.name != DELEGATE_CALL:
            reads.append(_Point(index, bool(is_end)))
        elif not is_end:
            inside = [other for other, candidate in enumerate(events) if candidate.delegated
                      and candidate.instruction == event.instruction and event.start <= candidate.start <= event.end]
            reads += [_Point(index, False), None]  # the call's start, XNNPACK's profiler's start
            reads.append(_Point(inside[0], False) if inside else None)  # XNNPACK's start: the first operator's
            reads += [_Point(other, True) for other in inside]
        else:
            reads.append(_Point(index, True))
    reads.append(None)  # the runner's read after Module::execute
    return reads


def to_instructions(inference: Inference, reads: list[int], whole: int) -> Inference:
    """``inference`` with each operator's start and end in guest instructions (from the counter at
    its clock reads), and Method::execute spanning ``whole`` instructions (an inference counted
    without the event tracer, whose own bookkeeping is not the model's work)."""
    layout = expected_reads(inference)
    if len(layout) != len(reads):
        raise SdkError(f"the inference made {len(reads)} clock reads where its ETDump events account for "
                       f"{len(layout)}: this runtime's profiling layout is not the one mnv3-sdk maps")
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for point, count in zip(layout, reads):
        if point is not None:
            (ends if point.is_end else starts)[point.event] = count
    events = []
    previous_end: dict[int, int] = {}
    for index, event in enumerate(inference.events):
        if index not in ends:
            raise SdkError(f"no clock read ends the event {event.name!r}: this runtime's profiling layout is "
                           "not the one mnv3-sdk maps")
        if event.delegated:
            # An operator starts where the previous one of its call ended (XNNPACK reads once between).
            start = starts.get(index, previous_end.get(event.instruction, 0))
            previous_end[event.instruction] = ends[index]
            events.append(replace(event, start=start, end=ends[index]))
        elif event.name == METHOD_EXECUTE:  # ends[index] exists: the layout matched
            events.append(replace(event, start=0, end=whole))
        else:
            events.append(replace(event, start=starts[index], end=ends[index]))
    return Inference(events, unit=INSTRUCTIONS)


def map_inferences(inferences: list[Inference], clock_reads: list[list[int]], whole: int) -> list[Inference]:
    """The measured inferences (warm-up dropped) in instructions, one list of reads each."""
    if len(inferences) != len(clock_reads):
        raise SdkError(f"the ETDump holds {len(inferences)} measured inferences, the qemu plugin {len(clock_reads)}")
    return [to_instructions(inference, reads, whole) for inference, reads in zip(inferences, clock_reads)]


def record(model: Path, cpu: str, runs: int, etdump: Path) -> list[Inference]:
    """``runs`` inferences of ``model`` on qemu-aarch64 -cpu ``cpu``, one thread, after WARMUP,
    in guest instructions per operator; the ETDump (warm-up included) goes to ``etdump``."""
    from mnv3_sdk.native import build_runner, run_runner
    from mnv3_sdk.profile.events import read_inferences

    runner = build_runner("arm64")
    # The whole inference's count, from a run without the event tracer: its bookkeeping (about
    # 0.4 M instructions per inference writing XNNPACK's events) is profiling's cost, not the model's.
    plain = run_runner(runner, model, warmup=WARMUP, iterations=1, cpu=cpu, count_instructions=True)
    traced = run_runner(runner, model, warmup=WARMUP, iterations=runs, cpu=cpu, count_instructions=True,
                        etdump=etdump)
    if not etdump.is_file():
        raise SdkError(f"the arm64 runner wrote no ETDump for {model.name}")
    inferences = read_inferences(etdump)[WARMUP:]
    return map_inferences(inferences, traced.clock_reads, plain.instructions[0])
