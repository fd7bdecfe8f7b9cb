"""int8 against fp32 for MobileNetV3-Large, and what changes the ratio, same run.

Builds Large (random weights, 224 px, the default pixel input) as fp32 and as int8 in variants:
  * int8            what `mnv3-sdk build --quant int8` makes (per-channel weights)
  * int8 per-tensor `--per-tensor`
  * int8 hardswish  hard-swish written as x * clamp(x + 3, 0, 6) / 6, so that the XNNPACK
                    quantizer quantizes its add, clamp and multiplies: ExecuTorch's XNNPACK
                    partitioner takes `hardswish` in fp32 only, so in the int8 graph every
                    hard-swish runs in fp32 between a dequantize and a quantize
  * fp32 relu / int8 relu
                    every hard-swish replaced by ReLU (not a model anyone ships: a control).
                    With nothing left in fp32 but the squeeze-excite's tiny C x 1 x 1 tensors,
                    int8 relu / fp32 relu is XNNPACK's int8 kernels against its fp32 ones on
                    this CPU, with no dequantize/quantize pairs in the way
then times them for 1 and 2 threads (one process each), interleaved, and prints the median and
the ratio to fp32. Target in issue 9: int8 <= 0.65x fp32 at 1 thread.

    .venv/bin/python benchmarks/int8_speed.py [--rounds 15] [--per-round 10]
"""

from __future__ import annotations

import copy
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
from timing import host_line, interleaved, measure_per_thread_count
from torch import nn

VARIANTS = ("fp32", "int8", "int8 per-tensor", "int8 hardswish", "fp32 relu", "int8 relu")


class DecomposedHardswish(nn.Module):
    """hard-swish as x * clamp(x + 3, 0, 6) / 6: an add, a clamp and multiplies the quantizer quantizes
    (also used by arm_instructions.py)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (F.hardtanh(x + 3.0, 0.0, 6.0) * (1.0 / 6.0))


def replace_modules(network: nn.Module, kind: type[nn.Module], replacement: type[nn.Module]) -> nn.Module:
    """A copy of ``network`` with every ``kind`` module replaced by a new ``replacement``."""
    network = copy.deepcopy(network)
    for parent in network.modules():
        for name, child in parent.named_children():
            if isinstance(child, kind):
                setattr(parent, name, replacement())
    return network


def build_all(folder: Path) -> None:
    from mnv3_sdk.export.adapter import example_input, wrap_for_export
    from mnv3_sdk.export.lower import export_pte
    from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8
    from mnv3_sdk.network.weights import build_model, load_weights

    network = build_model(load_weights("random", "large", 1.0), "large", 1.0).eval()
    example = example_input(224, "fp32")
    generator = torch.Generator().manual_seed(0)
    calibration = [torch.randint(0, 256, (1, 3, 224, 224), generator=generator).float() for _ in range(16)]
    per_channel = QuantizationSettings(per_channel=True, excluded=[], wrapped=True)
    fp32 = wrap_for_export(network, "pixels", "fp32")
    models = {
        "fp32": fp32,
        "int8": quantize_int8(fp32, example, calibration, per_channel),
        "int8 per-tensor": quantize_int8(
            fp32, example, calibration, QuantizationSettings(per_channel=False, excluded=[], wrapped=True)),
        "int8 hardswish": quantize_int8(
            wrap_for_export(replace_modules(network, nn.Hardswish, DecomposedHardswish), "pixels", "fp32"),
            example, calibration, per_channel),
    }
    relu = wrap_for_export(replace_modules(network, nn.Hardswish, nn.ReLU), "pixels", "fp32")
    models["fp32 relu"] = relu
    models["int8 relu"] = quantize_int8(relu, example, calibration, per_channel)
    for name, model in models.items():
        (folder / f"{name}.pte").write_bytes(export_pte(model, example).pte)


def measure(threads: int, rounds: int, per_round: int, folder: Path) -> dict[str, list[float]]:
    from mnv3_sdk.pte.runtime import LoadedModel, set_threads

    set_threads(threads)
    pixels = torch.randint(0, 256, (1, 3, 224, 224), generator=torch.Generator().manual_seed(1)).float()
    cases = {name: (lambda m=LoadedModel(folder / f"{name}.pte").method: m.execute([pixels])) for name in VARIANTS}
    return interleaved(cases, rounds, per_round)


def main() -> None:
    measured = measure_per_thread_count(__doc__.splitlines()[0], __file__, build_all, measure)
    if measured is None:
        return
    results = measured.by_threads
    print(f"{host_line()}; Large, 224 px; {measured.rounds}x{measured.per_round} runs per case, interleaved")
    print("| model | threads | median ms | vs fp32 |")
    print("|---|---|---|---|")
    for threads, times in results.items():
        floor = statistics.median(times["fp32"])
        for name in VARIANTS:
            median = statistics.median(times[name])
            print(f"| {name} | {threads} | {median:.2f} | {median / floor:.3f}x |")


if __name__ == "__main__":
    main()
