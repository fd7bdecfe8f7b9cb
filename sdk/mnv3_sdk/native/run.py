"""Running a runner build: natively on this host, or an arm64 build under qemu-aarch64; reading what it
prints and the output files it writes."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from mnv3_sdk.errors import SdkError
from mnv3_sdk.native.build import ARM64_LOADER, RunnerBuild
from mnv3_sdk.native.plugin import build_plugin, read_clock_reads, read_counts
from mnv3_sdk.native.toolchain import ARM64, qemu, require_arm64

# The runner's lines (runner.cpp's header comment). "Iteration N of K: X ms" is also the form
# bench/device.py's parse_runner_output reads.
_ITERATION = re.compile(r"^Iteration (\d+) of (\d+): ([0-9.]+) ms$", re.MULTILINE)
_TENSOR = re.compile(r"^(input|output) (\d+): (\S+) \[([0-9, ]*)\] (\d+) bytes$", re.MULTILINE)
_THREADS = re.compile(r"^threads: (\d+)$", re.MULTILINE)
_LOAD = re.compile(r"^load: ([0-9.]+) ms$", re.MULTILINE)
# The CPU models every arm64 check and count runs on unless told otherwise: XNNPACK picks its
# kernels by ISA features, and these two differ where it matters most. cortex-a53 has neither dot
# product nor fp16 arithmetic (the int8 kernels widen and multiply-accumulate in 16 bits);
# neoverse-n1 has both (SDOT int8 kernels, fp16 arithmetic), as the cores of current phones do.
DEFAULT_CPU_MODELS = ("cortex-a53", "neoverse-n1")
# The --arch choices of bench and profile: this host, or arm64 instructions under qemu.
ARCHES = ("host", "arm64")
# Inputs per runner process: each is two arguments (--input, --output), far below ARG_MAX.
INPUTS_PER_PROCESS = 256
_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8, "int8": np.int8,
           "int32": np.int32, "int64": np.int64}


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    nbytes: int

    def read(self, data: bytes) -> np.ndarray:
        if self.dtype not in _DTYPES:
            raise SdkError(f"the runner's output has dtype {self.dtype}, which mnv3-sdk does not read")
        return np.frombuffer(data, dtype=_DTYPES[self.dtype]).reshape(self.shape).copy()


@dataclass(frozen=True)
class RunnerOutput:
    threads: int
    load_ms: float
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    samples_ms: list[float]
    stdout: str
    instructions: list[int] = field(default_factory=list)  # per timed iteration, with count_instructions
    # With count_instructions: per timed iteration, the instructions counted at each clock read in it.
    clock_reads: list[list[int]] = field(default_factory=list)


def parse_output(stdout: str) -> RunnerOutput:
    """The runner's stdout as values; ValueError when a line it always prints is missing."""
    threads, load = _THREADS.search(stdout), _LOAD.search(stdout)
    if threads is None or load is None:
        raise ValueError("no 'threads:' or 'load:' line")
    tensors: dict[str, list[TensorSpec]] = {"input": [], "output": []}
    for kind, _, dtype, shape, nbytes in _TENSOR.findall(stdout):
        tensors[kind].append(TensorSpec(dtype, tuple(int(size) for size in shape.split(",") if size.strip()),
                                        int(nbytes)))
    samples = [float(match.group(3)) for match in _ITERATION.finditer(stdout)]
    return RunnerOutput(int(threads.group(1)), float(load.group(1)), tensors["input"], tensors["output"],
                        samples, stdout)


def read_outputs(result: RunnerOutput, path: Path) -> list[np.ndarray]:
    """The output tensors the runner wrote to ``path`` (--output), in order, with their dtypes."""
    data = path.read_bytes()
    expected = sum(spec.nbytes for spec in result.outputs)
    if len(data) != expected:
        raise SdkError(f"{path} has {len(data)} bytes; the model's outputs take {expected}")
    arrays, offset = [], 0
    for spec in result.outputs:
        arrays.append(spec.read(data[offset:offset + spec.nbytes]))
        offset += spec.nbytes
    return arrays


