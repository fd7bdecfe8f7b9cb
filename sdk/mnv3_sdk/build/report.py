"""The build report: what every stage found, as JSON for machines and Markdown for people."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from torch import nn

from mnv3_sdk import hostinfo
from mnv3_sdk.build.config import BuildConfig
from mnv3_sdk.build.state import CalibrationChecks, Journal, Packaged, Prepared, Source, Verified
from mnv3_sdk.export.lower import ExportResult
from mnv3_sdk.pte.metadata import Metadata
from mnv3_sdk.verify.arm64 import markdown_section as arm64_markdown
from mnv3_sdk.verify.metrics import CLEAR_MARGIN


def build_report(
    config: BuildConfig, source: Source, prepared: Prepared, metadata: Metadata, exported: ExportResult,
    verified: Verified, packaged: Packaged, journal: Journal,
) -> dict[str, Any]:
    """report.json's content (report.md is made from it)."""
    gate, calibration, android = verified.gate, prepared.calibration, packaged.result
    comparison_sets = prepared.comparison_sets
    return {
        "build": {"name": config.name, "pte": f"{config.name}.pte", "passed": verified.publishable},
        "metadata": {key: value for key, value in metadata.to_dict().items() if key != "labels"},
        "warnings": journal.warnings,
        "gate": {
            **gate.as_dict(),
            "enforced": verified.gate_enforced,
            "min_accuracy_ratio": config.min_accuracy_ratio,
            "clear_margin": CLEAR_MARGIN,
            "inputs": list(comparison_sets),
        },
        "agreement": {
            **verified.agreement.as_dict(),
            "inputs": " + ".join(f"{len(images)} {name}" for name, images in comparison_sets.items()),
            "held_out_from_calibration": True if calibration is not None else None,
            "sets": [{"inputs": name, **value.as_dict()} for name, value in verified.set_agreements.items()],
        },
        "accuracy": verified.accuracy.as_dict() if verified.accuracy is not None else None,
        "calibration": (
            {**calibration.as_dict(), "checks": _checks_dict(prepared.calibration_checks)}
            if calibration is not None else None
        ),
        "quantization": (
            {"scheme": "per-channel" if source.quantization.per_channel else "per-tensor",
             "excluded_layers": source.quantization.excluded}
            if config.quant == "int8" else None
        ),
        "arm64": verified.arm64.as_dict() if verified.arm64 is not None else None,
        "sensitivity": [layer.as_dict() for layer in verified.sensitivity] if verified.sensitivity is not None else None,
        "sensitivity_inputs": verified.sensitivity_inputs,
        "sensitivity_on_real_images": verified.sensitivity is not None and prepared.real_held_out is not None,
        "delegation": exported.delegation.as_dict(),
        "sizes": {"pte_bytes": len(exported.pte), "fp32_weights_bytes": _fp32_bytes(source.network)},
        "android": (
            {
                "package": config.package,
                "class_name": config.class_name,
                "project": "android/",
                "aar": android.aar.name if android.aar else None,
                "maven": "maven/" if android.maven else None,
                "maven_coordinates": ":".join(packaged.settings.maven_coordinates),
                "executorch_api": android.executorch_api,
                "skipped": android.skipped,
            }
            if android is not None else None
        ),
        "host": hostinfo.describe() if config.quant == "fp16" else {},
        "timings": journal.seconds,
    }


def _checks_dict(checks: CalibrationChecks | None) -> dict[str, Any] | None:
    if checks is None:
        return None
    return {
        "census": checks.census.as_dict(),
        "coverage": checks.coverage.as_dict() if checks.coverage is not None else None,
    }


def write_reports(folder: Path, report: dict[str, Any]) -> None:
    (folder / "report.json").write_text(to_json(report), encoding="utf-8")
    (folder / "report.md").write_text(to_markdown(report), encoding="utf-8")


def _fp32_bytes(network: nn.Module) -> int:
    return sum(tensor.numel() * 4 for tensor in network.state_dict().values() if tensor.is_floating_point())


def _json_safe(value: Any) -> Any:
    # JSON has no infinities: an SQNR of +inf (identical outputs) is written as the string "inf".
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(_json_safe(report), ensure_ascii=False, indent=2) + "\n"


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def to_markdown(report: dict[str, Any]) -> str:
    sections = (
        _summary_lines, _agreement_lines, _accuracy_lines, _arm64_lines, _quantization_lines, _sensitivity_lines,
        _delegation_lines, _host_lines, _timing_lines,
    )
    lines = [f"# mnv3-sdk build report: {report['build']['name']}", ""]
    for section in sections:
        lines += section(report)
    return "\n".join(lines)


def _summary_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    gate = report.get("gate")
    if gate is not None:
        verdict = "PASSED" if gate["passed"] else ("FAILED" if gate.get("enforced", True) else "NOT MET (not enforced: random weights)")
        lines += [f"**Accuracy gate {verdict}**: {gate['reason']}.", ""]
    for warning in report.get("warnings", []):
        lines += [f"> **Warning:** {warning}", ""]
    metadata, sizes = report["metadata"], report["sizes"]
    model, model_input = metadata["model"], metadata["input"]
    return lines + [
        "| | |",
        "|---|---|",
        f"| architecture | {model['arch']} ×{model['width_mult']:g}, {model['num_classes']} classes |",
        f"| weights | {metadata['weights']['source']} (sha256 {metadata['weights']['sha256'][:16]}…) |",
        f"| quantization | {metadata['quant']} |",
        f"| input | {model_input['dtype']} {model_input['layout']} {model_input['shape']}, "
        f"crop fraction {model_input['crop_fraction']:g} |",
        f"| .pte size | {sizes['pte_bytes']:,} bytes ({sizes['pte_bytes'] / sizes['fp32_weights_bytes']:.2f}× the fp32 "
        f"weights' {sizes['fp32_weights_bytes']:,} bytes) |",
    ]


