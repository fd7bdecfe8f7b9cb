"""The build pipeline: config → model → export → verify → report, published atomically."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from mnv3_sdk import hostinfo as host
from mnv3_sdk.android.project import AndroidSettings
from mnv3_sdk.android.stage import build_android
from mnv3_sdk.build import report as report_io
from mnv3_sdk.build.config import BuildConfig
from mnv3_sdk.build.staging import staged_output
from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.adapter import example_input, input_dtype, wrap_for_export
from mnv3_sdk.export.calibration import (
    DATA_FREE_DEFAULT_SAMPLES,
    CalibrationSet,
    find_calibration_images,
    load_calibration_folder,
    load_held_out_images,
    synthesize_from_batchnorm,
)
from mnv3_sdk.export.lower import export_pte, fold_batchnorm
from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8, resolve_excluded_layers
from mnv3_sdk.imaging.files import LabelledImages, find_labelled_images
from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD, to_model_input
from mnv3_sdk.network import labels as labels_io
from mnv3_sdk.network.mobilenetv3 import arch_name
from mnv3_sdk.network.weights import LoadedWeights, build_model, load_weights
from mnv3_sdk.progress import Progress, no_progress
from mnv3_sdk.pte import metadata as metadata_io
from mnv3_sdk.pte.runtime import LoadedModel
from mnv3_sdk.verify.metrics import (
    CLEAR_MARGIN,
    GATE_FOLDER_SAMPLES,
    GATE_SYNTHESIS_SEED,
    GATE_SYNTHESIZED_SAMPLES,
    accuracy_gate,
    compare_sets,
    evaluate,
    verification_images,
)
from mnv3_sdk.verify.sensitivity import layer_sensitivity
from mnv3_sdk.versions import METADATA_FORMAT, tool_versions

CALIBRATION_DEFAULT_SAMPLES = 128


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    pte_path: Path
    report: dict[str, Any]


class Stopwatch:
    """Wall time per named stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def resolve_labels(config: BuildConfig, num_classes: int) -> tuple[list[str], list[str]]:
    """The model's labels and any warnings about them."""
    if config.labels_path is not None:
        labels = labels_io.read_labels(config.labels_path)
        if len(labels) != num_classes:
            raise SdkError(
                f"labels file {config.labels_path} has {len(labels)} labels but the weights have "
                f"{num_classes} classes"
            )
        return labels, []
    if num_classes == 1000:
        return labels_io.imagenet_labels(), []
    return labels_io.placeholder_labels(num_classes), [
        f"no --labels given for a {num_classes}-class head: labels are placeholders class_0…class_{num_classes - 1}"
    ]


def make_metadata(
    config: BuildConfig, weights: LoadedWeights, labels: list[str], crop_fraction: float
) -> dict[str, Any]:
    size = config.input_size
    dtype = str(input_dtype(config.quant)).removeprefix("torch.")
    input_spec = {
        "name": "image",
        "dtype": dtype,
        "layout": "NCHW",
        "shape": [1, 3, size, size],
        "color": "RGB",
        # "pixels": RGB values 0-255 (integers stored as floats), normalized by the graph;
        # "normalized": the caller has applied (value / 255 - mean) / std itself.
        "values": "0-255" if config.input_format == "pixels" else "normalized",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "normalized_in_graph": config.input_format == "pixels",
        "crop_fraction": crop_fraction,
        "interpolation": "bilinear",
        "resize": "antialiased-triangle-half-pixel",
    }
    return {
        "format": METADATA_FORMAT,
        "model": {"arch": arch_name(config.variant), "width_mult": config.width_mult, "num_classes": weights.num_classes},
        "weights": {"source": weights.source, "sha256": weights.sha256},
        "quant": config.quant,
        "calibration": {"source": "none", "samples": 0},
        "input": input_spec,
        "output": {"name": "logits", "dtype": dtype, "shape": [1, weights.num_classes]},
        "labels": labels,
        "versions": tool_versions(),
    }