def check_cpu_model(cpu: str) -> None:
    """qemu's CPU model for arm64 runs. It must be named: qemu-aarch64 7.2's default and "max" model
    enables SME, and XNNPACK then picks its SME int8 kernels, which give wrong results under that
    qemu (int8 outputs differ from every other CPU model's and the host's). "max,sme=off" is fine."""
    options = cpu.split(",")
    if not cpu or options[0] == "max" and "sme=off" not in options[1:]:
        raise SdkError(f"qemu CPU model {cpu!r}: name a model such as cortex-a53 (no dot product) or neoverse-n1 "
                       "(dot product), or max,sme=off: qemu 7.2's SME makes XNNPACK's int8 kernels wrong")


def parse_cpu_models(text: str) -> tuple[str, ...]:
    """``"cortex-a53,neoverse-n1"`` → the models, each checked against qemu-aarch64's own list (call
    ``require_arm64`` first: without qemu there is no list to check against)."""
    models = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not models:
        raise SdkError(f"--cpu-models takes comma-separated qemu CPU models, e.g. {','.join(DEFAULT_CPU_MODELS)}")
    for model in models:
        # "max,sme=off" cannot be one item of a comma-separated list: only plain names are taken.
        check_cpu_model(model)
    known = available_cpu_models()
    unknown = [model for model in models if model not in known]
    if unknown:
        raise SdkError(f"qemu-aarch64 has no CPU model {unknown[0]!r}: choose from {', '.join(sorted(known - {'max'}))}")
    return models


def arch_cpu_models(arch: str, cpu_models: str, what: str) -> tuple[str, ...]:
    """The checked ``--arch`` and ``--cpu-models`` of a command (bench, profile): the parsed CPU
    models with "arm64", () with "host"."""
    if arch not in ARCHES:
        raise SdkError(f"--arch takes host or arm64 (got {arch!r})")
    if arch == "host":
        if cpu_models != ",".join(DEFAULT_CPU_MODELS):
            raise SdkError("--cpu-models only applies with --arch arm64")
        return ()
    require_arm64(what)
    return parse_cpu_models(cpu_models)


def available_cpu_models() -> set[str]:
    """The CPU models this qemu-aarch64 emulates (``-cpu help``)."""
    result = subprocess.run([str(qemu().require()), "-cpu", "help"], capture_output=True, text=True)
    return {line.strip() for line in result.stdout.splitlines()[1:] if line.strip()}


def command(build: RunnerBuild, model: Path, *, threads: int = 1, warmup: int = 1, iterations: int = 10,
            inputs: Sequence[Path] = (), outputs: Sequence[Path] = (), cpu: str | None = None,
            qemu_options: Sequence[str] = (), runner_options: Sequence[str] = ()) -> list[str]:
    """The command line that runs ``build`` on ``model``: arm64 builds under qemu-aarch64 -cpu ``cpu``,
    through the build's own glibc loader, exactly as on a phone."""
    arguments = [f"--model={model}", f"--threads={threads}", f"--warmup={warmup}", f"--iterations={iterations}",
                 *(f"--input={path}" for path in inputs), *(f"--output={path}" for path in outputs), *runner_options]
    if build.arch != ARM64:
        if cpu is not None:
            raise SdkError(f"a qemu CPU model ({cpu}) applies to arm64 builds only, not {build.arch}")
        return [str(build.runner), *arguments]
    check_cpu_model(cpu or "")
    folder = build.folder
    return [str(qemu().require()), "-cpu", cpu, *qemu_options, str(folder / ARM64_LOADER), "--library-path",
            str(folder), str(build.runner), *arguments]


