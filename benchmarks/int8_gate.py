"""Measurements behind the int8 accuracy gate without labelled data (verify.CLEAR_MARGIN, MIN_SQNR_DB).

For digits models (tests/digits.py) trained at several input sizes and seeds, quantize to int8 with
good calibrations (data-free, a folder of real images) and broken ones (black, grey, noise
images), export to .pte, and print per case: the .pte's validation top-1 as a fraction of eager
fp32's (the truth the gate stands in for), then, on each set of held-out inputs, logit SQNR and
top-1 agreement with eager fp32, plain and counted only where fp32's top-1 beats its runner-up by
a softmax-probability margin.

    .venv/bin/python benchmarks/int8_gate.py [--sizes 32,48] [--seeds 0,1] [--margins 0,0.1,0.2,0.5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from digits import LABELS, DigitsFixture, make_digits_fixture  # noqa: E402

from mnv3_sdk.progress import no_progress  # noqa: E402
from mnv3_sdk.export.adapter import example_input, wrap_for_export
from mnv3_sdk.export.calibration import (  # noqa: E402
    load_calibration_folder,
    load_held_out_images,
    synthesize_from_batchnorm,
)
from mnv3_sdk.export.lower import export_pte
from mnv3_sdk.export.quantize import QuantizationSettings, quantize_int8  # noqa: E402
from mnv3_sdk.imaging.files import find_labelled_images  # noqa: E402
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.network.weights import build_model, load_weights  # noqa: E402
from mnv3_sdk.pte.runtime import LoadedModel  # noqa: E402
from mnv3_sdk.verify.metrics import (
    GATE_SYNTHESIS_SEED,
    GATE_SYNTHESIZED_SAMPLES,
    agreement_of,
    evaluate,
    paired_logits,
    verification_images,
)


def calibrations(network, sha256: str, size: int, calibration_dir: Path) -> dict[str, list[np.ndarray]]:
    noise = np.random.default_rng(0).integers(0, 256, size=(16, size, size, 3), dtype=np.uint8)
    return {
        "data-free": synthesize_from_batchnorm(network, sha256, 32, size, no_progress).images,
        "folder": load_calibration_folder(calibration_dir, 128, size, 1.0, no_progress).images,
        "BLACK": [np.zeros((size, size, 3), np.uint8)] * 16,
        "GREY": [np.full((size, size, 3), 128, np.uint8)] * 16,
        "NOISE": list(noise),
    }


def trained_digits(folder: Path, size: int, seed: int) -> DigitsFixture:
    """The digits model at ``size`` px from ``seed``, trained once per work folder."""
    if not (folder / "done").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        make_digits_fixture(folder, size, seed)
        (folder / "done").touch()
    return DigitsFixture(folder / "digits_mnv3_small_w05.pth", folder / "digits_labels.txt", folder / "digits_val",
                         folder / "digits_calibration", [], 0, size, seed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="32,48")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--margins", default="0,0.1,0.2,0.3,0.5")
    parser.add_argument("--work", type=Path, help="keep trained models here and reuse them (default: a temporary folder)")
    args = parser.parse_args()
    margins = [float(value) for value in args.margins.split(",")]
    print("case | val top-1 ratio (pte/fp32) | held-out set | n | SQNR dB | "
          + " | ".join(f"agree@{margin:g} (n)" for margin in margins))
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        for size in [int(value) for value in args.sizes.split(",")]:
            for seed in [int(value) for value in args.seeds.split(",")]:
                started = time.perf_counter()
                folder = scratch / f"{size}-{seed}"
                digits = trained_digits(folder, size, seed)
                trained = time.perf_counter() - started
                weights = load_weights(str(digits.weights_path), "small", 0.5)
                network = build_model(weights, "small", 0.5)
                reference = wrap_for_export(network, "pixels", "fp32")
                example = example_input(size, "fp32")
                started = time.perf_counter()
                synthesized = synthesize_from_batchnorm(
                    network, weights.sha256, GATE_SYNTHESIZED_SAMPLES, size, no_progress, seed=GATE_SYNTHESIS_SEED
                ).images
                synthesis = time.perf_counter() - started
                held_out = {
                    "synthesized": synthesized,
                    "folder": load_held_out_images(
                        load_calibration_folder(digits.calibration_dir, 128, size, 1.0, no_progress),
                        64, size, 1.0, no_progress,
                    ),
                    "verification": verification_images(size),
                }
                print(f"# digits {size} px seed {seed}: trained in {trained:.0f} s, "
                      f"{len(synthesized)} held-out images synthesized in {synthesis:.1f} s")
                validation = find_labelled_images(digits.val_dir, LABELS)
                settings = QuantizationSettings(per_channel=True, excluded=[], wrapped=True)
                for case, images in calibrations(network, weights.sha256, size, digits.calibration_dir).items():
                    inputs = [to_model_input(image, "pixels") for image in images]
                    pte_path = folder / f"{case}.pte"
                    pte_path.write_bytes(export_pte(quantize_int8(reference, example, inputs, settings), example).pte)
                    loaded = LoadedModel(pte_path)
                    accuracy = evaluate(reference, loaded.run, validation, size, 1.0, "pixels")
                    ratio = accuracy.pte_top1 / accuracy.eager_top1
                    for name, group in held_out.items():
                        logits = paired_logits(reference, loaded.run, [to_model_input(i, "pixels") for i in group])
                        cells = []
                        for margin in margins:
                            agreement = agreement_of(*logits, margin=margin)
                            cells.append(f"{agreement.clear_top1_agreement:.3f} ({agreement.clear_samples})")
                        print(f"{size}px s{seed} {case} | {ratio:.3f} ({accuracy.pte_top1:.3f}/{accuracy.eager_top1:.3f})"
                              f" | {name} | {len(group)} | {agreement.sqnr_db:.1f} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
