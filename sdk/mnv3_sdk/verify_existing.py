"""``mnv3-sdk verify``: score an existing .pte, reading everything it needs from its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.export import wrap_for_export
from mnv3_sdk.images import find_labelled_images
from mnv3_sdk.metadata import check_program_matches, read_from_pte
from mnv3_sdk.runtime import LoadedModel
from mnv3_sdk.verify import accuracy_gate, compare, evaluate, to_model_input, verification_images
from mnv3_sdk.weights import build_model, load_weights


def _model_input(metadata: dict[str, Any]) -> tuple[str, int, float]:
    spec = metadata["input"]
    input_format = "pixels" if spec["normalized_in_graph"] else "normalized"
    return input_format, int(spec["shape"][2]), float(spec["crop_fraction"])


def eager_reference(metadata: dict[str, Any], weights_spec: str, origin: str) -> torch.nn.Module:
    """The eager fp32 model, behind the same input adapter, that a .pte with ``metadata`` was built from."""
    variant = metadata["model"]["arch"].removeprefix("mobilenet_v3_")
    width = float(metadata["model"]["width_mult"])
    weights = load_weights(weights_spec, variant, width)
    if weights.num_classes != metadata["model"]["num_classes"]:
        raise SdkError(
            f"weights {weights.source} have {weights.num_classes} classes but {origin} has "
            f"{metadata['model']['num_classes']}"
        )
    return wrap_for_export(build_model(weights, variant, width), _model_input(metadata)[0], "fp32")


def verify_existing(
    model_path: Path,
    val_dir: Path,
    weights_spec: str | None,
    min_accuracy_ratio: float,
    progress: Callable[[Iterable[Any], str], Iterable[Any]],
) -> dict[str, Any]:
    if not 0.0 <= min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {min_accuracy_ratio:g} must be between 0 and 1")
    metadata = read_from_pte(model_path)
    input_format, size, crop_fraction = _model_input(metadata)
    dataset = find_labelled_images(val_dir, metadata["labels"])
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
        result["gate"] = {"passed": gate.passed, "reason": gate.reason, "measured": gate.measured,
                          "required": gate.required}
    result["summary"] = summary
    return result
