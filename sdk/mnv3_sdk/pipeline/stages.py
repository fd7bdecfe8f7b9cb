"""The build pipeline: load → calibrate/quantize → export → verify → arm64 → android → report → publish.

``run_build`` is the list of stages; each is a function below, taking the config and what the
stages before it produced (``pipeline/state.py``) and returning its own result. Nothing reaches the
output folder until every stage and the accuracy gate passed (``pipeline/staging.py``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path


import numpy as np
import torch

from mnv3_sdk.android.project import AndroidSettings
from mnv3_sdk.android.stage import build_android
from mnv3_sdk.pipeline import report as report_io
from mnv3_sdk.pipeline.report import BuildReport
from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.pipeline.staging import staged_output
from mnv3_sdk.pipeline.state import (
    BuildResult,
    CalibrationChecks,
    HeldOutImages,
    Journal,
    Packaged,
    Prepared,
    Source,
    Verified,
)
from mnv3_sdk.errors import SdkError
from mnv3_sdk.export.adapter import example_input, input_dtype, wrap_for_export
from mnv3_sdk.export.calibration import (
    DATA_FREE_DEFAULT_SAMPLES,
    CalibrationSet,
    choose_samples,
    find_calibration_images,
    load_calibration_folder,
    load_held_out_images,
    synthesize_from_batchnorm,
)
from mnv3_sdk.export.calibration_checks import (
    RangeCoverage,
    activation_ranges,
    check_census,
    check_coverage,
    range_coverage,
    take_census,
)
from mnv3_sdk.export.lower import ExportResult, export_pte, fold_batchnorm
from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8, resolve_excluded_layers
from mnv3_sdk.imaging.files import check_headers, find_labelled_images, read_rgb
from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD, to_model_input
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.network import labels as labels_io
from mnv3_sdk.network.mobilenetv3 import arch_name
from mnv3_sdk.network.weights import build_model, load_weights
from mnv3_sdk.progress import Progress, no_progress
from mnv3_sdk.pte import debug_handles as debug_handles_io
from mnv3_sdk.pte import metadata as metadata_io
from mnv3_sdk.pte.debug_handles import ETRECORD_SUFFIX, sidecar_path
from mnv3_sdk.pte.metadata import CalibrationInfo, InputSpec, Metadata, ModelInfo, OutputSpec, WeightsInfo
from mnv3_sdk.pte.runtime import LoadedModel
from mnv3_sdk.verify.arm64 import Arm64Verification, check_for_build
from mnv3_sdk.verify.metrics import (
    GATE_FOLDER_SAMPLES,
    GATE_SYNTHESIS_SEED,
    GATE_SYNTHESIZED_SAMPLES,
    GateFailed,
    accuracy_gate,
    compare_sets,
    evaluate,
    verification_images,
)
from mnv3_sdk.verify.sensitivity import layer_sensitivity
from mnv3_sdk.versions import METADATA_FORMAT, tool_versions

CALIBRATION_DEFAULT_SAMPLES = 128
# Layer-by-layer comparison runs the graph in the FX interpreter: a few inputs are enough.
SENSITIVITY_SAMPLES = 16


def run_build(config: BuildConfig, progress: Progress = no_progress) -> BuildResult:
    """Build, verify and publish ``config.out_dir``; raise SdkError, leaving nothing, on failure."""
    journal = Journal()
    source = load(config, journal)
    prepared = prepare(config, source, journal, progress)
    metadata = make_metadata(config, source, prepared.calibration)
    exported = export(config, prepared, metadata, journal)
    with staged_output(config.out_dir, config.force) as staged:
        pte_path = write_model(staged.folder, config.name, exported, metadata)
        verified = verify(config, source, prepared, pte_path, metadata, journal, progress)
        verified = replace(verified, arm64=verify_arm64(config, source, prepared, pte_path, verified, journal, progress))
        packaged = package_android(config, exported, verified, staged.folder, journal)
        report = report_io.build_report(config, source, prepared, metadata, exported, verified, packaged, journal)
        report_io.write_reports(staged.folder, report)
        if not verified.publishable:
            raise _gate_failure(verified, staged.reject(), prepared.real_held_out)
        staged.publish()
    return published(config, pte_path, metadata, exported, verified, packaged, journal, report)


def published(
    config: BuildConfig, staged_pte: Path, metadata: Metadata, exported: ExportResult, verified: Verified,
    packaged: Packaged, journal: Journal, report: BuildReport,
) -> BuildResult:
    """The result, with the staged files' paths moved to the published folder."""
    android = packaged.result
    assert android is not None, "a publishable build always runs the android stage"
    return BuildResult(
        out_dir=config.out_dir,
        pte_path=config.out_dir / staged_pte.name,
        metadata=metadata,
        pte_bytes=len(exported.pte),
        gate=verified.gate,
        agreement=verified.agreement,
        accuracy=verified.accuracy,
        aar_path=config.out_dir / android.aar.name if android.aar is not None else None,
        maven_dir=config.out_dir / android.maven.name if android.maven is not None else None,
        android_skipped=android.skipped,
        warnings=list(journal.warnings),
        timings=dict(journal.seconds),
        report=report,
        arm64=verified.arm64,
    )


