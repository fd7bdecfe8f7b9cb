"""Latency statistics for the benchmark harness: robust summaries of per-iteration times."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, Hyndman & Fan type 7)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def trimmed_mean(samples: list[float], cut: float = 0.1) -> float:
    """Mean of the middle samples after dropping floor(cut × n) from each end (80% kept by default)."""
    ordered = sorted(samples)
    drop = math.floor(len(ordered) * cut)
    kept = ordered[drop:len(ordered) - drop] or ordered
    return sum(kept) / len(kept)


@dataclass(frozen=True)
class LatencySummary:
    iterations: int
    seconds: float  # time spent in the measured iterations
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float  # sample standard deviation
    trimmed_mean_ms: float  # middle 80%

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(samples_ms: list[float]) -> LatencySummary:
    if not samples_ms:
        raise ValueError("no samples to summarize")
    count = len(samples_ms)
    mean = sum(samples_ms) / count
    variance = sum((value - mean) ** 2 for value in samples_ms) / (count - 1) if count > 1 else 0.0
    return LatencySummary(
        iterations=count,
        seconds=sum(samples_ms) / 1000.0,
        min_ms=min(samples_ms),
        p50_ms=percentile(samples_ms, 0.5),
        p90_ms=percentile(samples_ms, 0.9),
        p99_ms=percentile(samples_ms, 0.99),
        mean_ms=mean,
        std_ms=math.sqrt(variance),
        trimmed_mean_ms=trimmed_mean(samples_ms),
    )
