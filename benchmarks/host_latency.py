"""Host latency of exported .pte files (ExecuTorch runtime) next to eager PyTorch, same run.

Builds Small and Large (random weights: latency does not depend on weight values) as fp32 and
int8, then, for 1 and 2 threads (one process each: the runtime's thread count is fixed once a
model is loaded), times every (model, engine) case in interleaved rounds so that machine drift
hits all cases alike. Prints a Markdown table of median and p90 latency in milliseconds.

    .venv/bin/python benchmarks/host_latency.py [--rounds 10] [--per-round 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mnv3_sdk.build import run_build
from mnv3_sdk.config import make_build_config
from mnv3_sdk.export import wrap_for_export
from mnv3_sdk.runtime import LoadedModel, set_threads
from mnv3_sdk.weights import build_model, load_weights


def build(variant: str, quant: str, folder: Path) -> Path:
    config = make_build_config(
        variant=variant, quant=quant, weights="random", out_dir=folder / f"{variant}-{quant}",
        calibration_samples=8 if quant == "int8" else None, build_aar=False,
    )
    return run_build(config).pte_path


def measure(threads: int, rounds: int, per_round: int, folder: Path) -> dict[str, list[float]]:
    """All cases at one thread count, in this process: ExecuTorch's threadpool size can only be
    set before any program is loaded (resetting it under a loaded XNNPACK program crashes)."""
    set_threads(threads)
    torch.set_num_threads(threads)
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8))
    cases = {}
    for variant in ("small", "large"):
        eager = wrap_for_export(build_model(load_weights("random", variant, 1.0), variant, 1.0), "uint8", "fp32")
        cases[f"{variant}|eager fp32"] = lambda m=eager: m(image)
        for quant in ("fp32", "int8"):
            model = LoadedModel(folder / f"{variant}-{quant}" / f"{variant}-{quant}.pte")
            cases[f"{variant}|.pte {quant}"] = lambda m=model: m.run(image)
    times: dict[str, list[float]] = {name: [] for name in cases}
    with torch.no_grad():
        for run in cases.values():
            for _ in range(5):
                run()
        for _ in range(rounds):  # interleaved, so drift hits every case alike
            for name, run in cases.items():
                for _ in range(per_round):
                    started = time.perf_counter()
                    run()
                    times[name].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--models", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.rounds, args.per_round, args.models)))
        return

    results: dict[int, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for variant in ("small", "large"):
            for quant in ("fp32", "int8"):
                build(variant, quant, Path(folder))
        for threads in (1, 2):
            output = subprocess.run(
                [sys.executable, __file__, "--worker", str(threads), "--models", folder,
                 "--rounds", str(args.rounds), "--per-round", str(args.per_round)],
                check=True, capture_output=True, text=True,
            ).stdout
            results[threads] = json.loads(output.strip().splitlines()[-1])

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"host: {cpu}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; "
          f"{args.rounds}×{args.per_round} runs per case, cases interleaved within each thread count")
    print("| model | engine | threads | median ms | p90 ms |")
    print("|---|---|---|---|---|")
    for threads, times in results.items():
        for name, samples in times.items():
            model, engine = name.split("|")
            p90 = float(np.percentile(samples, 90))
            print(f"| {model} | {engine} | {threads} | {statistics.median(samples):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    main()