def load(config: BuildConfig, journal: Journal) -> Source:
    """Weights, labels, the network and the user's folders, all checked before any heavy work."""
    with journal.stage("load"):
        weights = load_weights(config.weights, config.variant, config.width_mult)
        labels, label_warnings = resolve_labels(config, weights.num_classes)
        journal.warnings += label_warnings
        network = build_model(weights, config.variant, config.width_mult)
        validation = find_labelled_images(config.val_dir, labels) if config.val_dir is not None else None
        quantization = QuantizationSettings(
            per_channel=not config.per_tensor,
            excluded=resolve_excluded_layers(config.quant_exclude, network),
            wrapped=config.input_format == "pixels",
        )
        if config.calibration_dir is not None:
            # Fail fast on an empty folder or a file that is not an image, before the export.
            check_headers(find_calibration_images(config.calibration_dir)[0])
    if weights.source == "random":
        journal.warnings.append("RANDOM WEIGHTS: this model predicts nothing; it exists to test the plumbing only")
    crop_fraction = config.crop_fraction if config.crop_fraction is not None else weights.recommended_crop_fraction
    return Source(weights, labels, network, validation, quantization, crop_fraction)


def prepare(config: BuildConfig, source: Source, journal: Journal, progress: Progress) -> Prepared:
    """int8: calibrate, set the held-out inputs aside, quantize. fp32/fp16: fold BatchNorm."""
    reference = wrap_for_export(source.network, config.input_format, "fp32")
    example = example_input(config.input_size, "fp32")
    if config.quant != "int8":
        # BatchNorm folded in PyTorch: the same arithmetic, a much shorter lowering (fold_batchnorm).
        to_export = wrap_for_export(fold_batchnorm(source.network), config.input_format, config.quant)
        return Prepared(reference, example, to_export, {"verification inputs": verification_images(config.input_size)},
                        None, None, None)
    with journal.stage("calibrate"):
        calibration = _calibration_set(config, source, progress)
        # A folder's images are looked at before anything is judged on them (export/calibration_checks.py).
        census = take_census(calibration.images) if config.calibration_dir is not None else None
        if census is not None:
            journal.warnings += check_census(census, config.calibration_dir.name)
    # The inputs the .pte is compared with eager fp32 on, which the gate judges without --val-dir:
    # for int8, never the ones it was calibrated with.
    with journal.stage("held-out inputs"):
        comparison_sets = _held_out_sets(config, source, calibration, progress)
        real_held_out = _real_held_out(config, source, comparison_sets, progress)
    checks = None
    if census is not None:
        coverage = None
        if real_held_out is not None:
            with journal.stage("calibration checks"):
                coverage = _range_coverage(config, source, reference, calibration, real_held_out)
        checks = CalibrationChecks(census, coverage)
    with journal.stage("quantize"):
        to_export = quantize_int8(
            reference, example, _model_inputs(calibration.images, config.input_format), source.quantization
        )
    return Prepared(reference, example, to_export, comparison_sets, calibration, real_held_out, checks)


