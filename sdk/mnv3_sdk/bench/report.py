"""Benchmark reports: JSON with every raw time, a Markdown table, a PNG plot, baseline regressions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mnv3_sdk.bench.host import CaseResult
from mnv3_sdk.bench.instructions import InstructionCount
from mnv3_sdk.bench.instructions import markdown_lines as instruction_lines
from mnv3_sdk.bench.instructions import ratios as instruction_ratios
from mnv3_sdk.bench.stats import summarize
from mnv3_sdk.errors import SdkError


def case_label(case: dict[str, Any]) -> str:
    return f"{case['model']} · {case['engine']} · {case['threads']}t · {case['device']}"


def build_report(cases: list[CaseResult], context: dict[str, Any],
                 counts: Sequence[InstructionCount] = ()) -> dict[str, Any]:
    """The JSON document: context (command, versions, devices, settings), every timed case and every
    emulated instruction count (bench --arch arm64)."""
    entries = []
    for case in cases:
        entry = case.as_dict()
        entry["summary"] = summarize(case.samples_ms).as_dict() if case.samples_ms else None
        if case.preprocessing_ms:
            entry["preprocessing_summary"] = summarize(case.preprocessing_ms).as_dict()
            totals = [pre + forward for pre, forward in zip(case.preprocessing_ms, case.samples_ms)]
            entry["end_to_end_summary"] = summarize(totals).as_dict()
        entries.append(entry)
    reference = next((entry["summary"]["p50_ms"] for entry in entries if entry["summary"]), None)
    for entry in entries:
        entry["ratio_to_first"] = (entry["summary"]["p50_ms"] / reference) if entry["summary"] and reference else None
    counted = [{**count.as_dict(), "ratio_to_first": ratio} for count, ratio in zip(counts, instruction_ratios(counts))]
    return {**context, "cases": entries, "instruction_counts": counted}


def frame_kind(case: dict[str, Any]) -> str:
    """What an end-to-end case classified, for the table: "ARGB_8888" or "YUV_420_888, rotated 90°"."""
    if case.get("frame_format") == "yuv":
        return f"YUV_420_888, rotated {case.get('frame_rotation') or 0}°"
    return "ARGB_8888"


def to_markdown(report: dict[str, Any], counts: Sequence[InstructionCount] = ()) -> str:
    lines = ["# mnv3-sdk benchmark", "", f"`{report['command']}`", ""]
    if counts:
        lines += instruction_lines(counts)
        for device in report.get("devices", []):
            lines += ["", f"**{device['serial']}**: " + ", ".join(
                f"{key} {value}" for key, value in device.items() if key != "serial")]
        return "\n".join(lines) + "\n"
    lines += [
        "| model | engine | threads | device | load ms | first ms | p50 ms | p90 ms | p99 ms | trimmed mean ms "
        "| std ms | iterations | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def number(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    for case in report["cases"]:
        summary = case["summary"]
        if summary is None:
            continue
        lines.append(
            f"| {case['model']} | {case['engine']} | {case['threads']} | {case['device']} | {number(case['load_ms'])} "
            f"| {number(case['first_inference_ms'])} | {summary['p50_ms']:.2f} | {summary['p90_ms']:.2f} "
            f"| {summary['p99_ms']:.2f} | {summary['trimmed_mean_ms']:.2f} | {summary['std_ms']:.2f} "
            f"| {summary['iterations']} | {case['ratio_to_first']:.2f}× |"
        )
    end_to_end = [case for case in report["cases"] if case.get("preprocessing_summary")]
    if end_to_end:
        lines += ["", "End to end (each iteration: preprocessing the frame, then the forward pass above):", "",
                  "| model | threads | device | frame | frames | preprocessing p50 ms | inference p50 ms | total p50 ms "
                  "| total p90 ms |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for case in end_to_end:
            total = case["end_to_end_summary"]
            lines.append(
                f"| {case['model']} | {case['threads']} | {case['device']} | {case['frame']} | {frame_kind(case)} "
                f"| {case['preprocessing_summary']['p50_ms']:.2f} | {case['summary']['p50_ms']:.2f} "
                f"| {total['p50_ms']:.2f} | {total['p90_ms']:.2f} |"
            )
    for device in report.get("devices", []):
        lines += ["", f"**{device.get('serial', 'host')}**: " + ", ".join(
            f"{key} {value}" for key, value in device.items() if key != "serial")]
    for failure in report.get("failures", []):
        lines += ["", f"> **Failed** on {failure['device']} during {failure['step']}: {failure['error']}"]
    lines += ["", "Ratios compare each case's p50 with the first case's. Times are wall-clock per inference."]
    if any(case["device"] != "host" for case in report["cases"]) or report.get("adb"):
        lines += [f"On-device figures come from the device named in each row (adb server {report['adb_server']})."
                  if report.get("adb_server") else "On-device figures come from the device named in each row."]
    else:
        lines += ["Host figures: on-device latency needs a real device (`mnv3-sdk bench --adb`)."]
    return "\n".join(lines) + "\n"


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [case for case in report["cases"] if case["samples_ms"]]
    figure, axes = plt.subplots(figsize=(max(6.0, 1.4 * len(cases) + 2), 4.5), dpi=100)
    axes.boxplot([case["samples_ms"] for case in cases], showfliers=True, whis=(1, 99))
    axes.set_xticks(range(1, len(cases) + 1))
    axes.set_xticklabels([f"{c['model']}\n{c['engine']} {c['threads']}t\n{c['device']}" for c in cases], fontsize=7)
    axes.set_ylabel("latency per inference (ms)")
    axes.set_title("mnv3-sdk bench: latency distributions (whiskers p1–p99)")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)


@dataclass(frozen=True)
class Regression:
    label: str
    old: float
    new: float
    metric: str = "p50 ms"  # or "instructions per inference" (bench --arch arm64)

    @property
    def percent(self) -> float:
        return (self.new / self.old - 1.0) * 100.0

    def describe(self) -> str:
        if self.metric == "p50 ms":
            return f"{self.label}: p50 {self.old:.2f} → {self.new:.2f} ms (+{self.percent:.1f}%)"
        return f"{self.label}: {self.metric} {self.old:,.0f} → {self.new:,.0f} (+{self.percent:.2f}%)"


def regressions(report: dict[str, Any], baseline_path: Path, max_regression_percent: float) -> list[Regression]:
    """Cases whose p50 grew by more than the allowed percentage on the same device, model, engine,
    threads; and emulated instruction counts that grew so on the same model and CPU model."""
    try:
        baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
        old_values = {case_label(case): case["summary"]["p50_ms"] for case in baseline["cases"] if case.get("summary")}
        old_values.update({case_label(count): count["instructions_per_inference"]
                           for count in baseline.get("instruction_counts", [])})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SdkError(f"cannot read the baseline {baseline_path}: {error}") from None
    measured = [(case_label(case), case["summary"]["p50_ms"], "p50 ms") for case in report["cases"] if case["summary"]]
    measured += [(case_label(count), count["instructions_per_inference"], "instructions per inference")
                 for count in report.get("instruction_counts", [])]
    found = []
    for label, value, metric in measured:
        if label in old_values:
            regression = Regression(label, old_values[label], value, metric)
            if regression.percent > max_regression_percent:
                found.append(regression)
    return found
