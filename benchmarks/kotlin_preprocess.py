"""The generated Kotlin preprocessing on the JVM, today's beside the previous single-stage one.

Compiles today's ImagePreprocessing.kt (rendered from the templates, as the AAR ships it) with
benchmarks/kotlin/PreviousPreprocessing.kt (the implementation before the two-stage resize) and
times both on the same random ARGB frames resized to 224×224, interleaved after a warm-up, from
an IntArray and the way classify(bitmap) reads a bitmap (see benchmarks/kotlin/PreprocessTiming.kt),
then prints the medians and the speed-up. Each frame size runs in --runs fresh JVMs, because this
shared 2-vCPU host drifts from one JVM to the next (the same code's speed-up at 1920×1080 swung
from 2.7× to 3.9× between single runs): the table gives, per case, the median over the JVMs of
each JVM's median, and the speed-up as the median [range] of the per-JVM speed-ups, each of which
compares two implementations timed in the same JVM. Target: at least 4× at 1920×1080 and
4000×3000.

    .venv/bin/python benchmarks/kotlin_preprocess.py [--repeats 41] [--warmups 300] [--runs 5]
        [--frames 1920x1080,4000x3000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from kotlin_jvm import JvmHarness  # noqa: E402
from timing import at_least  # noqa: E402

FRAMES = ((640, 480), (1280, 720), (1920, 1080), (4000, 3000))
SOURCES = {"array": "IntArray", "bitmap": "bitmap (getPixels)"}


def frame_sizes(text: str) -> list[tuple[int, int]]:
    try:
        sizes = [tuple(int(value) for value in frame.split("x")) for frame in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(len(size) != 2 or min(size) < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT[,WIDTHxHEIGHT…], got {text!r}")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=at_least(1), default=41)
    # The JIT compiles the hot loops after some hundreds of calls; timing earlier measures the
    # interpreter and C1 code of whichever implementation was luckier (10 warm-ups gave 1.5× to 2.3×
    # at 1920×1080 for the same code). An app classifying a gallery or a stream runs warm.
    parser.add_argument("--warmups", type=at_least(0), default=300)
    parser.add_argument("--runs", type=at_least(1), default=5)
    parser.add_argument("--frames", type=frame_sizes, default=list(FRAMES),
                        help="comma-separated WIDTHxHEIGHT (default: all four sizes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        extra = (HERE / "kotlin" / "PreviousPreprocessing.kt", HERE / "kotlin" / "PreprocessTiming.kt")
        harness = JvmHarness(Path(folder), extra_sources=extra)
        print(f"{time.strftime('%Y-%m-%d')}: Kotlin preprocessing on the JVM, → 224×224; per JVM the median of "
              f"{args.repeats} interleaved runs after {args.warmups} warm-up calls of each; {args.runs} JVMs per frame "
              "size; today's works in bands on every core")
        print("| frame | from | today ms | previous ms | speed-up, median [range] over JVMs | same bytes |")
        print("|---|---|---|---|---|---|")
        for width, height in args.frames:
            runs = []
            for _ in range(args.runs):
                output = harness.run(str(width), str(height), "224", str(args.repeats), str(args.warmups),
                                     main="com.example.mnv3.previous.PreprocessTimingKt")
                runs.append(dict(item.split("=") for item in output.split()))
            for source in ("array", "bitmap"):
                today = [float(run[f"{source}_today"]) for run in runs]
                previous = [float(run[f"{source}_previous"]) for run in runs]
                speedups = [p / t for p, t in zip(previous, today)]
                identical = {run["identical"] for run in runs}
                print(f"| {width}×{height} | {SOURCES[source]} | {statistics.median(today):.2f} "
                      f"| {statistics.median(previous):.2f} | {statistics.median(speedups):.1f}× "
                      f"[{min(speedups):.1f}–{max(speedups):.1f}] | {'/'.join(sorted(identical))} |")

if __name__ == "__main__":
    main()
