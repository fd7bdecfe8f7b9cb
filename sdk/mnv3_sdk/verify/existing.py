"""``mnv3-sdk verify`` / ``mnv3_sdk.verify_model``: score an existing .pte, reading everything it
needs from its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.adapter import eager_reference
from mnv3_sdk.imaging.files import find_labelled_images
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.progress import Progress, no_progress
from mnv3_sdk.pte.metadata import check_program_matches, read_from_pte
from mnv3_sdk.pte.runtime import LoadedModel
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


@dataclass(frozen=True)
class VerifyResult:
    """A .pte scored on a labelled folder; with eager weights, also compared with them and gated."""

    model: Path
    accuracy: Accuracy  # eager_* equal pte_* when no weights were given (the .pte is scored alone)
    agreement: Agreement | None  # on the verification inputs, with weights
    gate: GateResult | None  # with weights

    def summary(self) -> list[str]:
        """What ``mnv3-sdk verify`` prints."""
        accuracy = self.accuracy
        lines = [f"{self.model}: top-1 {accuracy.pte_top1:.4f}, top-5 {accuracy.pte_top5:.4f} "
                 f"on {accuracy.samples} images ({accuracy.skipped_files} non-image files skipped)"]
        if self.gate is not None:
            lines.append(f"eager fp32: top-1 {accuracy.eager_top1:.4f}, top-5 {accuracy.eager_top5:.4f}")
            lines.append(f"gate {'passed' if self.gate.passed else 'FAILED'}: {self.gate.reason}")
        return lines

    def check_gate(self) -> None:
        """Raise GateFailed when the gate was judged and failed."""
        if self.gate is not None and not self.gate.passed:
            raise GateFailed(f"accuracy gate failed: {self.gate.reason}", self.gate)


def verify_existing(
    model_path: Path,
    val_dir: Path,
    weights_spec: str | None = None,
    min_accuracy_ratio: float = DEFAULT_MIN_ACCURACY_RATIO,
    progress: Progress = no_progress,
) -> VerifyResult:
    if not 0.0 <= min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {min_accuracy_ratio:g} must be between 0 and 1")
    model_path, val_dir = Path(model_path), Path(val_dir)
    metadata = read_from_pte(model_path)
    input_format, size, crop_fraction = metadata.input.input_format, metadata.input.size, metadata.input.crop_fraction
    dataset = find_labelled_images(val_dir, metadata.labels)
    loaded = LoadedModel(model_path)
    check_program_matches(loaded.program, metadata, str(model_path))

    if weights_spec is None:
        # Without eager weights the .pte is scored alone: run it twice through the same path.
        eager = None
        reference: Callable[[torch.Tensor], torch.Tensor] = loaded.run
    else:
        eager = eager_reference(metadata, weights_spec, str(model_path))
        reference = eager

    accuracy = evaluate(reference, loaded.run, dataset, size, crop_fraction, input_format,
                        progress=lambda paths: progress(paths, "validating"))
    if eager is None:
        return VerifyResult(model_path, accuracy, None, None)
    agreement = compare(eager, loaded.run, [to_model_input(image, input_format) for image in verification_images(size)])
    return VerifyResult(model_path, accuracy, agreement, accuracy_gate(min_accuracy_ratio, agreement, accuracy))
