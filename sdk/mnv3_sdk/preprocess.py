"""The preprocessing contract (DESIGN.md § 3), reference implementation.

Steps: take the central square of side ``round(min(w, h) * crop_fraction)``, resize it to the
model's input size, emit RGB bytes in NHWC order. Normalisation happens inside the graph.

The resize is an *antialiased* bilinear (triangle) filter with half-pixel centres whose support
grows with the downscale factor: the algorithm of Pillow's ``Image.resize(..., BILINEAR,
box=...)`` (byte-exact with Pillow ≤ 12, which always resamples horizontally first; Pillow 13
may pick the other pass order and then differs by one level on some pixels), which is what
torchvision's training transforms use on PIL images. A plain
4-tap bilinear would alias badly when a 12-megapixel photo is reduced to 224×224 and feed the
network pixels it never saw in training.

Every step is specified in integers, or in float64 operations whose results are exactly
reproducible (IEEE-754 +, -, *, /), so the Kotlin port produces the same bytes:

* filter weights are computed in float64, normalised per output pixel, then scaled by 2**22 and
  rounded half away from zero to ints;
* a horizontal pass then a vertical pass, each accumulating ``pixel * weight`` in integers from
  ``2**21`` (rounding), shifting right by 22 and clamping to 0..255; the intermediate image is
  stored as bytes, as Pillow does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PRECISION_BITS = 22  # Pillow's fixed-point precision for 8-bit resampling


@dataclass(frozen=True)
class CropBox:
    left: int
    top: int
    side: int


def center_crop_box(width: int, height: int, crop_fraction: float) -> CropBox:
    """The central square of side round-half-up(min(w, h) * crop_fraction), at least 1 pixel."""
    if width < 1 or height < 1:
        raise ValueError(f"image must be at least 1×1, got {width}×{height}")
    side = max(1, min(min(width, height), math.floor(min(width, height) * crop_fraction + 0.5)))
    return CropBox(left=(width - side) // 2, top=(height - side) // 2, side=side)


@dataclass(frozen=True)
class ResampleCoefficients:
    """For each output pixel: first input index, tap count, and integer weights (padded)."""

    starts: np.ndarray  # int64 [out]
    counts: np.ndarray  # int64 [out]
    weights: np.ndarray  # int64 [out, taps]


def resample_coefficients(in_size: int, box_start: float, box_end: float, out_size: int) -> ResampleCoefficients:
    """Pillow's ``precompute_coeffs`` + ``normalize_coeffs_8bpc`` for the bilinear filter."""
    scale = (box_end - box_start) / out_size
    filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale  # the triangle filter's support is 1 at scale 1
    taps = int(math.ceil(support)) * 2 + 1
    starts = np.zeros(out_size, dtype=np.int64)
    counts = np.zeros(out_size, dtype=np.int64)
    weights = np.zeros((out_size, taps), dtype=np.int64)
    inverse_filter_scale = 1.0 / filter_scale
    for out_index in range(out_size):
        center = box_start + (out_index + 0.5) * scale
        first = max(0, int(center - support + 0.5))  # int() truncates toward zero, like C
        last = min(in_size, int(center + support + 0.5))
        count = last - first
        raw = []
        total = 0.0
        for tap in range(count):
            distance = abs((tap + first - center + 0.5) * inverse_filter_scale)
            weight = 1.0 - distance if distance < 1.0 else 0.0
            raw.append(weight)
            total += weight
        for tap, weight in enumerate(raw):
            normalised = weight / total if total != 0.0 else weight
            weights[out_index, tap] = _round_fixed(normalised)
        starts[out_index] = first
        counts[out_index] = count
    return ResampleCoefficients(starts, counts, weights)


def _round_fixed(value: float) -> int:
    scaled = value * (1 << PRECISION_BITS)
    return int(scaled - 0.5) if value < 0 else int(scaled + 0.5)


def _resample_axis(image: np.ndarray, coefficients: ResampleCoefficients, axis: int) -> np.ndarray:
    """Apply one pass along ``axis`` (1 = horizontal, 0 = vertical) of an H×W×3 uint8 image."""
    length = image.shape[axis]
    taps = coefficients.weights.shape[1]
    # Taps past a pixel's count have weight 0; clamp their indices to stay in bounds.
    indices = np.minimum(coefficients.starts[:, None] + np.arange(taps)[None, :], length - 1)
    if axis == 1:
        # In bands of rows, so a 12-megapixel photo does not need gigabytes of gathered taps.
        bands = [
            np.einsum("hotc,ot->hoc", np.take(image[row:row + 64], indices, axis=1).astype(np.int64), coefficients.weights)
            for row in range(0, image.shape[0], 64)
        ]
        accumulated = np.concatenate(bands, axis=0)
    else:
        gathered = np.take(image, indices, axis=0).astype(np.int64)  # [out, taps, W, C]
        accumulated = np.einsum("otwc,ot->owc", gathered, coefficients.weights)
    accumulated += 1 << (PRECISION_BITS - 1)
    return np.clip(accumulated >> PRECISION_BITS, 0, 255).astype(np.uint8)


def resize_square(image: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Resize the ``box`` region of an H×W×3 uint8 image to size×size (Pillow-exact)."""
    height, width = image.shape[:2]
    horizontal = resample_coefficients(width, box.left, box.left + box.side, size)
    vertical = resample_coefficients(height, box.top, box.top + box.side, size)
    # Pillow only runs the horizontal pass over the rows the vertical pass will read.
    first_row = int(vertical.starts[0])
    last_row = int(vertical.starts[-1] + vertical.counts[-1])
    rows = image[first_row:last_row]
    shifted_vertical = ResampleCoefficients(vertical.starts - first_row, vertical.counts, vertical.weights)
    needs_horizontal = size != width or box.left != 0 or box.left + box.side != size
    needs_vertical = size != height or box.top != 0 or box.top + box.side != size
    if needs_horizontal:
        rows = _resample_axis(rows, horizontal, axis=1)
    else:
        shifted_vertical = vertical
        rows = image
    if needs_vertical:
        rows = _resample_axis(rows, shifted_vertical, axis=0)
    return np.ascontiguousarray(rows)


def preprocess_rgb(image: np.ndarray, size: int, crop_fraction: float) -> np.ndarray:
    """H×W×3 uint8 RGB → size×size×3 uint8 RGB: center crop, antialiased bilinear resize."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
    box = center_crop_box(image.shape[1], image.shape[0], crop_fraction)
    return resize_square(image, box, size)


def argb_to_rgb(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Android's ``Bitmap.getPixels`` ARGB ints (row-major) → H×W×3 RGB bytes, alpha dropped."""
    argb = pixels.astype(np.uint32).reshape(height, width)
    return np.stack([(argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF], axis=-1).astype(np.uint8)
