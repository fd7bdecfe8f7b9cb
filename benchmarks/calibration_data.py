"""Measurements behind the calibration-data checks (export/calibration_checks.py).

For digits models (tests/digits.py) and calibration folders good and bad (the model's own
training images; black, solid colours, a few images repeated, dark, low contrast, noise), print
per case what the checks see — flat and distinct images, and how much of the activation range of
64 held-out validation images the calibration images cover per conv/linear layer — next to the
truth they stand in for: the int8 model's validation top-1 as a fraction of eager fp32's.

    .venv/bin/python benchmarks/calibration_data.py [--sizes 48,96] [--seeds 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from digits import LABELS, digit_images  # noqa: E402
from int8_gate import trained_digits  # noqa: E402

from mnv3_sdk.errors import SdkError  # noqa: E402
from mnv3_sdk.export.adapter import example_input, wrap_for_export  # noqa: E402
from mnv3_sdk.export.calibration import choose_samples  # noqa: E402
from mnv3_sdk.export.calibration_checks import (  # noqa: E402
    activation_ranges,
    check_census,
    check_coverage,
    pixel_spread,
    range_coverage,
    take_census,
)
from mnv3_sdk.export.lower import export_pte  # noqa: E402
from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8  # noqa: E402
from mnv3_sdk.imaging.files import find_labelled_images, read_rgb  # noqa: E402
from mnv3_sdk.imaging.model_input import to_model_input  # noqa: E402
from mnv3_sdk.imaging.preprocess import preprocess_rgb  # noqa: E402
from mnv3_sdk.network.weights import build_model, load_weights  # noqa: E402
from mnv3_sdk.pte.runtime import LoadedModel  # noqa: E402
from mnv3_sdk.verify.metrics import evaluate  # noqa: E402

SAMPLES = 128


def folders(size: int) -> dict[str, list[np.ndarray]]:
    """Calibration sets, preprocessed to ``size``: the training images and what goes wrong with them."""
    images, _ = digit_images()
    train = [preprocess_rgb(images[i], size, 1.0) for i in np.random.default_rng(0).permutation(len(images))[:SAMPLES]]
    rng = np.random.default_rng(0)
    colours = [np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8) for _ in range(16)]
    return {
        "training images": train,
        "black": [np.zeros((size, size, 3), np.uint8)] * 16,
        "solid colours": colours,
        "3 images repeated": [train[i % 3] for i in range(48)],
        "dark (pixels / 8)": [image // 8 for image in train],
        "faint (contrast / 10)": [(255 - (255 - image.astype(int)) // 10).astype(np.uint8) for image in train],
        "noise": list(rng.integers(0, 256, size=(SAMPLES, size, size, 3), dtype=np.uint8)),
    }


def verdict(census, coverage, name: str) -> str:
    try:
        check_census(census, name)
        check_coverage(coverage, name)
    except SdkError as error:
        return "refused: " + str(error).split(": ")[1].split(",")[0].split(" (")[0]
    return "accepted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="48,96")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--work", type=Path, help="keep trained models here and reuse them (default: a temporary folder)")
    args = parser.parse_args()
    print("model | calibration | images | median spread | flat | distinct | layers < 0.5x (of n) | "
          "median / lowest coverage | int8 val top-1 / fp32 | checks")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        for size in [int(value) for value in args.sizes.split(",")]:
            for seed in [int(value) for value in args.seeds.split(",")]:
                digits = trained_digits(scratch / f"{size}-{seed}", size, seed)
                weights = load_weights(str(digits.weights_path), "small", 0.5)
                network = build_model(weights, "small", 0.5)
                reference = wrap_for_export(network, "pixels", "fp32")
                example = example_input(size, "fp32")
                validation = find_labelled_images(digits.val_dir, LABELS)
                held_out = [preprocess_rgb(read_rgb(path), size, 1.0) for path in choose_samples(validation.paths, 64)]
                held_out_ranges = activation_ranges(network, reference, [to_model_input(i, "pixels") for i in held_out])
                settings = QuantizationSettings(per_channel=True, excluded=[], wrapped=True)
                for name, images in folders(size).items():
                    inputs = [to_model_input(image, "pixels") for image in images]
                    census = take_census(images)
                    coverage = range_coverage(activation_ranges(network, reference, inputs), held_out_ranges,
                                              "64 validation images")
                    pte_path = scratch / f"{size}-{seed}" / "calibration-data.pte"
                    pte_path.write_bytes(export_pte(quantize_int8(reference, example, inputs, settings), example).pte)
                    accuracy = evaluate(reference, LoadedModel(pte_path).run, validation, size, 1.0, "pixels")
                    print(f"{size}px s{seed} | {name} | {census.images} | "
                          f"{np.median([pixel_spread(image) for image in images]):.1f} | {census.flat} | "
                          f"{census.distinct} | {len(coverage.collapsed_layers)} ({coverage.layers}) | "
                          f"{coverage.median_ratio:.2f} / {coverage.lowest_ratio:.2f} | "
                          f"{accuracy.pte_top1 / accuracy.eager_top1:.3f} | {verdict(census, coverage, name)}",
                          flush=True)


if __name__ == "__main__":
    main()
