"""The demo app's BenchmarkActivity, played on the host for an emulated phone (see phone.py).

Measures what BenchmarkActivity measures (templates/demo/src/main/kotlin/BenchmarkActivity.kt.j2):
load, first inference, iterations, and with a frame size each iteration's preprocessing of such a
frame beside its forward pass, through the Python reference of the Kotlin pipeline: ARGB pixels
(``frame_format`` argb, the default) or a YUV_420_888 frame laid out as the activity's
``syntheticYuvFrame`` lays it out (``frame_format`` yuv: unpadded rows, NV21 chroma in one buffer
that both chroma planes view with pixel stride 2, rotated 90°). Refuses the extras the activity
refuses, with the same messages, as a failed result. Writes the same JSON where the app writes it
(atomically, as BenchmarkResult.write does), then its logcat line.

``spec["app_lacks"]`` (optional) lists extras the installed APK predates, e.g. ``["frame_format"]``:
such an app ignores them, as any app ignores Intent extras it does not read, and writes no field
for them, as an APK built from older templates does.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

YUV_ROTATION = 90  # BenchmarkActivity.YUV_ROTATION: a back camera held in portrait


def yuv_frame(width: int, height: int, rng):
    """BenchmarkActivity.syntheticYuvFrame: V and U are views one byte apart of one NV21 chroma
    buffer, each ending right after its last sample."""
    from mnv3_sdk.imaging.camera import Plane, Yuv420Frame

    chroma_row_stride = (width + 1) // 2 * 2
    chroma = rng.integers(0, 256, chroma_row_stride * ((height + 1) // 2), dtype="uint8").tobytes()
    luma = rng.integers(0, 256, width * height, dtype="uint8").tobytes()
    return Yuv420Frame(width, height, y=Plane(luma, width, 1), u=Plane(chroma[1:], chroma_row_stride, 2),
                       v=Plane(chroma[:-1], chroma_row_stride, 2), rotation=YUV_ROTATION)


def benchmark(model: Path, warmup: int, iterations: int, threads: int, device: str,
              frame: tuple[int, int] | None, frame_format: str | None) -> dict:
    import numpy as np
    import torch
    from executorch.runtime import Runtime

    from mnv3_sdk.imaging.camera import preprocess_yuv
    from mnv3_sdk.imaging.model_input import to_model_input
    from mnv3_sdk.imaging.preprocess import preprocess_rgb

    started = time.perf_counter()
    program = Runtime.get().load_program(model)
    method = program.load_method("forward")
    load_ms = (time.perf_counter() - started) * 1000
    metadata = json.loads(bytes(program.load_method("metadata").execute([])[0].numpy().tobytes()))
    spec = metadata["input"]
    size = spec["shape"][2]
    width, height = frame or (size, size)
    rng = np.random.default_rng(0)
    # The same input every iteration, built before timing starts, as in the activity.
    if frame_format == "yuv":
        yuv = yuv_frame(width, height, rng)

        def preprocess():
            return preprocess_yuv(yuv, size, spec["crop_fraction"])
    else:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)

        def preprocess():
            return preprocess_rgb(pixels, size, spec["crop_fraction"])
    input_format = "pixels" if spec["normalized_in_graph"] else "normalized"
    dtype = getattr(torch, spec["dtype"])

    def timed() -> tuple[float, float]:
        begin = time.perf_counter()
        image = to_model_input(preprocess(), input_format).to(dtype)
        middle = time.perf_counter()
        method.execute([image])
        return (middle - begin) * 1000, (time.perf_counter() - middle) * 1000

    first = timed()[1]
    for _ in range(warmup):
        timed()
    pairs = [timed() for _ in range(iterations)]
    result = {"model": str(model), "device": device, "threads": threads, "warmup": warmup, "load_ms": load_ms,
              "first_inference_ms": first, "iterations_ms": [forward for _, forward in pairs],
              "pss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    if frame:
        result.update(frame_width=width, frame_height=height, preprocessing_ms=[pre for pre, _ in pairs])
        if frame_format is not None:
            result.update(frame_format=frame_format, frame_rotation=YUV_ROTATION if frame_format == "yuv" else 0)
    return result


def refusal(extras: dict, knows_format: bool) -> str | None:
    """The activity's require() checks on its extras, with its messages."""
    width, height = int(extras.get("frame_width", 0)), int(extras.get("frame_height", 0))
    if (width > 0) != (height > 0):
        return "give both frame_width and frame_height, or neither"
    frame_format = extras.get("frame_format", "argb")
    if knows_format and frame_format not in ("argb", "yuv"):
        return f"frame_format is argb or yuv, got {frame_format}"
    if knows_format and frame_format != "argb" and width <= 0:
        return f"frame_format {frame_format} needs frame_width and frame_height"
    return None


def main(request: dict) -> None:
    lacks = set(request["spec"].get("app_lacks", []))
    extras = {name: value for name, value in request["extras"].items() if name not in lacks}
    props = request["spec"]["props"]
    knows_format = "frame_format" not in lacks
    problem = refusal(extras, knows_format)
    if problem is not None:
        # BenchmarkResult.failure of the IllegalArgumentException that require() throws.
        result = {"error": f"java.lang.IllegalArgumentException: {problem}",
                  "error_type": "java.lang.IllegalArgumentException"}
    else:
        frame = (int(extras["frame_width"]), int(extras["frame_height"])) if int(extras.get("frame_width", 0)) else None
        result = benchmark(Path(request["model"]), int(extras.get("warmup", 10)), int(extras.get("iterations", 50)),
                           int(extras.get("threads", 0)),
                           f"{props['ro.product.manufacturer']} {props['ro.product.model']}", frame,
                           extras.get("frame_format", "argb") if knows_format else None)
    target = Path(request["result"])
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(result))
    os.replace(partial, target)
    with open(request["logcat"], "a") as log:
        if "error" in result:
            log.write(f"E {request['tag']}: benchmark failed\nE {request['tag']}: {result['error']}\n")
            return
        times = sorted(result["iterations_ms"])
        log.write(f"I {request['tag']}: load_ms={result['load_ms']:.2f} first_ms={result['first_inference_ms']:.2f} "
                  f"median_ms={times[len(times) // 2]:.2f} iterations={len(times)} threads={result['threads']} "
                  f"pss_kb={result['pss_kb']}\n")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
