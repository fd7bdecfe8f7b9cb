"""``mnv3-sdk verify``: score an existing .pte, reading everything it needs from its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.adapter import eager_reference
from mnv3_sdk.imaging.files import find_labelled_images
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.progress import Progress
from mnv3_sdk.pte.metadata import check_program_matches, read_from_pte
from mnv3_sdk.pte.runtime import LoadedModel
from mnv3_sdk.verify.metrics import accuracy_gate, compare, evaluate, verification_images


def verify_existing(
    model_path: Path,
    val_dir: Path,
    weights_spec: str | None,
    min_accuracy_ratio: float,
    progress: Progress,
) -> dict[str, Any]:
    if not 0.0 <= min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {min_accuracy_ratio:g} must be between 0 and 1")
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
    summary = [f"{model_path}: top-1 {accuracy.pte_top1:.4f}, top-5 {accuracy.pte_top5:.4f} "
               f"on {accuracy.samples} images ({accuracy.skipped_files} non-image files skipped)"]
    result: dict[str, Any] = {"model": str(model_path), "accuracy": accuracy.as_dict(), "gate": None}
    if eager is not None:
        agreement = compare(eager, loaded.run, [to_model_input(image, input_format) for image in verification_images(size)])
        gate = accuracy_gate(min_accuracy_ratio, agreement, accuracy)
        summary.append(f"eager fp32: top-1 {accuracy.eager_top1:.4f}, top-5 {accuracy.eager_top5:.4f}")
        summary.append(f"gate {'passed' if gate.passed else 'FAILED'}: {gate.reason}")
        result["agreement"] = agreement.as_dict()
        result["gate"] = gate.as_dict()
    result["summary"] = summary
    return result
