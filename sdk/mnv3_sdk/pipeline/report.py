"""The build report: what every stage found, typed (``BuildReport``), written as report.json for
machines and report.md for people. report.json is ``BuildReport`` serialised field by field, with
its schema version in ``schema``."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from mnv3_sdk import hostinfo
from mnv3_sdk.export.calibration_checks import ImageCensus, RangeCoverage
from mnv3_sdk.export.lower import Delegation, ExportResult
from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.pipeline.state import Journal, Packaged, Prepared, Source, Verified
from mnv3_sdk.pte.debug_handles import ETRECORD_SUFFIX, SIDECAR_SUFFIX
from mnv3_sdk.pte.metadata import Metadata
from mnv3_sdk.verify.arm64 import Arm64Verification
from mnv3_sdk.verify.metrics import CLEAR_MARGIN, Accuracy, Agreement, GateResult
from mnv3_sdk.verify.sensitivity import LayerSensitivity

# report.json's layout: 2 added "schema" itself, calibration.checks and the sensitivity inputs;
# 3 added "arm64"; 4 added "profiling" (the debug-handle sidecar, the ETRecord).
REPORT_SCHEMA = 4


@dataclass(frozen=True)
class BuildSummary:
    name: str
    pte: str  # the file name, beside report.json
    passed: bool  # the gate passed, or was not enforced: the model was published


@dataclass(frozen=True)
class GateReport(GateResult):
    """The gate's verdict and what it was judged with."""

    enforced: bool = True  # not for random weights
    min_accuracy_ratio: float = 0.0
    clear_margin: float = CLEAR_MARGIN
    inputs: list[str] = field(default_factory=list)  # the held-out sets, by name


@dataclass(frozen=True)
class AgreementSet(Agreement):
    inputs: str = ""


@dataclass(frozen=True)
class AgreementReport(Agreement):
    """Agreement with eager fp32 over all the comparison inputs, and per set of them."""

    inputs: str = ""  # "64 images of photos not calibrated on + ..."
    held_out_from_calibration: bool | None = None  # int8: True; fp32/fp16: None (nothing calibrated)
    sets: list[AgreementSet] = field(default_factory=list)


@dataclass(frozen=True)
class CalibrationChecksReport:
    census: ImageCensus
    coverage: RangeCoverage | None


@dataclass(frozen=True)
class CalibrationReport:
    source: str  # the folder's name, or "data-free"
    samples: int
    skipped_files: int
    seconds: float
    cached: bool
    checks: CalibrationChecksReport | None  # a folder's data checks; None for data-free


@dataclass(frozen=True)
class QuantizationReport:
    scheme: str  # "per-channel" or "per-tensor"
    excluded_layers: list[str]


@dataclass(frozen=True)
class Sizes:
    pte_bytes: int
    fp32_weights_bytes: int


@dataclass(frozen=True)
class ProfilingFiles:
    """What ``mnv3-sdk profile`` reads beside the .pte, as file names in the build folder."""

    debug_handles: str  # <name>.debug-handles.json: debug handle → module, aten operator, shape
    etrecord: str | None  # <name>.etrecord with build --etrecord, for ExecuTorch's Inspector


@dataclass(frozen=True)
class AndroidReport:
    package: str
    class_name: str
    project: str
    aar: str | None
    maven: str | None
    maven_coordinates: str
    executorch_api: str | None
    skipped: str | None


@dataclass(frozen=True)
class BuildReport:
    """Everything a build found. ``metadata`` is the .pte's own document (its labels are left out
    of report.json: metadata.json has them)."""

    build: BuildSummary
    metadata: Metadata
    warnings: list[str]
    gate: GateReport
    agreement: AgreementReport
    accuracy: Accuracy | None  # with --val-dir
    arm64: Arm64Verification | None  # the model on arm64 kernels under qemu, or why it did not run
    calibration: CalibrationReport | None  # int8
    quantization: QuantizationReport | None  # int8
    sensitivity: list[LayerSensitivity] | None
    sensitivity_inputs: str | None
    sensitivity_on_real_images: bool
    delegation: Delegation
    sizes: Sizes
    profiling: ProfilingFiles
    android: AndroidReport | None
    host: dict[str, str]  # fp16: this CPU's facts (hostinfo.describe)
    timings: dict[str, float]  # seconds per stage, in the order they ran
    schema: int = REPORT_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """report.json's content: every field as JSON types (the delegation as the partitioner
        summary ``Delegation.as_dict`` gives)."""
        plain = {item.name: _plain(getattr(self, item.name)) for item in dataclasses.fields(self)}
        plain["metadata"] = {key: value for key, value in plain["metadata"].items() if key != "labels"}
        plain["delegation"] = self.delegation.as_dict()
        return plain