def _agreement_lines(report: dict[str, Any]) -> list[str]:
    agreement, gate = report["agreement"], report.get("gate")
    lines = ["", f"## Exported model vs eager PyTorch (fp32), on {agreement.get('inputs', 'verification inputs')}", ""]
    if agreement.get("held_out_from_calibration"):
        lines += ["None of these inputs was used for calibration.", ""]
    clear = gate.get("clear_margin") if gate is not None else None
    if clear is not None:
        lines += [f"Clear top-1: eager fp32's top-1 softmax probability beats its runner-up's by ≥ {clear:g}.", ""]
    lines += [
        "| inputs | samples | top-1 agreement | clear top-1 agreement (clear samples) | max abs error "
        "| max relative error | SQNR (dB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in [(None, agreement), *[(item["inputs"], item) for item in agreement.get("sets", [])]]:
        lines.append(
            f"| {name or 'all'} | {row['samples']} | {_number(row['top1_agreement'])} "
            f"| {_number(row.get('clear_top1_agreement', '–'))} ({row.get('clear_samples', '–')}) "
            f"| {_number(row['max_abs_error'])} | {_number(row['max_relative_error'])} | {_number(row['sqnr_db'], 2)} |"
        )
    return lines


def _accuracy_lines(report: dict[str, Any]) -> list[str]:
    accuracy = report.get("accuracy")
    if accuracy is None:
        return []
    return [
        "",
        f"## Accuracy on the validation folder ({accuracy['samples']} images)",
        "",
        "| | top-1 | top-5 |",
        "|---|---|---|",
        f"| eager fp32 | {accuracy['eager_top1']:.4f} | {accuracy['eager_top5']:.4f} |",
        f"| .pte ({report['metadata']['quant']}) | {accuracy['pte_top1']:.4f} | {accuracy['pte_top5']:.4f} |",
    ]


def _arm64_lines(report: dict[str, Any]) -> list[str]:
    return arm64_markdown(report.get("arm64"))


def _quantization_lines(report: dict[str, Any]) -> list[str]:
    calibration = report.get("calibration")
    if calibration is None:
        return []
    quantization = report["quantization"]
    excluded = ", ".join(f"`{name}`" for name in quantization["excluded_layers"]) or "none"
    lines = [
        "",
        "## int8 quantization",
        "",
        f"- calibration: {calibration['source']}, {calibration['samples']} images"
        f"{' (from cache)' if calibration['cached'] else ''}, {calibration['seconds']:.1f} s; "
        f"{calibration['skipped_files']} non-image files skipped",
        f"- weights: {quantization['scheme']} symmetric int8; layers kept in fp32: {excluded}",
    ]
    checks = calibration.get("checks")
    if checks is not None:
        census, coverage = checks["census"], checks["coverage"]
        lines.append(
            f"- calibration data: {census['distinct']} distinct images of {census['images']}, "
            f"{census['flat']} of one flat colour"
        )
        if coverage is not None:
            lines.append(
                f"- activation ranges against {coverage['held_out']}: calibration covers a median "
                f"{coverage['median_ratio']:.2f}× of their range per conv/linear layer (lowest "
                f"{coverage['lowest_ratio']:.2f}×); {len(coverage['collapsed_layers'])} of {coverage['layers']} layers "
                f"under {coverage['collapse_ratio']:g}×"
            )
    return lines


def _sensitivity_lines(report: dict[str, Any]) -> list[str]:
    sensitivity, gate = report.get("sensitivity"), report.get("gate")
    if not sensitivity:
        return []
    lines = [
        "",
        "## Per-layer sensitivity (SQNR of each int8 layer's output vs fp32, worst first)",
        "",
        f"Measured on {report['sensitivity_inputs']}.",
        "",
    ]
    if gate is not None and not gate["passed"] and report.get("sensitivity_on_real_images"):
        worst = ",".join(layer["layer"] for layer in sensitivity[:2])
        lines += [f"The gate failed: try keeping the worst layers in fp32 with `--quant-exclude {worst}`.", ""]
    lines += ["| layer | SQNR (dB) |", "|---|---|"]
    return lines + [f"| `{layer['layer']}` | {_number(layer['sqnr_db'], 2)} |" for layer in sensitivity]


def _delegation_lines(report: dict[str, Any]) -> list[str]:
    delegation = report["delegation"]
    calls = Counter((call["operator"], tuple(call["shape"])) for call in delegation["portable_calls"])
    return [
        "",
        "## Delegation to XNNPACK",
        "",
        f"{delegation['delegated_subgraphs']} delegated subgraph(s) holding "
        f"{sum(delegation['delegated_operators'].values())} operators. Left on portable kernels "
        "(output shape; a scalar costs a call, a tensor a scalar loop over it at every inference):",
        "",
    ] + ([
        f"- `{name}` {list(shape) if shape else 'scalar'} × {count}" for (name, shape), count in calls.items()
    ] or ["- nothing"])


def _host_lines(report: dict[str, Any]) -> list[str]:
    host = report.get("host")
    return ["", "## Host", "", *[f"- {key}: {value}" for key, value in host.items()]] if host else []


def _timing_lines(report: dict[str, Any]) -> list[str]:
    timings = report["timings"]
    return [
        "",
        "## Stage timings (s)",
        "",
        "| " + " | ".join(timings) + " |",
        "|" + "---|" * len(timings),
        "| " + " | ".join(f"{seconds:.2f}" for seconds in timings.values()) + " |",
        "",
    ]
