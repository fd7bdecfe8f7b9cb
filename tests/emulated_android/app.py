"""The demo app's BenchmarkActivity, played on the host for an emulated phone (see phone.py).

Measures what BenchmarkActivity measures (templates/demo/src/main/kotlin/BenchmarkActivity.kt.j2):
load, first inference, iterations, and with a frame size each iteration's preprocessing of such a
frame (the Python reference of the Kotlin pipeline) beside its forward pass; writes the same JSON
where the app writes it (atomically, as BenchmarkResult.write does), then its logcat line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def benchmark(model: Path, warmup: int, iterations: int, threads: int, device: str,
              frame: tuple[int, int] | None) -> dict:
    import numpy as np
    import torch
    from executorch.runtime import Runtime

    from mnv3_sdk.imaging.model_input import to_model_input
    from mnv3_sdk.imaging.preprocess import preprocess_rgb

    started = time.perf_counter()
    program = Runtime.get().load_program(model)
    method = program.load_method("forward")
    load_ms = (time.perf_counter() - started) * 1000
    metadata = json.loads(bytes(program.load_method("metadata").execute([])[0].numpy().tobytes()))
    spec = metadata["input"]
    width, height = frame or (spec["shape"][2], spec["shape"][2])
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    input_format = "pixels" if spec["normalized_in_graph"] else "normalized"
    dtype = getattr(torch, spec["dtype"])

    def timed() -> tuple[float, float]:
        begin = time.perf_counter()
        image = to_model_input(preprocess_rgb(pixels, spec["shape"][2], spec["crop_fraction"]), input_format).to(dtype)
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
    return result


def main(request: dict) -> None:
    extras, props = request["extras"], request["spec"]["props"]
    frame = (int(extras["frame_width"]), int(extras["frame_height"])) if "frame_width" in extras else None
    result = benchmark(Path(request["model"]), int(extras.get("warmup", 10)), int(extras.get("iterations", 50)),
                       int(extras.get("threads", 0)), f"{props['ro.product.manufacturer']} {props['ro.product.model']}",
                       frame)
    target = Path(request["result"])
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(result))
    os.replace(partial, target)
    times = sorted(result["iterations_ms"])
    with open(request["logcat"], "a") as log:
        log.write(f"I {request['tag']}: load_ms={result['load_ms']:.2f} first_ms={result['first_inference_ms']:.2f} "
                  f"median_ms={times[len(times) // 2]:.2f} iterations={len(times)} threads={result['threads']} "
                  f"pss_kb={result['pss_kb']}\n")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
