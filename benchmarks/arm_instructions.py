"""Instructions per inference on ExecuTorch's arm64 kernels, under qemu-aarch64 (issue 24, item 5).

Time on this x86 host says nothing about phones, whose XNNPACK kernels are other code (NEON, dot
product, fp16 arithmetic). This counts the guest instructions one inference executes on the real
arm64 kernels of PyPI's aarch64 executorch wheel, with mnv3-sdk's runner under qemu-aarch64 and its
instruction-counting plugin (mnv3_sdk.native): exact and repeatable, whatever the host's load. CPU
models: cortex-a53 (no dot product, no fp16 arithmetic) and neoverse-n1 (both).

Small and Large at 224 px with seeded random weights: instruction counts do not depend on weight
values (XNNPACK's kernels take the same path whatever the numbers). Built:
  * fp32 plain   `--input-format normalized`: the bare network, the plain float export
  * fp32         what `mnv3-sdk build --quant fp32` ships (pixels 0-255, normalized in the graph)
  * fp16         what `mnv3-sdk build --quant fp16` ships
  * int8         what `mnv3-sdk build --quant int8` ships (per-channel, data-free calibration)
and, for the levers, int8 graphs quantized here from the same network (16 random pixel images as
calibration: the counts do not depend on the scales):
  * int8 per-tensor            `--per-tensor`
  * int8 hard-swish quantized  hard-swish written as x * clamp(x + 3, 0, 6) / 6, whose add, clamp and
                               multiplies the quantizer quantizes (ExecuTorch's XNNPACK partitioner
                               takes `hardswish` in fp32 only: dequantize, fp32, quantize)
  * int8 SE gate quantized     the squeeze-excite gate's hard-sigmoid written as clamp(x + 3, 0, 6) / 6
  * int8 both quantized        both of the above

With --independent, the counts of a few models are checked against a second counter that shares no
code with the plugin: qemu's own execution log with one instruction per translation block
(`-singlestep -d exec,nochain,strace`), whose "Trace" lines between the runner's two marker
syscalls are counted as they stream out (`independent_count`).

    .venv/bin/python benchmarks/arm_instructions.py [--models DIR] [--variants small,large] [--independent]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from int8_speed import DecomposedHardswish, replace_modules
from timing import host_line
from torch import nn

CPUS = ("cortex-a53", "neoverse-n1")
PRODUCT = {"fp32 plain": ("fp32", "normalized"), "fp32": ("fp32", "pixels"), "fp16": ("fp16", "pixels"),
           "int8": ("int8", "pixels")}
LEVERS = ("int8 per-tensor", "int8 hard-swish quantized", "int8 SE gate quantized", "int8 both quantized")
MODELS = (*PRODUCT, *LEVERS)
# The models --independent checks on both CPU models (each is a qemu run logging every instruction).
INDEPENDENT = (("small", "fp32"), ("small", "int8"))
# runner.cpp's markers around each timed iteration, as qemu's -strace prints them.
BEGIN, END = "write(-1,0,1296979504)", "write(-1,0,1296979505)"


class DecomposedHardsigmoid(nn.Module):
    """hard-sigmoid as clamp(x + 3, 0, 6) / 6: an add, a clamp and a multiply the quantizer quantizes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardtanh(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def build_product(variant: str, name: str, folder: Path) -> bytes:
    from mnv3_sdk.pipeline.config import BuildConfig
    from mnv3_sdk.pipeline.stages import run_build

    quant, input_format = PRODUCT[name]
    config = BuildConfig(variant=variant, quant=quant, weights="random", input_format=input_format,
                         out_dir=folder / f"build-{variant}-{quant}-{input_format}", build_aar=False,
                         arm64_check=False, force=True)
    return run_build(config).pte_path.read_bytes()


def build_lever(variant: str, name: str) -> bytes:
    from mnv3_sdk.export.adapter import example_input, wrap_for_export
    from mnv3_sdk.export.lower import export_pte
    from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8
    from mnv3_sdk.network.weights import build_model, load_weights

    network = build_model(load_weights("random", variant, 1.0), variant, 1.0).eval()
    if name in ("int8 hard-swish quantized", "int8 both quantized"):
        network = replace_modules(network, nn.Hardswish, DecomposedHardswish)
    if name in ("int8 SE gate quantized", "int8 both quantized"):
        network = replace_modules(network, nn.Hardsigmoid, DecomposedHardsigmoid)
    generator = torch.Generator().manual_seed(0)
    calibration = [torch.randint(0, 256, (1, 3, 224, 224), generator=generator).float() for _ in range(16)]
    settings = QuantizationSettings(per_channel=name != "int8 per-tensor", excluded=[], wrapped=True)
    example = example_input(224, "fp32")
    return export_pte(quantize_int8(wrap_for_export(network, "pixels", "fp32"), example, calibration, settings),
                      example).pte


def model_path(folder: Path, variant: str, name: str) -> Path:
    """The .pte of ``name``, built now unless ``folder`` already holds it (--models DIR keeps them)."""
    path = folder / f"{variant}-{name.replace(' ', '_')}.pte"
    if not path.is_file():
        started = time.perf_counter()
        data = build_product(variant, name, folder) if name in PRODUCT else build_lever(variant, name)
        path.write_bytes(data)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


def plugin_count(model: Path, cpu: str) -> int:
    """Instructions per inference from mnv3-sdk's plugin (what `bench --arch arm64` reports)."""
    from mnv3_sdk.bench.instructions import COUNTED, WARMUP
    from mnv3_sdk.native import build_runner, run_runner

    counts = run_runner(build_runner("arm64"), model, cpu=cpu, warmup=WARMUP, iterations=COUNTED,
                        count_instructions=True).instructions
    if len(set(counts)) != 1:
        raise SystemExit(f"{model.name} on {cpu}: counts differ between inferences: {counts}")
    return counts[0]


def independent_count(model: Path, cpu: str) -> int:
    """Instructions of the one counted inference, from qemu's execution log alone: with -singlestep
    every translation block is one instruction, with nochain every block's execution is logged
    ("Trace ..."), and -strace logs the runner's marker syscalls in the same stream. The log (about
    80 bytes per instruction) goes through a FIFO and is counted as it is written."""
    from mnv3_sdk.bench.instructions import WARMUP
    from mnv3_sdk.native import build_runner
    from mnv3_sdk.native.run import command

    runner = build_runner("arm64")
    argv = command(runner, model, warmup=WARMUP, iterations=1, cpu=cpu, runner_options=["--count-markers"])
    with tempfile.TemporaryDirectory() as scratch:
        fifo = Path(scratch) / "log"
        os.mkfifo(fifo)
        qemu = subprocess.Popen([argv[0], "-singlestep", "-d", "exec,nochain,strace", "-D", str(fifo), *argv[1:]],
                                stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if not k.startswith("LD_")})
        counting, total = False, 0
        with open(fifo, "rb", buffering=1 << 20) as log:
            for line in log:
                if counting and line.startswith(b"Trace"):
                    total += 1
                elif BEGIN.encode() in line:
                    counting = True
                elif END.encode() in line:
                    counting = False
        if qemu.wait() != 0:
            raise SystemExit(f"qemu failed on {model.name} ({cpu})")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="keep the built .pte files here and reuse them")
    parser.add_argument("--variants", default="small,large")
    parser.add_argument("--independent", action="store_true", help="check some counts with qemu's execution log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.models or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        variants = [variant.strip() for variant in args.variants.split(",") if variant.strip()]
        paths = {(variant, name): model_path(folder, variant, name) for variant in variants for name in MODELS}
        counts = {(variant, name, cpu): plugin_count(path, cpu) for (variant, name), path in paths.items() for cpu in CPUS}
        print_table(variants, counts)
        if args.independent:
            print_independent(paths, counts)


def print_table(variants: list[str], counts: dict[tuple[str, str, str], int]) -> None:
    print(f"{host_line()}; qemu-aarch64 7.2, one thread, {len(CPUS)} CPU models; instructions per inference")
    print("| model | variant | " + " | ".join(f"{cpu} (× fp32)" for cpu in CPUS) + " |")
    print("|---|---|" + "---|" * len(CPUS))
    for variant in variants:
        for name in MODELS:
            cells = [f"{counts[variant, name, cpu] / 1e6:.2f} M ({counts[variant, name, cpu] / counts[variant, 'fp32', cpu]:.3f}×)"
                     for cpu in CPUS]
            print(f"| {variant.title()} | {name} | " + " | ".join(cells) + " |")


def print_independent(paths: dict[tuple[str, str], Path], counts: dict[tuple[str, str, str], int]) -> None:
    print("\n| model | CPU model | plugin | qemu execution log | difference |")
    print("|---|---|---|---|---|")
    for variant, name in INDEPENDENT:
        for cpu in CPUS:
            if (variant, name) not in paths:
                continue
            logged = independent_count(paths[variant, name], cpu)
            ours = counts[variant, name, cpu]
            print(f"| {variant.title()} {name} | {cpu} | {ours:,} | {logged:,} | {(ours - logged) / logged:+.4%} |",
                  flush=True)


if __name__ == "__main__":
    main()