def export(config: BuildConfig, prepared: Prepared, metadata: Metadata, journal: Journal) -> ExportResult:
    """torch.export, XNNPACK lowering with the delegation check, serialization (metadata embedded)."""
    exported = export_pte(
        prepared.to_export, example_input(config.input_size, config.quant), metadata, config.allow_portable_ops,
        etrecord=config.etrecord,
    )
    journal.seconds.update(exported.timings)
    journal.warnings += exported.warnings
    return exported


def write_model(folder: Path, name: str, exported: ExportResult, metadata: Metadata) -> Path:
    """The .pte, metadata.json, the debug-handle sidecar ``mnv3-sdk profile`` names modules with,
    and the ETRecord when asked for."""
    pte_path = folder / f"{name}.pte"
    pte_path.write_bytes(exported.pte)
    (folder / "metadata.json").write_bytes(metadata_io.to_json_bytes(metadata))
    assert exported.debug_handles is not None, "export_pte always collects the debug handles"
    sidecar_path(pte_path).write_bytes(debug_handles_io.to_json_bytes(exported.debug_handles))
    if exported.etrecord is not None:
        (folder / f"{name}{ETRECORD_SUFFIX}").write_bytes(exported.etrecord)
    return pte_path


def verify(
    config: BuildConfig, source: Source, prepared: Prepared, pte_path: Path, metadata: Metadata,
    journal: Journal, progress: Progress,
) -> Verified:
    """Run the written .pte against eager fp32, score it on --val-dir, judge the gate."""
    with journal.stage("verify"):
        loaded = LoadedModel(pte_path)
        metadata_io.check_program_matches(loaded.program, metadata, pte_path.name)
        agreement, set_agreements = compare_sets(
            prepared.reference, loaded.run,
            {name: _model_inputs(images, config.input_format) for name, images in prepared.comparison_sets.items()},
        )
        accuracy = (
            evaluate(
                prepared.reference,
                loaded.run,
                source.validation,
                config.input_size,
                source.crop_fraction,
                config.input_format,
                progress=lambda paths: progress(paths, "validating"),
            )
            if source.validation is not None
            else None
        )
    gate = accuracy_gate(config.min_accuracy_ratio, set_agreements, accuracy)
    # Random weights have near-tied logits and no accuracy to keep: the gate is measured and
    # reported, but cannot meaningfully stop a smoke build.
    gate_enforced = source.weights.source != "random"
    if not gate_enforced and not gate.passed:
        journal.warnings.append(f"accuracy gate not enforced for random weights ({gate.reason})")
    # Which layers to keep in fp32 is worth saying only where real images show the loss: the
    # synthesized images lie outside a narrow domain, where int8 may rightly differ from fp32.
    sensitivity, sensitivity_inputs = None, None
    judged_on_real_images = prepared.real_held_out is not None
    if config.quant == "int8" and (config.sensitivity or (gate_enforced and not gate.passed and judged_on_real_images)):
        assert prepared.calibration is not None
        if prepared.real_held_out is not None:
            sensitivity_inputs, held_out = prepared.real_held_out.name, prepared.real_held_out.images
        else:
            sensitivity_inputs, held_out = next(iter(prepared.comparison_sets.items()))
        held_out = held_out[:SENSITIVITY_SAMPLES]
        sensitivity_inputs = f"{len(held_out)} {sensitivity_inputs}"
        with journal.stage("sensitivity"):
            sensitivity = layer_sensitivity(
                prepared.reference, prepared.example,
                _model_inputs(prepared.calibration.images, config.input_format), source.quantization,
                _model_inputs(held_out, config.input_format),
            )
    return Verified(agreement, set_agreements, accuracy, gate, gate_enforced, sensitivity, sensitivity_inputs)


