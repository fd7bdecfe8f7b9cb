"""The model on ExecuTorch's arm64 kernels: run under qemu-aarch64 on named CPU models and judged
against the host runtime and eager PyTorch (``verify --arch arm64`` and the build's arm64 step).

Every check elsewhere runs XNNPACK's x86 kernels, while phones take other code paths (NEON, dot
product, fp16 arithmetic). The arm64 build of our runner (mnv3_sdk.native) runs the same .pte on
the real arm64 kernels of PyPI's aarch64 wheel, once per CPU model; the gate is the build's
accuracy gate applied to what arm64 computes (``arm64_gate``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

from mnv3_sdk.export.calibration import choose_samples
from mnv3_sdk.imaging.files import LabelledImages, read_rgb
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native import DEFAULT_CPU_MODELS, RunnerBuild, arm64_missing, build_runner, run_on_inputs
from mnv3_sdk.progress import Progress
from mnv3_sdk.verify.metrics import Agreement, GateResult, agreement_of

if TYPE_CHECKING:  # the runtime pulls in executorch and torchao: imported when a check runs, not by the CLI's start
    from mnv3_sdk.pte.runtime import LoadedModel

Classifier = Callable[[torch.Tensor], torch.Tensor]

# What the build runs on arm64 by default (qemu: one Small int8 inference at 224 px takes ~0.15 s on
# this project's host, Large fp32 ~1.5 s, per CPU model): the first inputs of each comparison set
# the host gate judged, and a fixed sample of --val-dir as large as the host gate's real held-out
# images. `verify --arch arm64` runs every image of --val-dir.
BUILD_SAMPLES_PER_SET = 16
BUILD_VALIDATION_SAMPLES = 64


@dataclass(frozen=True)
class LabelledInputs:
    """Model inputs with their label indices: what arm64 accuracy is measured on."""

    name: str  # e.g. "64 of 397 images of digits_val"
    inputs: list[torch.Tensor]
    labels: list[int]


@dataclass(frozen=True)
class CpuModelResult:
    """One qemu CPU model's outputs against the host runtime's and eager PyTorch's."""

    cpu: str
    versus_host: Agreement  # reference: the host runtime's logits (x86 XNNPACK)
    versus_eager: Agreement | None  # reference: eager fp32, when its weights are known
    top1: float | None  # on the labelled inputs, when there are any
    top5: float | None



@dataclass(frozen=True)
class Arm64Verification:
    """What running on arm64 found, or why it did not run (``skipped``)."""

    skipped: str | None
    inputs: str = ""  # what the agreement was measured on
    labelled: str | None = None  # what accuracy was measured on
    host_top1: float | None = None  # the host runtime's top-1 on the same labelled inputs
    eager_top1: float | None = None
    cpu_models: tuple[CpuModelResult, ...] = ()
    gate: GateResult | None = None
    runner: str | None = None  # the runner build's folder name: which wheel and compiler made it

    @property
    def passed(self) -> bool:
        """A skipped check refuses nothing; one that ran must pass its gate."""
        return self.gate is None or self.gate.passed

    def summary_lines(self) -> list[str]:
        """One line per CPU model and one for the gate, for the terminal."""
        if self.skipped is not None:
            return [f"arm64: skipped ({self.skipped})"]
        lines = []
        for result in self.cpu_models:
            host, eager = result.versus_host, result.versus_eager
            line = (f"arm64 {result.cpu}: vs host top-1 agreement {host.top1_agreement:.4f}, max abs diff "
                    f"{host.max_abs_error:.3g}")
            if eager is not None:
                line += f"; vs eager top-1 agreement {eager.top1_agreement:.4f}, max abs diff {eager.max_abs_error:.3g}"
            if result.top1 is not None:
                line += f"; top-1 {result.top1:.4f}, top-5 {result.top5:.4f}"
            lines.append(line)
        assert self.gate is not None
        return lines + [f"arm64 gate {'passed' if self.gate.passed else 'FAILED'}: {self.gate.reason}"]

    def markdown_lines(self) -> list[str]:
        lines = ["", "## On arm64 kernels (qemu-aarch64)", ""]
        if self.skipped is not None:
            return lines + [f"Not run: {self.skipped}."]
        assert self.gate is not None
        lines += [f"**arm64 gate {'PASSED' if self.gate.passed else 'FAILED'}**: {self.gate.reason}.", "",
                  f"ExecuTorch's arm64 kernels (our runner `{self.runner}`) under qemu-aarch64, on {self.inputs}"
                  + (f"; accuracy on {self.labelled}" if self.labelled else "") + ".", "",
                  "| CPU model | vs host: top-1 agreement (clear) | vs host: max abs diff | vs eager: top-1 agreement "
                  "| vs eager: max abs diff | top-1 | top-5 |",
                  "|---|---|---|---|---|---|---|"]
        for result in self.cpu_models:
            host, eager = result.versus_host, result.versus_eager
            lines.append(f"| {result.cpu} | {host.top1_agreement:.4f} ({_number(host.clear_top1_agreement)} on "
                         f"{host.clear_samples}) | {host.max_abs_error:.3g} | "
                         f"{_number(eager.top1_agreement) if eager else '–'} | "
                         f"{f'{eager.max_abs_error:.3g}' if eager else '–'} | {_number(result.top1)} | "
                         f"{_number(result.top5)} |")
        if self.labelled:
            lines += ["", f"Host runtime top-1 on the same images: {_number(self.host_top1)}; eager fp32: "
                      f"{_number(self.eager_top1)}."]
        return lines


