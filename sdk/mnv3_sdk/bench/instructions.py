"""``bench --arch arm64``: guest instructions per inference of ExecuTorch's arm64 kernels, per qemu
CPU model, counted by our qemu plugin (mnv3_sdk.native, plugin.c) around each inference.

Counts, not time: under qemu an inference takes about 200× what it takes on this host and says
nothing about a phone's latency, but the number of instructions the arm64 kernels execute repeats
exactly from run to run whatever the host's load, so CI can gate on it (``--baseline``). It shows
what a change does to the work on a core without dot product (cortex-a53) and with it (neoverse-n1).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnv3_sdk.bench.host import summary_of_metadata
from mnv3_sdk.native import RunnerBuild, build_runner, require_arm64, run_runner
from mnv3_sdk.native.toolchain import qemu
from mnv3_sdk.pte.metadata import Metadata

ENGINE = "qemu-aarch64 instructions"
# The first inference after loading does one-time work (int8: 1.01 M instructions instead of 627 k
# for the digits model) and fp16 on cortex-a53 settles only from the third (docs/toolchain.md):
# two untimed inferences, then two counted ones, which must agree.
WARMUP = 2
COUNTED = 2


@dataclass(frozen=True)
class InstructionCount:
    """One model on one qemu CPU model: the guest instructions of each counted inference."""

    model: str
    cpu: str
    instructions: list[int]
    metadata: dict[str, Any]

    @property
    def per_inference(self) -> int:
        return min(self.instructions)

    @property
    def repeatable(self) -> bool:
        return len(set(self.instructions)) == 1

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "engine": ENGINE, "cpu": self.cpu, "threads": 1,
                "device": f"qemu-aarch64 -cpu {self.cpu}", "instructions": self.instructions,
                "instructions_per_inference": self.per_inference, "repeatable": self.repeatable,
                "metadata": self.metadata}


def count_instructions(models: list[Path], metadata: dict[Path, Metadata],
                       cpu_models: tuple[str, ...]) -> list[InstructionCount]:
    """Each model's instructions per inference on each CPU model (one qemu process each, one
    thread, the runner's default input), model by model."""
    require_arm64("--arch arm64")
    runner = build_runner("arm64")
    counts = []
    for model in models:
        # The CPU models side by side: each qemu process runs one guest thread.
        with ThreadPoolExecutor(max_workers=len(cpu_models)) as pool:
            runs = list(pool.map(lambda cpu: _count(runner, model, cpu), cpu_models))
        counts += [InstructionCount(model.stem, cpu, instructions, summary_of_metadata(metadata[model]))
                   for cpu, instructions in zip(cpu_models, runs)]
    return counts


def _count(runner: RunnerBuild, model: Path, cpu: str) -> list[int]:
    return run_runner(runner, model, cpu=cpu, warmup=WARMUP, iterations=COUNTED, count_instructions=True).instructions


def emulator_facts(runner_arch: str = "aarch64") -> dict[str, Any]:
    """bench.json's device entry for emulated counts: which qemu counted."""
    version = subprocess.run([str(qemu().require()), "--version"], capture_output=True, text=True).stdout
    return {"serial": "qemu-aarch64", "emulator": version.splitlines()[0] if version else "unknown",
            "arch": runner_arch, "counting": "guest instructions per inference (TCG plugin), one thread"}


def ratios(counts: list[InstructionCount]) -> list[float]:
    """Each count over the first model's on the same CPU model (int8 against fp32, say)."""
    first: dict[str, int] = {}
    for count in counts:
        first.setdefault(count.cpu, count.per_inference)
    return [count.per_inference / first[count.cpu] for count in counts]


def markdown_lines(counts: list[InstructionCount]) -> list[str]:
    lines = ["## Emulated arm64 instruction counts (qemu-aarch64; not time)", "",
             "Guest instructions per inference executed by ExecuTorch's arm64 kernels under qemu-aarch64, counted "
             "by a TCG plugin on one thread after warm-up. They repeat exactly from run to run; they are not a "
             "latency and say nothing about a phone's speed (`bench --adb` measures that). Ratio: to the first "
             "model on the same CPU model.", "",
             "| model | CPU model | instructions per inference | ratio | counted inferences | repeatable |",
             "|---|---|---|---|---|---|"]
    for count, ratio in zip(counts, ratios(counts)):
        repeatable = "yes" if count.repeatable else "NO: " + ", ".join(map(str, count.instructions))
        lines.append(f"| {count.model} | {count.cpu} | {count.per_inference:,} | {ratio:.3f}× | "
                     f"{len(count.instructions)} | {repeatable} |")
    return lines


def write_plot(counts: list[InstructionCount], path: Path) -> None:
    """Bars of millions of instructions per inference, one group per model, one bar per CPU model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(count.model for count in counts))
    cpus = list(dict.fromkeys(count.cpu for count in counts))
    width = 0.8 / len(cpus)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(models) * len(cpus) + 2), 4.5), dpi=100)
    for index, cpu in enumerate(cpus):
        values = {count.model: count.per_inference / 1e6 for count in counts if count.cpu == cpu}
        axes.bar([position + index * width for position in range(len(models))],
                 [values.get(model, 0.0) for model in models], width, label=cpu)
    axes.set_xticks([position + width * (len(cpus) - 1) / 2 for position in range(len(models))])
    axes.set_xticklabels(models, fontsize=8)
    axes.set_ylabel("emulated guest instructions per inference (millions)")
    axes.set_title("mnv3-sdk bench --arch arm64: emulated instruction counts\n(arm64 kernels under qemu-aarch64; not time)",
                   fontsize=10)
    axes.set_ylim(0, 1.25 * max(count.per_inference for count in counts) / 1e6)  # room for the legend
    axes.legend(title="qemu CPU model", loc="upper right", fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
