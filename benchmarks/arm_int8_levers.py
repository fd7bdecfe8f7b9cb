"""Levers on Large int8's arm64 instruction count (issue 24, item 5), beside benchmarks/arm_instructions.py.

`mnv3-sdk profile --arch arm64` on Large int8 (docs/performance.md) shows two things the graph decides:
  * in the squeeze-excite blocks after a hard-swish (features.11-15, and features.16 before the
    pooling), the hard-swish runs in fp32 between two converts and the pooling's mean in fp32,
    because the quantizer annotates neither hardswish nor a mean whose input is not quantized;
    elsewhere XNNPACK fuses dequantize, hardswish, quantize into one int8 operator;
  * the first convolution (3 input channels) costs twice fp32's instructions on cortex-a53 as int8.
The levers, each quantized here from the same seeded random Large network as arm_instructions.py's
lever rows (16 random pixel images as calibration: the counts do not depend on the scales):
  * int8 hard-swish not annotated  the quantizer before 2026-12-05 (the first row; as
                               arm_instructions.py's lever rows)
  * int8 hard-swish int8 op    hardswish annotated int8 in / int8 out (the input shares the
                               producer's scale), so every one becomes XNNPACK's fused int8 hardswish
                               and the mean after it shares its scale (int8 pooling): the product
                               since 2026-12-05 (mnv3_sdk.export.quantize._annotate_hardswish)
  * int8 first conv fp32       features.0.0 kept in fp32 (`--quant-exclude first`), hard-swish not annotated
  * int8 both                  both
  * int8 narrow layers fp32    the convolutions that int8 makes costlier on cortex-a53 kept in fp32
                               (NARROW below), hard-swish not annotated

    .venv/bin/python benchmarks/arm_int8_levers.py [--models DIR] [--variants large]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from arm_instructions import CPUS, plugin_count
from timing import host_line

LEVERS = ("int8 hard-swish not annotated", "int8 hard-swish int8 op", "int8 first conv fp32", "int8 both",
          "int8 narrow layers fp32")
# The convolutions whose int8 costs more instructions than fp32 on cortex-a53 (profile of Large int8:
# few input channels, where XNNPACK's 8-channel int8 kernels without dot product waste work).
NARROW = ["features.0.0", "features.1.block.1.0", "features.2.block.0.0", "features.3.block.0.0",
          "features.4.block.0.0"]


def build(variant: str, name: str) -> bytes:
    from mnv3_sdk.export import quantize
    from mnv3_sdk.export.adapter import example_input, wrap_for_export
    from mnv3_sdk.export.lower import export_pte
    from mnv3_sdk.network.weights import build_model, load_weights

    network = build_model(load_weights("random", variant, 1.0), variant, 1.0).eval()
    generator = torch.Generator().manual_seed(0)
    calibration = [torch.randint(0, 256, (1, 3, 224, 224), generator=generator).float() for _ in range(16)]
    excluded = ["features.0.0"] if name in ("int8 first conv fp32", "int8 both") else []
    if name == "int8 narrow layers fp32":
        excluded = NARROW
    settings = quantize.QuantizationSettings(per_channel=True, excluded=excluded, wrapped=True)
    product = quantize._annotate_hardswish
    if name not in ("int8 hard-swish int8 op", "int8 both"):
        quantize._annotate_hardswish = lambda *unused: None  # as the quantizer was before 2026-12-05
    try:
        example = example_input(224, "fp32")
        graph = quantize.quantize_int8(wrap_for_export(network, "pixels", "fp32"), example, calibration, settings)
    finally:
        quantize._annotate_hardswish = product
    return export_pte(graph, example).pte


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="keep the built .pte files here and reuse them")
    parser.add_argument("--variants", default="large")
    parser.add_argument("--only", default=None, help="comma-separated levers (default: all; the first row is always built)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.models or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{host_line()}; qemu-aarch64 7.2, one thread; instructions per inference")
        print("| model | lever | " + " | ".join(f"{cpu} (× first row)" for cpu in CPUS) + " |")
        print("|---|---|" + "---|" * len(CPUS))
        for variant in (v.strip() for v in args.variants.split(",") if v.strip()):
            counts = {}
            chosen = [LEVERS[0], *(n for n in LEVERS[1:] if args.only is None or n in args.only.split(","))]
            for name in chosen:
                path = folder / f"{variant}-lever-{name.replace(' ', '_')}.pte"
                if not path.is_file():
                    started = time.perf_counter()
                    path.write_bytes(build(variant, name))
                    print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
                counts[name] = {cpu: plugin_count(path, cpu) for cpu in CPUS}
                cells = [f"{counts[name][cpu] / 1e6:.2f} M ({counts[name][cpu] / counts[LEVERS[0]][cpu]:.3f}×)"
                         for cpu in CPUS]
                print(f"| {variant.title()} | {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
