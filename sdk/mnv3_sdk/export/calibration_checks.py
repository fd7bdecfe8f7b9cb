"""Is a calibration folder fit to calibrate int8 on? Judged from the images themselves, and from
the activation ranges they give against real images held out from calibration.

A model calibrated on real images of a narrow domain may rightly disagree with fp32 on images
outside it, such as the data-free synthesized ones, so those never judge such a model (the int8
gate decides on real held-out images, pipeline/stages.py). What used to expose bad calibration
data there is looked for here instead, in the data: flat images, near-duplicates, too few
distinct images, activation ranges narrower than real inputs produce.

Thresholds, from benchmarks/calibration_data.py on the digits models at 48 and 96 px
(docs/quantization.md has the table, 2026-12-04): the model's own training images spread over
83 levels per channel (median), and cover at least 0.79× of 64 validation images' activation
range in every conv/linear layer. Dark (pixels ÷ 8) and faint (a tenth of the contrast) copies
of them, neither flat nor alike, leave 33–39 and 11–39 of the 54 layers under half of it and
keep 8–11% and 74–89% of fp32's top-1; noise images leave 2–4 layers under half and keep
99.7–100%. Black images keep 8–10%; solid colours 95–100% (refused all the same: their ranges
are luck); three images repeated keep 100%, but only because digits are alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from mnv3_sdk.errors import SdkError

# An image whose pixels spread by less than this (standard deviation, levels 0-255) is one flat colour.
FLAT_SPREAD = 3.0
# Refused when at least this share of the calibration images is flat (fewer: a warning).
MAX_FLAT_SHARE = 0.5
# Two images whose 32×32 thumbnails differ by less than this on average (levels) are near-duplicates.
DUPLICATE_DISTANCE = 2.0
THUMBNAIL_SIDE = 32
# Fewer distinct calibration images than this are refused: min/max ranges from so few are luck.
MIN_DISTINCT_IMAGES = 8
# A layer's range is collapsed when calibration covers less than this share of what the held-out
# images produce; refused when at least MAX_COLLAPSED_SHARE of the layers are.
COLLAPSE_RATIO = 0.5
MAX_COLLAPSED_SHARE = 0.1

_WHAT_TO_DO = (
    "calibrate on varied images like the ones the app will classify (a model's own training images "
    "do well), or leave out --calibration-dir for data-free calibration"
)


@dataclass(frozen=True)
class ImageCensus:
    """What the calibration images are, as far as calibration cares."""

    images: int
    flat: int  # pixel spread under FLAT_SPREAD
    distinct: int  # after merging near-duplicates



@dataclass(frozen=True)
class RangeCoverage:
    """How much of the held-out images' activation range calibration saw, per conv/linear layer."""

    held_out: str  # which images the ranges were compared with
    layers: int
    collapsed_layers: list[str]  # layers below collapse_ratio, narrowest first
    lowest_ratio: float
    median_ratio: float
    collapse_ratio: float = COLLAPSE_RATIO


def pixel_spread(image: np.ndarray) -> float:
    """The largest standard deviation of one colour channel over the image: 0 for a solid colour
    of any hue (over all channels at once, a solid colour's own red, green and blue would count)."""
    return float(image.reshape(-1, image.shape[-1]).std(axis=0).max())


def take_census(images: list[np.ndarray]) -> ImageCensus:
    flat = sum(1 for image in images if pixel_spread(image) < FLAT_SPREAD)
    return ImageCensus(len(images), flat, _count_distinct(images))


def _count_distinct(images: list[np.ndarray]) -> int:
    """Images left when each near-duplicate of an earlier one is dropped (greedy, in order)."""
    kept: list[np.ndarray] = []
    for image in images:
        thumbnail = np.asarray(
            Image.fromarray(image).resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.BOX), dtype=np.float32
        )
        if all(np.abs(thumbnail - other).mean() >= DUPLICATE_DISTANCE for other in kept):
            kept.append(thumbnail)
    return len(kept)


def check_census(census: ImageCensus, source: str) -> list[str]:
    """Refuse data that cannot calibrate (SdkError naming the problem); warnings for what is merely odd."""
    if census.flat and census.flat >= MAX_FLAT_SHARE * census.images:
        raise SdkError(
            f"calibration data problem: {census.flat} of the {census.images} calibration images of {source} are "
            f"one flat colour (pixel spread under {FLAT_SPREAD:g} levels), so int8 would learn ranges no real "
            f"input stays in: {_WHAT_TO_DO}"
        )
    if census.distinct < MIN_DISTINCT_IMAGES:
        raise SdkError(
            f"calibration data problem: only {census.distinct} distinct images among the {census.images} "
            f"calibration images of {source} (the others are near-duplicates, or the folder is too small; a quarter "
            f"of it, up to 64 images, is held out to judge the model on); at least {MIN_DISTINCT_IMAGES} are "
            f"needed: {_WHAT_TO_DO}"
        )
    warnings = []
    if census.flat:
        warnings.append(f"{census.flat} of the {census.images} calibration images of {source} are one flat colour")
    if census.distinct < census.images:
        warnings.append(
            f"{census.images - census.distinct} of the {census.images} calibration images of {source} are "
            "near-duplicates of others"
        )
    return warnings


def activation_ranges(
    network: nn.Module, model: nn.Module, inputs: list[torch.Tensor], batch: int = 32
) -> dict[str, float]:
    """Max − min of each conv/linear layer's output (``network``'s module names) over all ``inputs``,
    run through ``model``, which holds ``network`` (the input adapter around it)."""
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}

    def record(name: str, output: torch.Tensor) -> None:
        lows[name] = min(lows.get(name, np.inf), float(output.min()))
        highs[name] = max(highs.get(name, -np.inf), float(output.max()))

    hooks = [
        module.register_forward_hook(lambda _m, _args, output, name=name: record(name, output))
        for name, module in network.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch):
                model(torch.cat(inputs[start:start + batch]))
    finally:
        for hook in hooks:
            hook.remove()
    return {name: highs[name] - lows[name] for name in lows}


def range_coverage(calibrated: dict[str, float], held_out: dict[str, float], held_out_name: str) -> RangeCoverage:
    ratios = {
        name: calibrated[name] / held_out[name] if held_out[name] > 0 else 1.0
        for name in held_out if name in calibrated
    }
    ordered = sorted(ratios, key=ratios.__getitem__)
    return RangeCoverage(
        held_out=held_out_name,
        layers=len(ordered),
        collapsed_layers=[name for name in ordered if ratios[name] < COLLAPSE_RATIO],
        lowest_ratio=ratios[ordered[0]],
        median_ratio=float(np.median(list(ratios.values()))),
    )


def check_coverage(coverage: RangeCoverage, source: str) -> None:
    if len(coverage.collapsed_layers) >= max(1, MAX_COLLAPSED_SHARE * coverage.layers):
        examples = ", ".join(coverage.collapsed_layers[:3])
        raise SdkError(
            f"calibration data problem: in {len(coverage.collapsed_layers)} of {coverage.layers} layers ({examples}, …) "
            f"the calibration images of {source} produce activations spanning under {COLLAPSE_RATIO:g}× the range "
            f"that {coverage.held_out} produce (lowest {coverage.lowest_ratio:.2f}×), so int8 would clip real "
            f"inputs; the calibration images do not look like the model's inputs (too dark, low contrast, "
            f"another domain?): {_WHAT_TO_DO}"
        )
