"""Median time of the generated Kotlin preprocessing (crop + antialiased resize + RGB bytes) on the JVM.

Runs the same ImagePreprocessing.kt the AAR ships, on 1920×1080 and 4000×3000 ARGB frames resized
to 224×224, after a warm-up, and prints the median over the repeats next to nothing else: compare
it with the host latency of the small int8 model (benchmarks/host_latency.py).

    .venv/bin/python benchmarks/kotlin_preprocess.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kotlin_jvm import JvmHarness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        harness = JvmHarness(Path(folder))
        print(f"{time.strftime('%Y-%m-%d')}: Kotlin ImagePreprocessing on the JVM, median of {args.repeats} runs")
        for width, height in ((1920, 1080), (4000, 3000)):
            median = float(harness.run("time", str(width), str(height), "224", str(args.repeats)).strip())
            print(f"{width}×{height} → 224×224: {median:.2f} ms")


if __name__ == "__main__":
    main()