def build_report(
    config: BuildConfig, source: Source, prepared: Prepared, metadata: Metadata, exported: ExportResult,
    verified: Verified, packaged: Packaged, journal: Journal,
) -> BuildReport:
    calibration = prepared.calibration
    return BuildReport(
        build=BuildSummary(config.name, f"{config.name}.pte", verified.publishable),
        metadata=metadata,
        warnings=list(journal.warnings),
        gate=GateReport(**dataclasses.asdict(verified.gate), enforced=verified.gate_enforced,
                        min_accuracy_ratio=config.min_accuracy_ratio, inputs=list(prepared.comparison_sets)),
        agreement=_agreement_report(prepared, verified),
        accuracy=verified.accuracy,
        arm64=verified.arm64,
        calibration=_calibration_report(prepared) if calibration is not None else None,
        quantization=(
            QuantizationReport("per-channel" if source.quantization.per_channel else "per-tensor",
                               source.quantization.excluded)
            if config.quant == "int8" else None
        ),
        sensitivity=verified.sensitivity,
        sensitivity_inputs=verified.sensitivity_inputs,
        sensitivity_on_real_images=verified.sensitivity is not None and prepared.real_held_out is not None,
        delegation=exported.delegation,
        sizes=Sizes(len(exported.pte), _fp32_bytes(source.network)),
        profiling=ProfilingFiles(config.name + SIDECAR_SUFFIX,
                                 config.name + ETRECORD_SUFFIX if exported.etrecord is not None else None),
        android=_android_report(config, packaged),
        host=hostinfo.describe() if config.quant == "fp16" else {},
        timings=dict(journal.seconds),
    )


def _agreement_report(prepared: Prepared, verified: Verified) -> AgreementReport:
    return AgreementReport(
        **dataclasses.asdict(verified.agreement),
        inputs=" + ".join(f"{len(images)} {name}" for name, images in prepared.comparison_sets.items()),
        held_out_from_calibration=True if prepared.calibration is not None else None,
        sets=[AgreementSet(**dataclasses.asdict(value), inputs=name) for name, value in verified.set_agreements.items()],
    )


def _calibration_report(prepared: Prepared) -> CalibrationReport:
    calibration, checks = prepared.calibration, prepared.calibration_checks
    assert calibration is not None
    return CalibrationReport(
        calibration.source, len(calibration.images), calibration.skipped_files, round(calibration.seconds, 3),
        calibration.cached, CalibrationChecksReport(checks.census, checks.coverage) if checks is not None else None,
    )


def _android_report(config: BuildConfig, packaged: Packaged) -> AndroidReport | None:
    android = packaged.result
    if android is None:
        return None
    return AndroidReport(
        package=config.package, class_name=config.class_name, project="android/",
        aar=android.aar.name if android.aar else None, maven="maven/" if android.maven else None,
        maven_coordinates=":".join(packaged.settings.maven_coordinates),
        executorch_api=android.executorch_api, skipped=android.skipped,
    )


def write_reports(folder: Path, report: BuildReport) -> None:
    (folder / "report.json").write_text(to_json(report.to_dict()), encoding="utf-8")
    (folder / "report.md").write_text(to_markdown(report), encoding="utf-8")


def _fp32_bytes(network: nn.Module) -> int:
    return sum(tensor.numel() * 4 for tensor in network.state_dict().values() if tensor.is_floating_point())