def run_build(config: BuildConfig, progress: Progress = no_progress) -> BuildResult:
    """Build, verify and publish ``config.out_dir``; raise SdkError, leaving nothing, on failure."""
    clock = Stopwatch()
    warnings: list[str] = []
    with clock.stage("load"):
        weights = load_weights(config.weights, config.variant, config.width_mult)
        labels, label_warnings = resolve_labels(config, weights.num_classes)
        warnings += label_warnings
        network = build_model(weights, config.variant, config.width_mult)
        validation: LabelledImages | None = (
            find_labelled_images(config.val_dir, labels) if config.val_dir is not None else None
        )
        quantization = QuantizationSettings(
            per_channel=not config.per_tensor,
            excluded=resolve_excluded_layers(config.quant_exclude, network),
            wrapped=config.input_format == "pixels",
        )
        if config.calibration_dir is not None:
            find_calibration_images(config.calibration_dir)  # fail fast on an empty folder
    if weights.source == "random":
        warnings.append("RANDOM WEIGHTS: this model predicts nothing; it exists to test the plumbing only")
    crop_fraction = config.crop_fraction if config.crop_fraction is not None else weights.recommended_crop_fraction
    metadata = make_metadata(config, weights, labels, crop_fraction)

    reference = wrap_for_export(network, config.input_format, "fp32")
    example = example_input(config.input_size, "fp32")
    # The inputs the .pte is compared with eager fp32 on, which the gate judges without --val-dir:
    # for int8, never the ones it was calibrated with.
    comparison_sets = {"verification inputs": verification_images(config.input_size)}
    calibration: CalibrationSet | None = None
    if config.quant == "int8":
        with clock.stage("calibrate"):
            calibration = _calibration_set(config, network, weights.sha256, crop_fraction, progress)
        metadata["calibration"] = {"source": calibration.source, "samples": len(calibration.images)}
        with clock.stage("held-out inputs"):
            comparison_sets = _held_out_sets(config, network, weights.sha256, crop_fraction, calibration, progress)
        with clock.stage("quantize"):
            to_export = quantize_int8(
                reference, example, _model_inputs(calibration.images, config.input_format), quantization
            )
    else:
        # BatchNorm folded in PyTorch: the same arithmetic, a much shorter lowering (fold_batchnorm).
        to_export = wrap_for_export(fold_batchnorm(network), config.input_format, config.quant)
    exported = export_pte(to_export, example_input(config.input_size, config.quant), metadata, config.allow_portable_ops)
    clock.seconds.update(exported.timings)
    warnings += exported.warnings

    with staged_output(config.out_dir, config.force) as staged:
        staging = staged.folder
        pte_path = staging / f"{config.name}.pte"
        pte_path.write_bytes(exported.pte)
        (staging / "metadata.json").write_bytes(metadata_io.to_json_bytes(metadata))

        with clock.stage("verify"):
            loaded = LoadedModel(pte_path)
            metadata_io.check_program_matches(loaded.program, metadata, pte_path.name)
            agreement, set_agreements = compare_sets(
                reference, loaded.run,
                {name: _model_inputs(images, config.input_format) for name, images in comparison_sets.items()},
            )
            accuracy = (
                evaluate(
                    reference,
                    loaded.run,
                    validation,
                    config.input_size,
                    crop_fraction,
                    config.input_format,
                    progress=lambda paths: progress(paths, "validating"),
                )
                if validation is not None
                else None
            )
        gate = accuracy_gate(config.min_accuracy_ratio, set_agreements, accuracy)
        # Random weights have near-tied logits and no accuracy to keep: the gate is measured and
        # reported, but cannot meaningfully stop a smoke build.
        gate_enforced = weights.source != "random"
        if not gate_enforced and not gate.passed:
            warnings.append(f"accuracy gate not enforced for random weights ({gate.reason})")
        sensitivity = None
        if config.quant == "int8" and (config.sensitivity or (gate_enforced and not gate.passed)):
            with clock.stage("sensitivity"):
                held_out = [image for images in comparison_sets.values() for image in images]
                sensitivity = layer_sensitivity(
                    reference, example, _model_inputs(calibration.images, config.input_format), quantization,
                    _model_inputs(held_out[:SENSITIVITY_SAMPLES], config.input_format),
                )
        android = None
        android_settings = AndroidSettings(
            config.package, config.class_name, pte_path.name, arch_name(config.variant), config.quant
        )
        if not gate_enforced or gate.passed:
            with clock.stage("android"):
                android = build_android(android_settings, exported.pte, staging, config.build_aar, config.name)
            if android.skipped:
                warnings.append(android.skipped)
        report = {
            "build": {"name": config.name, "pte": pte_path.name, "passed": gate.passed or not gate_enforced},
            "metadata": {key: value for key, value in metadata.items() if key != "labels"},
            "warnings": warnings,
            "gate": {
                **gate.as_dict(),
                "enforced": gate_enforced,
                "min_accuracy_ratio": config.min_accuracy_ratio,
                "clear_margin": CLEAR_MARGIN,
                "inputs": list(comparison_sets),
            },
            "agreement": {
                **agreement.as_dict(),
                "inputs": " + ".join(f"{len(images)} {name}" for name, images in comparison_sets.items()),
                "held_out_from_calibration": True if calibration is not None else None,
                "sets": [{"inputs": name, **value.as_dict()} for name, value in set_agreements.items()],
            },
            "accuracy": accuracy.as_dict() if accuracy is not None else None,
            "calibration": calibration.as_dict() if calibration is not None else None,
            "quantization": (
                {"scheme": "per-channel" if quantization.per_channel else "per-tensor",
                 "excluded_layers": quantization.excluded}
                if config.quant == "int8" else None
            ),
            "sensitivity": [layer.as_dict() for layer in sensitivity] if sensitivity is not None else None,
            "delegation": exported.delegation.as_dict(),
            "sizes": {"pte_bytes": len(exported.pte), "fp32_weights_bytes": _fp32_bytes(network)},
            "android": (
                {
                    "package": config.package,
                    "class_name": config.class_name,
                    "project": "android/",
                    "aar": android.aar.name if android.aar else None,
                    "maven": "maven/" if android.maven else None,
                    "maven_coordinates": ":".join(android_settings.maven_coordinates),
                    "executorch_api": android.executorch_api,
                    "skipped": android.skipped,
                }
                if android is not None else None
            ),
            "host": host.describe() if config.quant == "fp16" else {},
            "timings": clock.seconds,
        }
        (staging / "report.json").write_text(report_io.to_json(report), encoding="utf-8")
        (staging / "report.md").write_text(report_io.to_markdown(report), encoding="utf-8")
        if gate_enforced and not gate.passed:
            rejected = staged.reject()
            hint = ""
            if sensitivity:
                worst = ",".join(layer.layer for layer in sensitivity[:2])
                hint = f"; the least accurate int8 layers are {worst}: try --quant-exclude {worst}"
            raise SdkError(
                f"accuracy gate failed: {gate.reason}{hint}; report kept in {rejected}/report.md, model not published"
            )
        staged.publish()
    return BuildResult(config.out_dir, config.out_dir / pte_path.name, report)


