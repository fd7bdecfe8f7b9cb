"""The profile as a typed result, written as JSON (every operator), Markdown (the top of each
table) and a chart (the most expensive modules)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.profile.device import DeviceInfo
from mnv3_sdk.profile.events import INSTRUCTIONS
from mnv3_sdk.profile.tables import ModuleRow, OperatorRow, Tables, layers_left_in_fp32

# How many modules the closing summary names: the answer to "which layer costs what".
SUMMARY_MODULES = 3


@dataclass(frozen=True)
class ProfileResult:
    """What ``mnv3-sdk profile`` measured, typed; ``to_json`` writes it field by field."""

    model: str  # the .pte's file name
    quant: str  # from its metadata: fp32, fp16, int8
    threads: int
    runs: int  # measured inferences (the warm-up excluded)
    depth: int  # module path parts of the per-module table
    tables: Tables
    etdump: str  # where the raw ETDump was kept
    measured_at: str  # UTC, ISO 8601
    host: dict[str, str]  # machine, processor
    versions: dict[str, str]
    cpu: str = ""  # the qemu CPU model of an arm64 profile (its tables count instructions); "" on the host
    device: DeviceInfo | None = None  # profile --adb: the phone whose clock timed it; None on this host

    @property
    def where(self) -> str:
        """Whose numbers these are, for every label: this host, a device (emulated or not), or qemu."""
        if self.cpu:
            return f"qemu -cpu {self.cpu}"
        if self.device is not None:
            return f"device {self.device.serial}" + (" (an emulator: emulated times)" if self.device.emulator else "")
        return "this host"

    @property
    def top_modules(self) -> list[ModuleRow]:
        return self.tables.modules[:SUMMARY_MODULES]

    def summary(self) -> str:
        """The closing line: the most expensive modules and their share of the inference."""
        listed = ", ".join(f"{row.module} {row.share:.1%}" for row in self.top_modules)
        if self.tables.unit == INSTRUCTIONS:
            per = f"{self.tables.inference_median / 1e6:.2f} M guest instructions per inference on qemu -cpu {self.cpu}"
        else:
            per = f"{self.tables.inference_median / 1000:.2f} ms per inference"
            per += f" on {self.where}" if self.device is not None else ""
        return (f"most expensive modules of {self.model} ({per}, {self.threads} thread{'s' if self.threads > 1 else ''}): "
                f"{listed}")


def _amount(value: float, unit: str) -> str:
    if unit == INSTRUCTIONS:
        return f"{value:,.0f}"
    return _us(value)


def _column(unit: str) -> str:
    return "median instructions" if unit == INSTRUCTIONS else "median µs"


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _shape(shape: list[int]) -> str:
    return "×".join(map(str, shape)) if shape else "–"


def to_markdown(result: ProfileResult, top: int, summary: bool = True) -> str:
    """profile.md; the CLI prints it without the closing summary, which it prints last, plain."""
    tables = result.tables
    unit, column = tables.unit, _column(tables.unit)
    lines = [
        f"# mnv3-sdk profile: {result.model}", "",
        f"{result.quant}, {result.threads} thread(s), median of {result.runs} inferences after "
        f"{'two warm-ups' if result.cpu else 'one warm-up'}; "
        f"measured {result.measured_at} on "
        + (result.device.describe() if result.device else f"{result.host.get('processor', '?')} ({result.host.get('machine', '?')})")
        + ".", "",
        _whole_line(result), "",
        f"## Modules (top {min(top, len(tables.modules))} of {len(tables.modules)}, paths cut at {result.depth} parts)", "",
        f"| module | {column} | share | operators | precision |", "|---|---|---|---|---|",
    ]
    lines += [f"| `{row.module}` | {_amount(row.median, unit)} | {row.share:.1%} | {row.operators} | "
              f"{', '.join(row.precisions) or '–'} |" for row in tables.modules[:top]]
    slowest = sorted(tables.operators, key=lambda row: row.median, reverse=True)[:top]
    lines += ["", f"## Operators (top {len(slowest)} of {len(tables.operators)})", "",
              f"| # | operator | module | aten | output shape | precision | {column} | share |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [_operator_line(row, unit) for row in slowest]
    lines += _fp32_lines(result)
    lines += ["", "## Alignment", "", *[f"- {line}" for line in tables.alignment], ""]
    return "\n".join(lines + ([f"**{result.summary()}**", ""] if summary else []))


def _whole_line(result: ProfileResult) -> str:
    tables = result.tables
    coverage = tables.operators_median / tables.inference_median
    if tables.unit == INSTRUCTIONS:
        # Instructions, not time: under emulation time ranks operators differently from real cores.
        return (f"Inference (one `Module::execute`): median {_amount(tables.inference_median, INSTRUCTIONS)} guest "
                f"instructions on qemu-aarch64 -cpu {result.cpu}, counted by mnv3-sdk's qemu plugin. The operators "
                f"below account for {coverage:.1%} of them; the rest is the calls around them. These are "
                "instruction counts, not times.")
    if result.device is not None:
        # The phone's own clock, read by the event tracer in mnv3-sdk's runner there.
        emulated = (" This device reports itself as an emulator (ro.kernel.qemu or ro.boot.qemu): these times are "
                    "emulated and say nothing about a phone's." if result.device.emulator else "")
        return (f"Inference (`Method::execute`) on device {result.device.serial}: median {_us(tables.inference_median)} µs, "
                f"timed by the device's own clock in mnv3-sdk's arm64 runner. The operators below account for "
                f"{coverage:.1%} of it; the rest is the calls around them. XNNPACK's times are at 1 µs resolution."
                + emulated)
    return (f"Inference (`Method::execute`): median {_us(tables.inference_median)} µs. The operators below account "
            f"for {coverage:.1%} of it; the rest is the calls around them. Times are XNNPACK's, at 1 µs resolution.")


def _operator_line(row: OperatorRow, unit: str) -> str:
    where = row.operator if row.delegated else f"{row.operator} (portable)"
    return (f"| {row.index} | {where} | `{row.module}` | {row.aten or '–'} | {_shape(row.shape)} | "
            f"{row.precision or '–'} | {_amount(row.median, unit)} | {row.share:.1%} |")


def _fp32_lines(result: ProfileResult) -> list[str]:
    if result.quant != "int8":
        return []
    left = layers_left_in_fp32(result.tables.operators)
    if not left:
        return ["", "Every convolution and fully connected layer ran in int8."]
    unit = result.tables.unit
    lines = ["", "## Layers left in fp32", "", f"| module | {_column(unit)} | share |", "|---|---|---|"]
    return lines + [f"| `{module}` | {_amount(median, unit)} | {share:.1%} |" for module, median, share in left]


def write_plot(result: ProfileResult, path: Path, top: int) -> None:
    """Horizontal bars: the most expensive modules' share of the inference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.tables.modules[:top][::-1]
    figure, axes = plt.subplots(figsize=(7.5, 1.2 + 0.32 * len(rows)), dpi=100)
    axes.barh([row.module for row in rows], [row.share * 100 for row in rows], color="#4c72b0")
    for position, row in enumerate(rows):
        label = f" {row.median / 1e6:.2f} M instr." if result.tables.unit == INSTRUCTIONS else f" {row.median / 1000:.2f} ms"
        axes.text(row.share * 100, position, label, va="center", fontsize=7)
    what = "guest instructions" if result.tables.unit == INSTRUCTIONS else "time"
    axes.set_xlabel(f"share of the inference's {what} (%)")
    where = f", {result.where}" if result.cpu or result.device else ""
    axes.set_title(f"mnv3-sdk profile: {result.model}{where}, {result.threads} thread(s), median of {result.runs}",
                   fontsize=9)
    axes.tick_params(axis="y", labelsize=7)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
