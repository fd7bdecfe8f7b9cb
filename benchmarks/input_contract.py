"""The input contract's cost: the default .pte against a plain normalized-float export, same run.

For Small and Large (random weights: latency does not depend on weight values), fp32, builds
  * default     what `mnv3-sdk build` ships: RGB values 0-255 as float32 NCHW, normalized in the graph
  * normalized  `--input-format normalized`: the bare network, the caller normalizes (the floor)
  * uint8 NHWC  the previous contract (metadata format 1), for comparison: RGB bytes NHWC, whose
                permute and uint8->float cast XNNPACK does not take (built with the portable
                operators allowed)
then, for 1 and 2 threads (one process each: the runtime's thread pool is sized once per process),
times every model in interleaved rounds so that machine drift hits all alike, and prints the
median latency and the ratio to `normalized`. Target: default <= 1.05x normalized.

    .venv/bin/python benchmarks/input_contract.py [--rounds 15] [--per-round 10]
"""

from __future__ import annotations

import statistics
from pathlib import Path

import torch
from timing import host_line, interleaved, measure_per_thread_count
from torch import nn

VARIANTS = ("small", "large")
CONTRACTS = ("default", "normalized", "uint8 NHWC")


class _BytesInput(nn.Module):
    """The metadata-format-1 adapter: uint8 NHWC in, permute + cast + normalize in the graph."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        from mnv3_sdk.export.adapter import PixelInput
        from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD

        self.pixels = PixelInput(network, IMAGENET_MEAN, IMAGENET_STD)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.pixels(image.permute(0, 3, 1, 2).float())


def build_all(folder: Path) -> None:
    from mnv3_sdk.pipeline.config import BuildConfig
    from mnv3_sdk.pipeline.stages import run_build
    from mnv3_sdk.export.lower import export_pte
    from mnv3_sdk.network.weights import build_model, load_weights

    for variant in VARIANTS:
        for contract, input_format in (("default", "pixels"), ("normalized", "normalized")):
            config = BuildConfig(variant=variant, weights="random", input_format=input_format,
                                       out_dir=folder / f"{variant}-{input_format}", build_aar=False)
            (folder / f"{variant}|{contract}.pte").write_bytes(run_build(config).pte_path.read_bytes())
        network = build_model(load_weights("random", variant, 1.0), variant, 1.0)
        example = torch.zeros(1, 224, 224, 3, dtype=torch.uint8)
        legacy = export_pte(_BytesInput(network).eval(), example, allow_portable_ops=True)
        (folder / f"{variant}|uint8 NHWC.pte").write_bytes(legacy.pte)


def measure(threads: int, rounds: int, per_round: int, folder: Path) -> dict[str, list[float]]:
    from mnv3_sdk.pte.runtime import LoadedModel, set_threads

    set_threads(threads)
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (1, 3, 224, 224), generator=generator).float()
    inputs = {"default": pixels, "normalized": torch.randn(1, 3, 224, 224, generator=generator),
              "uint8 NHWC": pixels.to(torch.uint8).permute(0, 2, 3, 1).contiguous()}
    cases = {}
    for variant in VARIANTS:
        for contract in CONTRACTS:
            model = LoadedModel(folder / f"{variant}|{contract}.pte")
            batch = inputs[contract]
            # The method itself, without LoadedModel.run's copies, so only the graph is timed.
            cases[f"{variant}|{contract}"] = lambda m=model.method, b=batch: m.execute([b])
    return interleaved(cases, rounds, per_round)


def main() -> None:
    measured = measure_per_thread_count(__doc__.splitlines()[0], __file__, build_all, measure)
    if measured is None:
        return
    results = measured.by_threads
    print(f"{host_line()}; fp32, 224 px; {measured.rounds}x{measured.per_round} runs per case, interleaved")
    print("| model | input | threads | median ms | vs normalized |")
    print("|---|---|---|---|---|")
    for threads, times in results.items():
        for variant in VARIANTS:
            floor = statistics.median(times[f"{variant}|normalized"])
            for contract in CONTRACTS:
                median = statistics.median(times[f"{variant}|{contract}"])
                print(f"| {variant} | {contract} | {threads} | {median:.2f} | {median / floor:.3f}x |")


if __name__ == "__main__":
    main()