# Layer-by-layer comparison runs the graph in the FX interpreter: a few inputs are enough.
SENSITIVITY_SAMPLES = 16


def _model_inputs(images: list[np.ndarray], input_format: str) -> list[torch.Tensor]:
    return [to_model_input(image, input_format) for image in images]


def _held_out_sets(
    config: BuildConfig, network: nn.Module, weights_sha256: str, crop_fraction: float,
    calibration: CalibrationSet, progress: Progress,
) -> dict[str, list[np.ndarray]]:
    """What the int8 gate judges on: images calibration did not see, by where they come from.

    Always images synthesized from the network's BatchNorm statistics with another seed than
    data-free calibration's; with a calibration folder, also its images not chosen for calibration.
    """
    sets = {}
    if config.calibration_dir is not None:
        unused = load_held_out_images(calibration, GATE_FOLDER_SAMPLES, config.input_size, crop_fraction, progress)
        if unused:
            sets[f"images of {config.calibration_dir.name} not calibrated on"] = unused
    synthesized = synthesize_from_batchnorm(
        network, weights_sha256, GATE_SYNTHESIZED_SAMPLES, config.input_size, progress,
        seed=GATE_SYNTHESIS_SEED, purpose="held-out",
    )
    sets[f"synthesized images (data-free, seed {GATE_SYNTHESIS_SEED}, not calibrated on)"] = synthesized.images
    return sets


def _calibration_set(
    config: BuildConfig, network: nn.Module, weights_sha256: str, crop_fraction: float, progress: Progress
) -> CalibrationSet:
    if config.calibration_dir is not None:
        return load_calibration_folder(
            config.calibration_dir, config.calibration_samples or CALIBRATION_DEFAULT_SAMPLES,
            config.input_size, crop_fraction, progress,
        )
    return synthesize_from_batchnorm(
        network, weights_sha256, config.calibration_samples or DATA_FREE_DEFAULT_SAMPLES, config.input_size, progress
    )


def _fp32_bytes(network: nn.Module) -> int:
    return sum(tensor.numel() * 4 for tensor in network.state_dict().values() if tensor.is_floating_point())