def verify_arm64(
    config: BuildConfig, source: Source, prepared: Prepared, pte_path: Path, verified: Verified, journal: Journal,
    progress: Progress,
) -> Arm64Verification:
    """Run the written .pte on ExecuTorch's arm64 kernels under qemu-aarch64 and judge it as the host
    was (verify/arm64.py); not with --no-arm64-check, nor once the host gate has refused the model."""
    if not config.arm64_check:
        return Arm64Verification(skipped="--no-arm64-check")
    if not verified.publishable:
        return Arm64Verification(skipped="the accuracy gate failed on the host runtime")
    with journal.stage("arm64"):
        result = check_for_build(
            pte_path, prepared.reference,
            {name: _model_inputs(images, config.input_format) for name, images in prepared.comparison_sets.items()},
            source.validation, config.val_dir.name if config.val_dir else "", config.input_size,
            source.crop_fraction, config.input_format, config.min_accuracy_ratio, progress,
        )
    if result.skipped is not None:
        journal.warnings.append(f"arm64 check skipped: {result.skipped}")
    elif not result.passed and not verified.gate_enforced:
        assert result.gate is not None
        journal.warnings.append(f"arm64 gate not enforced for random weights ({result.gate.reason})")
    return result


def package_android(
    config: BuildConfig, exported: ExportResult, verified: Verified, folder: Path, journal: Journal
) -> Packaged:
    """The Gradle project, the compiled library (AAR) and a local Maven folder; skipped for a
    build that will not be published."""
    settings = AndroidSettings(config.package, config.class_name, f"{config.name}.pte", arch_name(config.variant),
                               config.quant)
    if not verified.publishable:
        return Packaged(settings, None)
    with journal.stage("android"):
        android = build_android(settings, exported.pte, folder, config.build_aar, config.name)
    if android.skipped:
        journal.warnings.append(android.skipped)
    return Packaged(settings, android)


def _gate_failure(verified: Verified, rejected: Path, real_held_out: HeldOutImages | None) -> GateFailed:
    if verified.gate.passed and verified.arm64 is not None and verified.arm64.gate is not None:
        return GateFailed(f"arm64 gate failed: {verified.arm64.gate.reason}; report kept in {rejected}/report.md, "
                          "model not published", verified.arm64.gate, rejected)
    hint = ""
    if verified.sensitivity and real_held_out is not None:
        worst = ",".join(layer.layer for layer in verified.sensitivity[:2])
        hint = f"; the least accurate int8 layers on {verified.sensitivity_inputs} are {worst}: try --quant-exclude {worst}"
    elif real_held_out is None and verified.gate.basis == "top-1 agreement":
        hint = ("; judged on synthesized images only: give --val-dir (labelled images) or --calibration-dir "
                "(images of the model's domain) to judge on real images")
    return GateFailed(
        f"accuracy gate failed: {verified.gate.reason}{hint}; report kept in {rejected}/report.md, model not published",
        verified.gate, rejected,
    )


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


def make_metadata(config: BuildConfig, source: Source, calibration: CalibrationSet | None) -> Metadata:
    """The metadata contract's document for this build (docs/contracts.md § 1)."""
    size, num_classes = config.input_size, source.weights.num_classes
    dtype = str(input_dtype(config.quant)).removeprefix("torch.")
    return Metadata(
        format=METADATA_FORMAT,
        model=ModelInfo(arch_name(config.variant), config.width_mult, num_classes),
        weights=WeightsInfo(source.weights.source, source.weights.sha256),
        quant=config.quant,
        calibration=(
            CalibrationInfo(calibration.source, len(calibration.images))
            if calibration is not None else CalibrationInfo("none", 0)
        ),
        input=InputSpec(
            name="image",
            dtype=dtype,
            layout="NCHW",
            shape=[1, 3, size, size],
            color="RGB",
            # "pixels": RGB values 0-255 (integers stored as floats), normalized by the graph;
            # "normalized": the caller has applied (value / 255 - mean) / std itself.
            values="0-255" if config.input_format == "pixels" else "normalized",
            mean=list(IMAGENET_MEAN),
            std=list(IMAGENET_STD),
            normalized_in_graph=config.input_format == "pixels",
            crop_fraction=source.crop_fraction,
            interpolation="bilinear",
            resize="antialiased-triangle-half-pixel",
        ),
        output=OutputSpec("logits", dtype, [1, num_classes]),
        labels=source.labels,
        versions=tool_versions(),
    )


