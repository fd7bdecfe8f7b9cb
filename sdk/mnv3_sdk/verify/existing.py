"""``mnv3-sdk verify`` / ``mnv3_sdk.verify_model``: score an existing .pte, reading everything it
needs from its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.adapter import eager_reference
from mnv3_sdk.imaging.files import LabelledImages, find_labelled_images
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.native import DEFAULT_CPU_MODELS, build_runner, require_arm64
from mnv3_sdk.progress import Progress, no_progress
from mnv3_sdk.pte.metadata import Metadata, check_program_matches, read_from_pte
from mnv3_sdk.pte.runtime import LoadedModel
from mnv3_sdk.verify.arm64 import Arm64Verification, labelled_inputs, verify_on_arm64
from mnv3_sdk.verify.metrics import (
    DEFAULT_MIN_ACCURACY_RATIO,
    Accuracy,
    Agreement,
    GateFailed,
    GateResult,
    accuracy_gate,
    compare,
    evaluate,
    verification_images,
)

ARCHES = ("host", "arm64")


@dataclass(frozen=True)
class VerifyResult:
    """A .pte scored on a labelled folder and/or on arm64 kernels; with eager weights, also compared
    with them and gated."""

    model: Path
    # with a labelled folder; eager_* equal pte_* when no weights were given (the .pte scored alone)
    accuracy: Accuracy | None
    agreement: Agreement | None  # on the verification inputs, with weights
    gate: GateResult | None  # with weights
    arm64: Arm64Verification | None = None  # with arch="arm64"

    def summary(self) -> list[str]:
        """What ``mnv3-sdk verify`` prints."""
        lines = []
        accuracy = self.accuracy
        if accuracy is not None:
            lines.append(f"{self.model}: top-1 {accuracy.pte_top1:.4f}, top-5 {accuracy.pte_top5:.4f} "
                         f"on {accuracy.samples} images ({accuracy.skipped_files} non-image files skipped)")
            if self.gate is not None:
                lines.append(f"eager fp32: top-1 {accuracy.eager_top1:.4f}, top-5 {accuracy.eager_top5:.4f}")
        if self.gate is not None:
            lines.append(f"gate {'passed' if self.gate.passed else 'FAILED'}: {self.gate.reason}")
        if self.arm64 is not None:
            lines += self.arm64.summary_lines()
        return lines

    def check_gate(self) -> None:
        """Raise GateFailed when a gate was judged and failed: the host's first, then arm64's."""
        if self.gate is not None and not self.gate.passed:
            raise GateFailed(f"accuracy gate failed: {self.gate.reason}", self.gate)
        if self.arm64 is not None and self.arm64.gate is not None and not self.arm64.gate.passed:
            raise GateFailed(f"arm64 gate failed: {self.arm64.gate.reason}", self.arm64.gate)


def verify_existing(
    model_path: Path,
    val_dir: Path | None,
    weights_spec: str | None = None,
    min_accuracy_ratio: float = DEFAULT_MIN_ACCURACY_RATIO,
    progress: Progress = no_progress,
    arch: str = "host",
    cpu_models: Sequence[str] = DEFAULT_CPU_MODELS,
) -> VerifyResult:
    if not 0.0 <= min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {min_accuracy_ratio:g} must be between 0 and 1")
    if arch not in ARCHES:
        raise SdkError(f"unknown --arch {arch!r}: choose one of {', '.join(ARCHES)}")
    if val_dir is None and arch == "host":
        raise SdkError("verify needs --val-dir (labelled images) on the host; with --arch arm64 it is optional")
    if arch == "arm64":
        require_arm64("--arch arm64")
    model_path = Path(model_path)
    val_dir = Path(val_dir) if val_dir is not None else None
    metadata = read_from_pte(model_path)
    dataset = find_labelled_images(val_dir, metadata.labels) if val_dir is not None else None
    loaded = LoadedModel(model_path)
    check_program_matches(loaded.program, metadata, str(model_path))
    eager = eager_reference(metadata, weights_spec, str(model_path)) if weights_spec is not None else None
    accuracy = _score(metadata, loaded, eager, dataset, progress)
    agreement = gate = None
    verification = [to_model_input(image, metadata.input.input_format)
                    for image in verification_images(metadata.input.size)]
    if eager is not None:
        agreement = compare(eager, loaded.run, verification)
        gate = accuracy_gate(min_accuracy_ratio, agreement, accuracy)
    arm64 = None
    if arch == "arm64":
        labelled = (labelled_inputs(dataset, metadata.input.size, metadata.input.crop_fraction,
                                    metadata.input.input_format, val_dir.name, progress)
                    if dataset is not None and val_dir is not None else None)
        arm64 = verify_on_arm64(build_runner("arm64"), model_path, loaded, eager, verification,
                                f"{len(verification)} verification inputs", labelled, cpu_models, min_accuracy_ratio)
    return VerifyResult(model_path, accuracy, agreement, gate, arm64)


def _score(metadata: Metadata, loaded: LoadedModel, eager: torch.nn.Module | None, dataset: LabelledImages | None,
           progress: Progress) -> Accuracy | None:
    """Top-1/top-5 on the labelled folder (eager's too, with its weights)."""
    if dataset is None:
        return None
    # Without eager weights the .pte is scored alone: run it twice through the same path.
    reference: Callable[[torch.Tensor], torch.Tensor] = eager if eager is not None else loaded.run
    return evaluate(reference, loaded.run, dataset, metadata.input.size, metadata.input.crop_fraction,
                    metadata.input.input_format, progress=lambda paths: progress(paths, "validating"))
