"""What the two-stage resize (block reduction, then the filter) changes: pixels and top-1 accuracy.

Trains the digits test model (tests/digits.py, 32 px), then scales its 397 held-out digits up to
large frames (40 px -> SIDE px with Pillow's bicubic, on a white canvas twice as wide, like a photo
with the subject in the middle) so that the crop is many times the model input and the contract's
first stage runs (factor int(side / 32 / 2)). Each frame is preprocessed twice: by the contract
(`preprocess_rgb`: reduction + filter) and by the filter alone over the same crop (the single-stage
resize the contract used before). Prints the pixel differences and the eager fp32 top-1 of both.

    .venv/bin/python benchmarks/reducing_gap_accuracy.py [--sides 400,1200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from digits import CROP_FRACTION, INPUT_SIZE, LABELS, make_digits_fixture  # noqa: E402

from mnv3_sdk.export.adapter import wrap_for_export
from mnv3_sdk.imaging.files import read_rgb  # noqa: E402
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import center_crop_box, preprocess_rgb, reduction_factor, resample  # noqa: E402
from mnv3_sdk.network.weights import build_model, load_weights  # noqa: E402


def frame(digit: np.ndarray, side: int) -> np.ndarray:
    canvas = Image.new("RGB", (2 * side, side), (255, 255, 255))
    canvas.paste(Image.fromarray(digit).resize((side, side), Image.BICUBIC), (side // 2, 0))
    return np.asarray(canvas)


def single_stage(image: np.ndarray, size: int) -> np.ndarray:
    box = center_crop_box(image.shape[1], image.shape[0], CROP_FRACTION)
    return resample(image, (box.left, box.top, box.left + box.side, box.top + box.side), size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="400,1200")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        digits = make_digits_fixture(Path(folder))
        network = build_model(load_weights(str(digits.weights_path), "small", 0.5), "small", 0.5)
        model = wrap_for_export(network, "pixels", "fp32")
        paths = sorted(digits.val_dir.rglob("*.png"))
        labels = [LABELS.index(path.parent.name) for path in paths]
        print(f"{time.strftime('%Y-%m-%d')}: digits model ({len(paths)} held-out digits), eager fp32, {INPUT_SIZE} px input")
        print("| frame | reduction factor | max level diff | mean level diff | top-1 two-stage | top-1 single-stage |")
        print("|---|---|---|---|---|---|")
        for side in (int(value) for value in args.sides.split(",")):
            correct = {"two": 0, "one": 0}
            differences = []
            for path, label in zip(paths, labels):
                image = frame(read_rgb(path), side)
                two, one = preprocess_rgb(image, INPUT_SIZE, CROP_FRACTION), single_stage(image, INPUT_SIZE)
                differences.append(np.abs(two.astype(int) - one.astype(int)))
                with torch.no_grad():
                    for name, pixels in (("two", two), ("one", one)):
                        correct[name] += int(model(to_model_input(pixels, "pixels")).argmax()) == label
            stacked = np.stack(differences)
            print(f"| {2 * side}×{side} | {reduction_factor(side, INPUT_SIZE)} | {stacked.max()} | {stacked.mean():.3f} "
                  f"| {correct['two'] / len(paths):.4f} | {correct['one'] / len(paths):.4f} |")


if __name__ == "__main__":
    main()
