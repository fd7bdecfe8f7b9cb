"""What the host-latency benchmarks share: interleaved timing, one process per thread count, the host line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Times = dict[str, list[float]]


@dataclass(frozen=True)
class Measured:
    rounds: int
    per_round: int
    by_threads: dict[int, Times]  # thread count → case → milliseconds


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type for a count: a value below ``minimum`` (or not a number) is a usage error
    in one line, not a traceback from an empty list of timings later."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value
    return parse


def measure_per_thread_count(
    description: str, script: str, build: Callable[[Path], None],
    measure: Callable[[int, int, int, Path], Times], rounds: int = 15,
) -> Measured | None:
    """The command line every latency benchmark shares: build the models into a temporary folder
    with ``build``, then run ``script --worker N`` (which calls ``measure`` and prints JSON) for 1
    and 2 threads. In a worker process, prints its measurement and returns None."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=at_least(1), default=rounds)
    parser.add_argument("--per-round", type=at_least(1), default=10)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--models", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.rounds, args.per_round, args.models)))
        return None
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder))
        results = per_thread_count(script, Path(folder), args.rounds, args.per_round)
    return Measured(args.rounds, args.per_round, results)


def interleaved(cases: dict[str, Callable[[], object]], rounds: int, per_round: int) -> dict[str, list[float]]:
    """Milliseconds per call of every case, after 5 warm-up calls each, in interleaved rounds so
    that machine drift hits every case alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for run in cases.values():
        for _ in range(5):
            run()
    for _ in range(rounds):
        for name, run in cases.items():
            for _ in range(per_round):
                started = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - started) * 1000)
    return times


def per_thread_count(script: str, models: Path, rounds: int, per_round: int) -> dict[int, dict[str, list[float]]]:
    """Run ``script --worker N`` for 1 and 2 threads, one process each: ExecuTorch's thread pool
    is sized once per process (resizing it under a loaded XNNPACK program crashes)."""
    results = {}
    for threads in (1, 2):
        worker = subprocess.run(
            [sys.executable, script, "--worker", str(threads), "--models", str(models),
             "--rounds", str(rounds), "--per-round", str(per_round)],
            capture_output=True, text=True,
        )
        if worker.returncode != 0:
            raise SystemExit(f"the {threads}-thread worker failed:\n{worker.stderr}")
        results[threads] = json.loads(worker.stdout.strip().splitlines()[-1])
    return results


def host_line() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"host: {cpu}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}"