def _number(value: float | None) -> str:
    # None: not measured; NaN: nothing to measure it on (no input with a clear host top-1).
    return "–" if not isinstance(value, (int, float)) or math.isnan(value) else f"{value:.4f}"


def labelled_inputs(dataset: LabelledImages, input_size: int, crop_fraction: float, input_format: str,
                    name: str, progress: Progress, limit: int | None = None) -> LabelledInputs:
    """A labelled folder's images as model inputs, through the wrappers' preprocessing; with
    ``limit``, a fixed sample of that many (``choose_samples``)."""
    labels = dict(zip(dataset.paths, dataset.label_indices))
    paths = choose_samples(dataset.paths, limit) if limit is not None else list(dataset.paths)
    inputs = [to_model_input(preprocess_rgb(read_rgb(path), input_size, crop_fraction), input_format)
              for path in progress(paths, "reading images for arm64")]
    share = f"{len(paths)} of {len(dataset.paths)}" if len(paths) < len(dataset.paths) else f"{len(paths)}"
    return LabelledInputs(f"{share} images of {name}", inputs, [labels[path] for path in paths])


def check_for_build(
    model_path: Path, eager: Classifier, comparison_sets: dict[str, list[torch.Tensor]],
    validation: LabelledImages | None, validation_name: str, input_size: int, crop_fraction: float,
    input_format: str, min_ratio: float, progress: Progress,
) -> Arm64Verification:
    """The build's arm64 step on the default CPU models: the first BUILD_SAMPLES_PER_SET inputs of
    each set the host gate judged, and BUILD_VALIDATION_SAMPLES of --val-dir. Skipped (with the
    reason) where qemu-aarch64 or the cross compiler is missing or the runner cannot be built (the
    aarch64 wheel comes from PyPI or pip's cache: an offline build must still finish); a model that
    does not run on arm64 is an SdkError."""
    missing = arm64_missing()
    if missing is not None:
        return Arm64Verification(skipped=missing)
    try:
        runner = build_runner("arm64")
    except SdkError as error:
        return Arm64Verification(skipped=f"the arm64 runner could not be built: {error}")
    from mnv3_sdk.pte.runtime import LoadedModel

    comparison = [batch for inputs in comparison_sets.values() for batch in inputs[:BUILD_SAMPLES_PER_SET]]
    name = " + ".join(f"{min(len(inputs), BUILD_SAMPLES_PER_SET)} {set_name}"
                      for set_name, inputs in comparison_sets.items())
    labelled = (labelled_inputs(validation, input_size, crop_fraction, input_format, validation_name, progress,
                                limit=BUILD_VALIDATION_SAMPLES) if validation is not None else None)
    return verify_on_arm64(runner, model_path, LoadedModel(model_path), eager, comparison, name, labelled,
                           DEFAULT_CPU_MODELS, min_ratio)