def _plain(value: Any) -> Any:
    """Dataclasses, paths, tuples as JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Path) else value


def _json_safe(value: Any) -> Any:
    # JSON has no infinities: an SQNR of +inf (identical outputs) is written as the string "inf".
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def to_json(value: Any) -> str:
    """JSON of a dict, or of a dataclass (serialised field by field), without NaN or infinities."""
    return json.dumps(_json_safe(_plain(value)), ensure_ascii=False, indent=2) + "\n"


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def to_markdown(report: BuildReport) -> str:
    sections = (
        _summary_lines, _agreement_lines, _accuracy_lines, _arm64_lines, _quantization_lines, _sensitivity_lines,
        _delegation_lines, _host_lines, _timing_lines,
    )
    lines = [f"# mnv3-sdk build report: {report.build.name}", ""]
    for section in sections:
        lines += section(report)
    return "\n".join(lines)


def _summary_lines(report: BuildReport) -> list[str]:
    gate = report.gate
    verdict = "PASSED" if gate.passed else ("FAILED" if gate.enforced else "NOT MET (not enforced: random weights)")
    lines = [f"**Accuracy gate {verdict}**: {gate.reason}.", ""]
    for warning in report.warnings:
        lines += [f"> **Warning:** {warning}", ""]
    metadata, sizes = report.metadata, report.sizes
    model, model_input = metadata.model, metadata.input
    return lines + [
        "| | |",
        "|---|---|",
        f"| architecture | {model.arch} ×{model.width_mult:g}, {model.num_classes} classes |",
        f"| weights | {metadata.weights.source} (sha256 {metadata.weights.sha256[:16]}…) |",
        f"| quantization | {metadata.quant} |",
        f"| input | {model_input.dtype} {model_input.layout} {model_input.shape}, "
        f"crop fraction {model_input.crop_fraction:g} |",
        f"| .pte size | {sizes.pte_bytes:,} bytes ({sizes.pte_bytes / sizes.fp32_weights_bytes:.2f}× the fp32 "
        f"weights' {sizes.fp32_weights_bytes:,} bytes) |",
        f"| profiling | `{report.profiling.debug_handles}` (read by `mnv3-sdk profile`)"
        + (f", `{report.profiling.etrecord}` (ETRecord)" if report.profiling.etrecord else "") + " |",
    ]


def _agreement_lines(report: BuildReport) -> list[str]:
    agreement = report.agreement
    lines = ["", f"## Exported model vs eager PyTorch (fp32), on {agreement.inputs}", ""]
    if agreement.held_out_from_calibration:
        lines += ["None of these inputs was used for calibration.", ""]
    lines += [
        f"Clear top-1: eager fp32's top-1 softmax probability beats its runner-up's by ≥ {report.gate.clear_margin:g}.",
        "",
        "| inputs | samples | top-1 agreement | clear top-1 agreement (clear samples) | max abs error "
        "| max relative error | SQNR (dB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in [("all", agreement), *[(item.inputs, item) for item in agreement.sets]]:
        lines.append(
            f"| {name} | {row.samples} | {_number(row.top1_agreement)} "
            f"| {_number(row.clear_top1_agreement)} ({row.clear_samples}) "
            f"| {_number(row.max_abs_error)} | {_number(row.max_relative_error)} | {_number(row.sqnr_db, 2)} |"
        )
    return lines


def _accuracy_lines(report: BuildReport) -> list[str]:
    accuracy = report.accuracy
    if accuracy is None:
        return []
    return [
        "",
        f"## Accuracy on the validation folder ({accuracy.samples} images)",
        "",
        "| | top-1 | top-5 |",
        "|---|---|---|",
        f"| eager fp32 | {accuracy.eager_top1:.4f} | {accuracy.eager_top5:.4f} |",
        f"| .pte ({report.metadata.quant}) | {accuracy.pte_top1:.4f} | {accuracy.pte_top5:.4f} |",
    ]


def _arm64_lines(report: BuildReport) -> list[str]:
    return report.arm64.markdown_lines() if report.arm64 is not None else []


def _quantization_lines(report: BuildReport) -> list[str]:
    calibration, quantization = report.calibration, report.quantization
    if calibration is None or quantization is None:
        return []
    excluded = ", ".join(f"`{name}`" for name in quantization.excluded_layers) or "none"
    lines = [
        "",
        "## int8 quantization",
        "",
        f"- calibration: {calibration.source}, {calibration.samples} images"
        f"{' (from cache)' if calibration.cached else ''}, {calibration.seconds:.1f} s; "
        f"{calibration.skipped_files} non-image files skipped",
        f"- weights: {quantization.scheme} symmetric int8; layers kept in fp32: {excluded}",
    ]
    if calibration.checks is not None:
        census, coverage = calibration.checks.census, calibration.checks.coverage
        lines.append(f"- calibration data: {census.distinct} distinct images of {census.images}, "
                     f"{census.flat} of one flat colour")
        if coverage is not None:
            lines.append(
                f"- activation ranges against {coverage.held_out}: calibration covers a median "
                f"{coverage.median_ratio:.2f}× of their range per conv/linear layer (lowest "
                f"{coverage.lowest_ratio:.2f}×); {len(coverage.collapsed_layers)} of {coverage.layers} layers "
                f"under {coverage.collapse_ratio:g}×"
            )
    return lines


def _sensitivity_lines(report: BuildReport) -> list[str]:
    sensitivity = report.sensitivity
    if not sensitivity:
        return []
    lines = [
        "",
        "## Per-layer sensitivity (SQNR of each int8 layer's output vs fp32, worst first)",
        "",
        f"Measured on {report.sensitivity_inputs}.",
        "",
    ]
    if not report.gate.passed and report.sensitivity_on_real_images:
        worst = ",".join(layer.layer for layer in sensitivity[:2])
        lines += [f"The gate failed: try keeping the worst layers in fp32 with `--quant-exclude {worst}`.", ""]
    lines += ["| layer | SQNR (dB) |", "|---|---|"]
    return lines + [f"| `{layer.layer}` | {_number(layer.sqnr_db, 2)} |" for layer in sensitivity]


def _delegation_lines(report: BuildReport) -> list[str]:
    delegation = report.delegation
    calls = Counter((op.operator, tuple(op.shape)) for op in delegation.portable_ops)
    return [
        "",
        "## Delegation to XNNPACK",
        "",
        f"{delegation.delegated_calls} delegated subgraph(s) holding "
        f"{sum(delegation.delegated_operators.values())} operators. Left on portable kernels "
        "(output shape; a scalar costs a call, a tensor a scalar loop over it at every inference):",
        "",
    ] + ([
        f"- `{name}` {list(shape) if shape else 'scalar'} × {count}" for (name, shape), count in calls.items()
    ] or ["- nothing"])


def _host_lines(report: BuildReport) -> list[str]:
    return ["", "## Host", "", *[f"- {key}: {value}" for key, value in report.host.items()]] if report.host else []


def _timing_lines(report: BuildReport) -> list[str]:
    timings = report.timings
    return [
        "",
        "## Stage timings (s)",
        "",
        "| " + " | ".join(timings) + " |",
        "|" + "---|" * len(timings),
        "| " + " | ".join(f"{seconds:.2f}" for seconds in timings.values()) + " |",
        "",
    ]
