"""The profile as a typed result, written as JSON (every operator), Markdown (the top of each
table) and a chart (the most expensive modules)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

    @property
    def top_modules(self) -> list[ModuleRow]:
        return self.tables.modules[:SUMMARY_MODULES]

    def summary(self) -> str:
        """The closing line: the most expensive modules and their share of the inference."""
        listed = ", ".join(f"{row.module} {row.share:.1%}" for row in self.top_modules)
        return (f"most expensive modules of {self.model} ({self.tables.inference_median_us / 1000:.2f} ms per "
                f"inference, {self.threads} thread{'s' if self.threads > 1 else ''}): {listed}")


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _shape(shape: list[int]) -> str:
    return "×".join(map(str, shape)) if shape else "–"


def to_markdown(result: ProfileResult, top: int, summary: bool = True) -> str:
    """profile.md; the CLI prints it without the closing summary, which it prints last, plain."""
    tables = result.tables
    coverage = tables.operators_median_us / tables.inference_median_us
    lines = [
        f"# mnv3-sdk profile: {result.model}", "",
        f"{result.quant}, {result.threads} thread(s), median of {result.runs} inferences after one warm-up; "
        f"measured {result.measured_at} on {result.host.get('processor', '?')} ({result.host.get('machine', '?')}).", "",
        f"Inference (`Method::execute`): median {_us(tables.inference_median_us)} µs. The operators below account "
        f"for {coverage:.1%} of it; the rest is the calls around them. Times are XNNPACK's, at 1 µs resolution.", "",
        f"## Modules (top {min(top, len(tables.modules))} of {len(tables.modules)}, paths cut at {result.depth} parts)", "",
        "| module | median µs | share | operators | precision |", "|---|---|---|---|---|",
    ]
    lines += [f"| `{row.module}` | {_us(row.median_us)} | {row.share:.1%} | {row.operators} | "
              f"{', '.join(row.precisions) or '–'} |" for row in tables.modules[:top]]
    slowest = sorted(tables.operators, key=lambda row: row.median_us, reverse=True)[:top]
    lines += ["", f"## Operators (top {len(slowest)} of {len(tables.operators)})", "",
              "| # | operator | module | aten | output shape | precision | median µs | share |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [_operator_line(row) for row in slowest]
    lines += _fp32_lines(result)
    lines += ["", "## Alignment", "", *[f"- {line}" for line in tables.alignment], ""]
    return "\n".join(lines + ([f"**{result.summary()}**", ""] if summary else []))


def _operator_line(row: OperatorRow) -> str:
    where = row.operator if row.delegated else f"{row.operator} (portable)"
    return (f"| {row.index} | {where} | `{row.module}` | {row.aten or '–'} | {_shape(row.shape)} | "
            f"{row.precision or '–'} | {_us(row.median_us)} | {row.share:.1%} |")


def _fp32_lines(result: ProfileResult) -> list[str]:
    if result.quant != "int8":
        return []
    left = layers_left_in_fp32(result.tables.operators)
    if not left:
        return ["", "Every convolution and fully connected layer ran in int8."]
    lines = ["", "## Layers left in fp32", "", "| module | median µs | share |", "|---|---|---|"]
    return lines + [f"| `{module}` | {_us(median)} | {share:.1%} |" for module, median, share in left]


def write_plot(result: ProfileResult, path: Path, top: int) -> None:
    """Horizontal bars: the most expensive modules' share of the inference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.tables.modules[:top][::-1]
    figure, axes = plt.subplots(figsize=(7.5, 1.2 + 0.32 * len(rows)), dpi=100)
    axes.barh([row.module for row in rows], [row.share * 100 for row in rows], color="#4c72b0")
    for position, row in enumerate(rows):
        axes.text(row.share * 100, position, f" {row.median_us / 1000:.2f} ms", va="center", fontsize=7)
    axes.set_xlabel("share of the inference (%)")
    axes.set_title(f"mnv3-sdk profile: {result.model}, {result.threads} thread(s), median of {result.runs}", fontsize=9)
    axes.tick_params(axis="y", labelsize=7)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