def _model_inputs(images: list[np.ndarray], input_format: str) -> list[torch.Tensor]:
    return [to_model_input(image, input_format) for image in images]


def _held_out_sets(
    config: BuildConfig, source: Source, calibration: CalibrationSet, progress: Progress
) -> dict[str, list[np.ndarray]]:
    """What the int8 model is compared with eager fp32 on, and the gate judges without --val-dir:
    images calibration did not see.

    With a calibration folder, the part of it held out from calibration: real images of the
    model's domain. Without one, images synthesized from the network's BatchNorm statistics with
    another seed than data-free calibration's. Synthesized images never judge a model calibrated
    on real images: they lie outside a narrow domain, where int8 may rightly differ from fp32.
    """
    if config.calibration_dir is not None:
        unused = load_held_out_images(
            calibration, GATE_FOLDER_SAMPLES, config.input_size, source.crop_fraction, progress
        )
        # check_census refuses a folder too small to hold any image out before this matters.
        return {f"images of {config.calibration_dir.name} not calibrated on": unused} if unused else {}
    synthesized = synthesize_from_batchnorm(
        source.network, source.weights.sha256, GATE_SYNTHESIZED_SAMPLES, config.input_size, progress,
        seed=GATE_SYNTHESIS_SEED, purpose="held-out",
    )
    return {f"synthesized images (data-free, seed {GATE_SYNTHESIS_SEED}, not calibrated on)": synthesized.images}


def _real_held_out(
    config: BuildConfig, source: Source, comparison_sets: dict[str, list[np.ndarray]], progress: Progress
) -> HeldOutImages | None:
    """Real images int8 was not calibrated on: a sample of --val-dir, else the calibration folder's
    held-out part; None for data-free calibration without --val-dir."""
    if source.validation is not None:
        paths = choose_samples(source.validation.paths, GATE_FOLDER_SAMPLES)
        images = [
            preprocess_rgb(read_rgb(path), config.input_size, source.crop_fraction)
            for path in progress(paths, "reading validation images")
        ]
        return HeldOutImages(f"images of {config.val_dir.name}", images)
    if config.calibration_dir is not None and comparison_sets:
        (name, images), = comparison_sets.items()
        return HeldOutImages(name, images)
    return None


def _range_coverage(
    config: BuildConfig, source: Source, reference: torch.nn.Module, calibration: CalibrationSet,
    real_held_out: HeldOutImages,
) -> RangeCoverage:
    """Refuse calibration images whose activation ranges fall far short of real held-out images'."""
    ranges = [
        activation_ranges(source.network, reference, _model_inputs(images, config.input_format))
        for images in (calibration.images, real_held_out.images)
    ]
    coverage = range_coverage(*ranges, f"{len(real_held_out.images)} {real_held_out.name}")
    check_coverage(coverage, config.calibration_dir.name)
    return coverage


def _calibration_set(config: BuildConfig, source: Source, progress: Progress) -> CalibrationSet:
    if config.calibration_dir is not None:
        return load_calibration_folder(
            config.calibration_dir, config.calibration_samples or CALIBRATION_DEFAULT_SAMPLES,
            config.input_size, source.crop_fraction, progress, hold_out=GATE_FOLDER_SAMPLES,
        )
    return synthesize_from_batchnorm(
        source.network, source.weights.sha256, config.calibration_samples or DATA_FREE_DEFAULT_SAMPLES, config.input_size, progress
    )
