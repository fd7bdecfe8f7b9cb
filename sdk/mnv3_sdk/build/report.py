"""The build report: JSON for machines, Markdown for people."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any


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
    build = report["build"]
    lines = [f"# mnv3-sdk build report: {build['name']}", ""]
    gate = report.get("gate")
    if gate is not None:
        verdict = "PASSED" if gate["passed"] else ("FAILED" if gate.get("enforced", True) else "NOT MET (not enforced: random weights)")
        lines += [f"**Accuracy gate {verdict}**: {gate['reason']}.", ""]
    for warning in report.get("warnings", []):
        lines += [f"> **Warning:** {warning}", ""]
    model = report["metadata"]["model"]
    lines += [
        "| | |",
        "|---|---|",
        f"| architecture | {model['arch']} ×{model['width_mult']:g}, {model['num_classes']} classes |",
        f"| weights | {report['metadata']['weights']['source']} (sha256 {report['metadata']['weights']['sha256'][:16]}…) |",
        f"| quantization | {report['metadata']['quant']} |",
        f"| input | {report['metadata']['input']['dtype']} {report['metadata']['input']['layout']} "
        f"{report['metadata']['input']['shape']}, crop fraction {report['metadata']['input']['crop_fraction']:g} |",
        f"| .pte size | {report['sizes']['pte_bytes']:,} bytes ({report['sizes']['pte_bytes'] / report['sizes']['fp32_weights_bytes']:.2f}× the fp32 weights' {report['sizes']['fp32_weights_bytes']:,} bytes) |",
        "",
        f"## Exported model vs eager PyTorch (fp32), on {report['agreement'].get('inputs', 'verification inputs')}",
        "",
    ]
    agreement = report["agreement"]
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
    accuracy = report.get("accuracy")
    if accuracy is not None:
        lines += [
            "",
            f"## Accuracy on the validation folder ({accuracy['samples']} images)",
            "",
            "| | top-1 | top-5 |",
            "|---|---|---|",
            f"| eager fp32 | {accuracy['eager_top1']:.4f} | {accuracy['eager_top5']:.4f} |",
            f"| .pte ({report['metadata']['quant']}) | {accuracy['pte_top1']:.4f} | {accuracy['pte_top5']:.4f} |",
        ]
    calibration = report.get("calibration")
    if calibration is not None:
        quantization = report["quantization"]
        excluded = ", ".join(f"`{name}`" for name in quantization["excluded_layers"]) or "none"
        lines += [
            "",
            "## int8 quantization",
            "",
            f"- calibration: {calibration['source']}, {calibration['samples']} images"
            f"{' (from cache)' if calibration['cached'] else ''}, {calibration['seconds']:.1f} s; "
            f"{calibration['skipped_files']} non-image files skipped",
            f"- weights: {quantization['scheme']} symmetric int8; layers kept in fp32: {excluded}",
        ]
    sensitivity = report.get("sensitivity")
    if sensitivity:
        lines += [
            "",
            "## Per-layer sensitivity (SQNR of each int8 layer's output vs fp32, worst first)",
            "",
        ]
        if gate is not None and not gate["passed"]:
            worst = ",".join(layer["layer"] for layer in sensitivity[:2])
            lines += [f"The gate failed: try keeping the worst layers in fp32 with `--quant-exclude {worst}`.", ""]
        lines += ["| layer | SQNR (dB) |", "|---|---|"]
        lines += [f"| `{layer['layer']}` | {_number(layer['sqnr_db'], 2)} |" for layer in sensitivity]
    delegation = report["delegation"]
    lines += [
        "",
        "## Delegation to XNNPACK",
        "",
        f"{delegation['delegated_subgraphs']} delegated subgraph(s) holding "
        f"{sum(delegation['delegated_operators'].values())} operators. Left on portable kernels "
        "(output shape; a scalar costs a call, a tensor a scalar loop over it at every inference):",
        "",
    ]
    calls = Counter((call["operator"], tuple(call["shape"])) for call in delegation["portable_calls"])
    lines += [
        f"- `{name}` {list(shape) if shape else 'scalar'} × {count}" for (name, shape), count in calls.items()
    ] or ["- nothing"]
    host = report.get("host")
    if host:
        lines += ["", "## Host", "", *[f"- {key}: {value}" for key, value in host.items()]]
    lines += [
        "",
        "## Stage timings (s)",
        "",
        "| " + " | ".join(report["timings"]) + " |",
        "|" + "---|" * len(report["timings"]),
        "| " + " | ".join(f"{seconds:.2f}" for seconds in report["timings"].values()) + " |",
        "",
    ]
    return "\n".join(lines)
