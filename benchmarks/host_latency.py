"""Host latency of exported .pte files (ExecuTorch runtime) next to eager PyTorch, same run.

Builds Small and Large (random weights: latency does not depend on weight values) as fp32 and
int8, then, for 1 and 2 threads (one process each: the runtime's thread count is fixed once a
model is loaded), times every (model, engine) case in interleaved rounds so that machine drift
hits all cases alike. Prints a Markdown table of median and p90 latency in milliseconds.

    .venv/bin/python benchmarks/host_latency.py [--rounds 10] [--per-round 10]
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import torch
from timing import host_line, interleaved, measure_per_thread_count

from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.pipeline.stages import run_build
from mnv3_sdk.export.adapter import wrap_for_export
from mnv3_sdk.network.weights import build_model, load_weights
from mnv3_sdk.pte.runtime import LoadedModel, set_threads


def build(variant: str, quant: str, folder: Path) -> Path:
    config = BuildConfig(
        variant=variant, quant=quant, weights="random", out_dir=folder / f"{variant}-{quant}",
        calibration_samples=8 if quant == "int8" else None, build_aar=False,
    )
    return run_build(config).pte_path


def build_all(folder: Path) -> None:
    for variant in ("small", "large"):
        for quant in ("fp32", "int8"):
            build(variant, quant, folder)


def measure(threads: int, rounds: int, per_round: int, folder: Path) -> dict[str, list[float]]:
    """All cases at one thread count, in this process: ExecuTorch's threadpool size can only be
    set before any program is loaded (resetting it under a loaded XNNPACK program crashes)."""
    set_threads(threads)
    torch.set_num_threads(threads)
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 3, 224, 224)).astype(np.float32))
    cases = {}
    for variant in ("small", "large"):
        eager = wrap_for_export(build_model(load_weights("random", variant, 1.0), variant, 1.0), "pixels", "fp32")
        cases[f"{variant}|eager fp32"] = lambda m=eager: m(image)
        for quant in ("fp32", "int8"):
            model = LoadedModel(folder / f"{variant}-{quant}" / f"{variant}-{quant}.pte")
            cases[f"{variant}|.pte {quant}"] = lambda m=model: m.run(image)
    with torch.no_grad():
        return interleaved(cases, rounds, per_round)


def main() -> None:
    measured = measure_per_thread_count(__doc__.splitlines()[0], __file__, build_all, measure, rounds=10)
    if measured is None:
        return
    results = measured.by_threads
    print(f"{host_line()}; {measured.rounds}×{measured.per_round} runs per case, cases interleaved within each thread count")
    print("| model | engine | threads | median ms | p90 ms |")
    print("|---|---|---|---|---|")
    for threads, times in results.items():
        for name, samples in times.items():
            model, engine = name.split("|")
            p90 = float(np.percentile(samples, 90))
            print(f"| {model} | {engine} | {threads} | {statistics.median(samples):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    main()