def run_runner(build: RunnerBuild, model: Path, *, threads: int = 1, warmup: int = 1, iterations: int = 10,
               inputs: Sequence[Path] = (), outputs: Sequence[Path] = (), cpu: str | None = None,
               count_instructions: bool = False, etdump: Path | None = None, timeout: float = 600.0) -> RunnerOutput:
    """Runs the runner once; its one-line error becomes an SdkError.

    ``count_instructions`` (arm64 under qemu, one thread): ``instructions`` of the result holds the
    guest instructions each timed iteration executed, counted by the qemu plugin (plugin.c)
    between the runner's markers, so warm-up, loading and printing are not in them. ``etdump``: the
    runner records ExecuTorch's event tracer there (XNNPACK's per-operator events).
    """
    qemu_options: list[str] = []
    runner_options: list[str] = [f"--etdump={etdump}"] if etdump is not None else []
    with tempfile.TemporaryDirectory(prefix="mnv3-insn-") as scratch:
        counts = Path(scratch) / "counts.txt"
        if count_instructions:
            if build.arch != ARM64 or threads != 1:
                # One counter for all vCPU threads, added to without atomics: exact with one thread only.
                raise SdkError("instructions are counted for arm64 builds under qemu with --threads 1 only")
            qemu_options = ["-plugin", f"{build_plugin()},out={counts}"]
            runner_options.append("--count-markers")
        argv = command(build, model, threads=threads, warmup=warmup, iterations=iterations, inputs=inputs,
                       outputs=outputs, cpu=cpu, qemu_options=qemu_options, runner_options=runner_options)
        result = _run(argv, build, model, cpu, timeout)
        if count_instructions:
            _, intervals = read_counts(counts)
            if len(intervals) != iterations:
                raise SdkError(f"the qemu plugin counted {len(intervals)} marked iteration(s) of {iterations}")
            result = replace(result, instructions=intervals, clock_reads=read_clock_reads(counts, iterations))
    return result


def run_on_inputs(build: RunnerBuild, model: Path, inputs: Sequence[np.ndarray], *, cpu: str | None = None,
                  threads: int = 1) -> list[list[np.ndarray]]:
    """The model's outputs for each input (raw tensors, already in the model's input dtype), once
    each, untimed; runner processes of up to INPUTS_PER_PROCESS inputs each (one load per process)."""
    outputs: list[list[np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="mnv3-io-") as scratch:
        for start in range(0, len(inputs), INPUTS_PER_PROCESS):
            chunk = inputs[start:start + INPUTS_PER_PROCESS]
            input_paths = [Path(scratch) / f"input{start + index}.bin" for index in range(len(chunk))]
            output_paths = [path.with_name(path.name.replace("input", "output")) for path in input_paths]
            for path, array in zip(input_paths, chunk):
                path.write_bytes(np.ascontiguousarray(array).tobytes())
            # Under qemu one inference of Large fp32 takes about 1.5 s on this host: a minute per input
            # is far beyond any model mnv3-sdk builds, yet a hang still ends.
            result = run_runner(build, model, threads=threads, warmup=0, iterations=0, inputs=input_paths,
                                outputs=output_paths, cpu=cpu, timeout=120.0 + 60.0 * len(chunk))
            outputs += [read_outputs(result, path) for path in output_paths]
    return outputs


def _run(argv: list[str], build: RunnerBuild, model: Path, cpu: str | None, timeout: float) -> RunnerOutput:
    # The host's LD_* variables name x86_64 libraries: the arm64 loader must only see its own folder.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LD_")}
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=environment)
    except subprocess.TimeoutExpired:
        raise SdkError(f"the native runner ({build.arch}) did not finish {model.name} in {timeout:g} s") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise SdkError(f"the native runner ({build.arch}{f', qemu -cpu {cpu}' if cpu else ''}) failed on {model.name}: "
                       + (lines[-1].removeprefix("error: ") if lines else f"exit code {result.returncode}"))
    try:
        return parse_output(result.stdout)
    except ValueError as error:
        raise SdkError(f"cannot read the native runner's output for {model.name}: {error}") from None