def verify_on_arm64(
    runner: RunnerBuild, model_path: Path, host: LoadedModel, eager: Classifier | None,
    comparison: Sequence[torch.Tensor], comparison_name: str, labelled: LabelledInputs | None,
    cpu_models: Sequence[str], min_ratio: float,
) -> Arm64Verification:
    """Run ``model_path`` with the arm64 ``runner`` for each CPU model, on the comparison inputs and
    the labelled ones, and judge it (``arm64_gate``). Raises SdkError when the model does not run."""
    inputs = [*comparison, *(labelled.inputs if labelled else [])]
    raw = [batch.to(host.input_dtype).contiguous().numpy() for batch in inputs]
    with torch.no_grad():
        host_logits = torch.cat([host.run(batch) for batch in inputs])
        # Eager PyTorch in batches: one input at a time it is ~100× slower here once ExecuTorch's
        # thread pool is up beside torch's (measured: 200 ms per digits input on this 2-core host).
        eager_logits = None if eager is None else torch.cat(
            [eager(torch.cat(inputs[start:start + 64])).float() for start in range(0, len(inputs), 64)])
    # One qemu process per CPU model, side by side: each runs one thread.
    with ThreadPoolExecutor(max_workers=len(cpu_models)) as pool:
        outputs = list(pool.map(lambda cpu: run_on_inputs(runner, model_path, raw, cpu=cpu), cpu_models))
    results = []
    for cpu, per_input in zip(cpu_models, outputs):
        logits = torch.from_numpy(np.concatenate([tensors[0] for tensors in per_input]).astype(np.float32))
        top1 = top5 = None
        if labelled:
            top1, top5 = _accuracy(logits[len(comparison):], labelled.labels)
        results.append(CpuModelResult(cpu, agreement_of(host_logits, logits),
                                      agreement_of(eager_logits, logits) if eager_logits is not None else None,
                                      top1, top5))
    host_top1 = _accuracy(host_logits[len(comparison):], labelled.labels)[0] if labelled else None
    eager_top1 = (_accuracy(eager_logits[len(comparison):], labelled.labels)[0]
                  if labelled and eager_logits is not None else None)
    described = comparison_name + (f" + {labelled.name}" if labelled else "")
    return Arm64Verification(
        skipped=None, inputs=described, labelled=labelled.name if labelled else None, host_top1=host_top1,
        eager_top1=eager_top1, cpu_models=tuple(results), runner=runner.folder.name,
        gate=arm64_gate(min_ratio, results, eager_top1 if eager_top1 is not None else host_top1,
                        "eager fp32" if eager_top1 is not None else "the host runtime"),
    )


def _accuracy(logits: torch.Tensor, labels: list[int]) -> tuple[float, float]:
    top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
    truth = torch.tensor(labels).unsqueeze(1)
    return (top5[:, :1] == truth).any(1).float().mean().item(), (top5 == truth).any(1).float().mean().item()


def arm64_gate(min_ratio: float, results: Sequence[CpuModelResult], reference_top1: float | None,
               reference: str) -> GateResult:
    """The accuracy gate on arm64, for every CPU model: top-1 agreement with the host runtime of at
    least ``min_ratio`` on the inputs whose host top-1 is clear (the host passed the build's gate,
    so arm64 must choose as it does), and with labelled inputs a top-1 of at least ``min_ratio`` ×
    ``reference_top1`` (eager fp32's when known, as in the build's gate, else the host runtime's)."""
    verdicts: list[tuple[bool, str]] = []
    for result in results:
        host = result.versus_host
        if host.clear_samples:
            agrees = host.clear_top1_agreement >= min_ratio
            verdicts.append((agrees, f"{result.cpu}: top-1 agreement with the host runtime "
                             f"{host.clear_top1_agreement:.4f} {'≥' if agrees else '<'} {min_ratio:g} on the "
                             f"{host.clear_samples} inputs with a clear host top-1"))
        else:
            verdicts.append((True, f"{result.cpu}: no input with a clear host top-1"))
        if result.top1 is not None and reference_top1 is not None:
            required = min_ratio * reference_top1
            keeps = result.top1 >= required
            verdicts.append((keeps, f"{result.cpu}: top-1 {result.top1:.4f} {'≥' if keeps else '<'} "
                             f"{min_ratio:g} × {reference}'s {reference_top1:.4f}"))
    passed = all(ok for ok, _ in verdicts)
    verdicts.sort(key=lambda verdict: verdict[0])  # the failing ones first: they are the reason
    reason = "; ".join(text for _, text in verdicts)
    accuracies = [result.top1 for result in results if result.top1 is not None]
    if accuracies and reference_top1 is not None:
        return GateResult(passed, "arm64 top-1", min(accuracies), min_ratio * reference_top1, reason)
    judged = [result.versus_host.clear_top1_agreement for result in results if result.versus_host.clear_samples]
    return GateResult(passed, "arm64 top-1 agreement", min(judged) if judged else math.nan, min_ratio, reason)
