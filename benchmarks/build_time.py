"""Wall time of `mnv3-sdk build` per stage (AAR included), for Small fp32 and Small int8 with 128 calibration images.

The calibration images are 128 crops of scikit-learn's two bundled photos (real image content).
Also times a rebuild of another network into the same package and build name (the compiled
Kotlin comes from the cache), and data-free calibration once uncached and once from its cache.
Targets: Small int8 with 128 images ≤ 35 s, the rebuild ≤ 25 s.

    .venv/bin/python benchmarks/build_time.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def calibration_folder(folder: Path) -> Path:
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    target = folder / "calibration"
    target.mkdir()
    for index in range(128):
        photo = photos[index % 2]
        side = int(rng.integers(200, 420))
        top = int(rng.integers(0, photo.shape[0] - side + 1))
        left = int(rng.integers(0, photo.shape[1] - side + 1))
        Image.fromarray(photo[top:top + side, left:left + side]).save(target / f"{index:03d}.jpg", quality=92)
    return target


def timed_build(**options) -> tuple[float, dict[str, float]]:
    from mnv3_sdk.pipeline.config import BuildConfig
    from mnv3_sdk.pipeline.stages import run_build

    started = time.perf_counter()
    result = run_build(BuildConfig(variant="small", weights="random", **options))
    return time.perf_counter() - started, result.timings


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["MNV3_SDK_CACHE"] = str(folder / "cache")
        started = time.perf_counter()
        import mnv3_sdk.pipeline.stages  # noqa: F401  (torch + executorch import, paid once per process)

        print(f"{time.strftime('%Y-%m-%d')}: import torch/executorch/mnv3_sdk: {time.perf_counter() - started:.1f} s")
        calibration = calibration_folder(folder)
        cases = {
            "small fp32 (cold toolchain cache)": ("first", {"quant": "fp32"}),
            "small int8, 128 calibration images": ("second", {"quant": "int8", "calibration_dir": calibration}),
            # Same package, class and build name, another network: the compiled Kotlin is reused.
            "small int8 ×0.75, 128 images, same package (rebuild)": (
                "third", {"quant": "int8", "calibration_dir": calibration, "width_mult": 0.75}),
            "small int8, data-free (uncached)": ("fourth", {"quant": "int8"}),
            "small int8, data-free (cached)": ("fifth", {"quant": "int8"}),
        }
        for name, (parent, options) in cases.items():
            out_dir = folder / parent / ("mnv3-small-fp32" if options["quant"] == "fp32" else "mnv3-small-int8")
            total, stages = timed_build(out_dir=out_dir, **options)
            detail = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in stages.items())
            print(f"{name}: {total:.1f} s end to end ({detail})")


if __name__ == "__main__":
    main()
