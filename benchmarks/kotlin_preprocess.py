"""The generated Kotlin preprocessing on the JVM, today's beside the previous single-stage one.

Compiles today's ImagePreprocessing.kt (rendered from the templates, as the AAR ships it) with
benchmarks/kotlin/PreviousPreprocessing.kt (the implementation before the two-stage resize) and
times both on the same random ARGB frames resized to 224×224, interleaved after a warm-up, from
an IntArray and the way classify(bitmap) reads a bitmap (see benchmarks/kotlin/PreprocessTiming.kt),
then prints the medians and the speed-up. Target: at least 4× at 1920×1080 and 4000×3000.

    .venv/bin/python benchmarks/kotlin_preprocess.py [--repeats 41] [--warmups 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from kotlin_jvm import JvmHarness  # noqa: E402

FRAMES = ((640, 480), (1280, 720), (1920, 1080), (4000, 3000))
SOURCES = {"array": "IntArray", "bitmap": "bitmap (getPixels)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    # The JIT compiles the hot loops after some hundreds of calls; timing earlier measures the
    # interpreter and C1 code of whichever implementation was luckier (10 warm-ups gave 1.5× to 2.3×
    # at 1920×1080 for the same code). An app classifying a gallery or a stream runs warm.
    parser.add_argument("--warmups", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        extra = (HERE / "kotlin" / "PreviousPreprocessing.kt", HERE / "kotlin" / "PreprocessTiming.kt")
        harness = JvmHarness(Path(folder), extra_sources=extra)
        print(f"{time.strftime('%Y-%m-%d')}: Kotlin preprocessing on the JVM, → 224×224, median of "
              f"{args.repeats} interleaved runs after {args.warmups} warm-up calls of each; today's works in bands "
              "of rows on every core")
        print("| frame | from | today ms | previous ms | speed-up | same bytes |")
        print("|---|---|---|---|---|---|")
        for width, height in FRAMES:
            output = harness.run(str(width), str(height), "224", str(args.repeats), str(args.warmups),
                                 main="com.example.mnv3.previous.PreprocessTimingKt")
            fields = dict(item.split("=") for item in output.split())
            for source in ("array", "bitmap"):
                today, previous = float(fields[f"{source}_today"]), float(fields[f"{source}_previous"])
                print(f"| {width}×{height} | {SOURCES[source]} | {today:.2f} | {previous:.2f} "
                      f"| {previous / today:.1f}× | {fields['identical']} |")

if __name__ == "__main__":
    main()
