"""Camera frames (YUV_420_888) → 224×224 on the JVM, beside the bitmap path for the same frame size.

Compiles the generated ImagePreprocessing.kt and CameraFrames.kt (rendered from the templates, as
the AAR ships them) with benchmarks/kotlin/CameraTiming.kt, and times both paths on random
frames, interleaved after a warm-up: a back camera's frame (direct buffers, NV21-like chroma,
padded rows, rotated 90°) against the same size of ARGB read as classify(bitmap) reads a Bitmap.
Each size runs in --runs fresh JVMs (this shared 2-vCPU host drifts by ±30% from one JVM to the
next); the table gives the median of their medians and the range. Targets (issue 12): 640×480
within 1.0 ms and 1280×720 within 2.0 ms. Both paths work in arrays kept from call to call, as
the classifier's do; the heap bytes each call allocates (by every thread: the common pool runs
bands and chroma) are given with them, and beside them the bytes with new arrays each call
(`ImagePreprocessing.preprocess`, what every classify allocated before issue 23 item 11). Bytes
do not drift with the host's load; the largest of the JVMs is given.

    .venv/bin/python benchmarks/kotlin_camera.py [--repeats 101] [--warmups 300] [--runs 5]
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

FRAMES = {(640, 480): 1.0, (1280, 720): 2.0, (1920, 1080): None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=at_least(1), default=101)
    # As in kotlin_preprocess.py: after a few hundred calls the JIT has compiled the hot loops; a
    # camera stream runs warm after its first seconds.
    parser.add_argument("--warmups", type=at_least(0), default=300)
    parser.add_argument("--runs", type=at_least(1), default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        harness = JvmHarness(Path(folder), extra_sources=(HERE / "kotlin" / "CameraTiming.kt",))
        print(f"{time.strftime('%Y-%m-%d')}: camera frames → 224×224 on the JVM; per JVM the median of "
              f"{args.repeats} interleaved calls after {args.warmups} warm-up calls of each; median [range] over "
              f"{args.runs} JVMs")
        print("| frame | YUV_420_888 ms | target ms | bitmap path ms | YUV bytes/call (new arrays each call) "
              "| bitmap bytes/call (new arrays each call) |")
        print("|---|---|---|---|---|---|")
        for (width, height), target in FRAMES.items():
            runs: dict[str, list[float]] = {}
            for _ in range(args.runs):
                output = harness.run(str(width), str(height), "224", str(args.repeats), str(args.warmups),
                                     main="com.example.mnv3.camera.CameraTimingKt")
                for key, value in (item.split("=") for item in output.split()):
                    runs.setdefault(key, []).append(float(value))
            yuv, bitmap = statistics.median(runs["yuv"]), statistics.median(runs["bitmap"])
            verdict = "—" if target is None else f"{target:.1f} ({'met' if yuv <= target else 'NOT met'})"
            print(f"| {width}×{height} | {yuv:.2f} [{min(runs['yuv']):.2f}–{max(runs['yuv']):.2f}] | {verdict} "
                  f"| {bitmap:.2f} [{min(runs['bitmap']):.2f}–{max(runs['bitmap']):.2f}] "
                  f"| {max(runs['yuv_bytes']):,.0f} ({max(runs['yuv_new_bytes']):,.0f}) "
                  f"| {max(runs['bitmap_bytes']):,.0f} ({max(runs['bitmap_new_bytes']):,.0f}) |")


if __name__ == "__main__":
    main()
