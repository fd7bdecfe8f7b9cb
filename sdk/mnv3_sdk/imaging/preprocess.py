"""The preprocessing contract (docs/contracts.md § 3), reference implementation.

Steps: take the central square of side ``round(min(w, h) * crop_fraction)``, resize it to the
model's input size, emit RGB bytes in HWC order (``imaging.model_input.to_model_input`` makes
the tensor).

The resize is Pillow's ``Image.resize(..., BILINEAR, box=crop, reducing_gap=2.0)``, which
torchvision's training transforms approximate on PIL images:

1. When the crop is at least twice ``REDUCING_GAP`` times the output (``factor =
   int(side / size / REDUCING_GAP) >= 2``), the crop plus the filter's reach (Pillow's
   ``_get_safe_box``) is first reduced by averaging ``factor``×``factor`` blocks (Pillow's
   ``Image.reduce``; partial blocks at the right and bottom edges average what they hold). This
   is what makes a 12-megapixel photo cheap: the filter then reads ``factor``² fewer pixels, and
   the result stays within one level of the single-stage resize (Pillow: "indistinguishable" from
   fair resampling from a gap of 3, close at 2, the gap its ``thumbnail`` uses).
2. An *antialiased* bilinear (triangle) filter with half-pixel centres whose support grows with
   the downscale factor resizes the (reduced) crop, whose box is then fractional, to size×size:
   horizontal pass first, as Pillow ≤ 12 always does (Pillow 13 may pick the other order and then
   differs by one level on some pixels). A plain 4-tap bilinear would alias badly.

Every step is specified in integers, or in float operations whose results are exactly
reproducible (IEEE-754 +, -, *, /), so the Kotlin port produces the same bytes:

* block averages are ``((sum + n // 2) * m) >> 24`` with ``m = trunc(float32(2**32) /
  float32(256 * n))`` for a block of ``n`` pixels (Pillow's ``division_UINT32``, single precision);
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
REDUCING_GAP = 2.0  # Pillow's Image.thumbnail default: reduce first when the crop is ≥ 4× the output


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
    """Apply one pass along ``axis`` (1 = horizontal, 0 = vertical) of an H×W×C uint8 image."""
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


def reduction_factor(side: float, size: int) -> int:
    """The block size of the first stage: Pillow's ``int(side / size / reducing_gap) or 1``."""
    return int(side / size / REDUCING_GAP) or 1


def reduce_box(width: int, height: int, box: CropBox, size: int) -> tuple[int, int, int, int]:
    """The region reduced in the first stage (left, top, right, bottom): the crop widened by the
    bilinear filter's reach, half a pixel of the output on each side (Pillow's ``_get_safe_box``)."""
    return safe_box(width, height, (box.left, box.top, box.left + box.side, box.top + box.side), size)


def safe_box(width: int, height: int, bounds: tuple[float, float, float, float], size: int) -> tuple[int, int, int, int]:
    """``reduce_box`` for any square box, fractional or not (a chroma plane's box is half the luma's)."""
    left, top, right, bottom = bounds
    support = 0.5 * ((right - left) / size)
    return (
        max(0, int(left - support)),
        max(0, int(top - support)),
        min(width, math.ceil(right + support)),
        min(height, math.ceil(bottom + support)),
    )


def block_multiplier(count: np.ndarray) -> np.ndarray:
    """Pillow's ``division_UINT32(count, 8)``: 2**32 / (256 * count) in float32, truncated."""
    return (np.float32(2.0 ** 32) / (256 * count).astype(np.float32)).astype(np.int64)


def reduce_blocks(image: np.ndarray, factor: int, region: tuple[int, int, int, int]) -> np.ndarray:
    """Average ``factor``×``factor`` blocks of ``region`` of an H×W×C uint8 image (Pillow's ``reduce``)."""
    left, top, right, bottom = region
    height, width = bottom - top, right - left
    channels = image.shape[2]
    out_height, out_width = -(-height // factor), -(-width // factor)
    padded = np.zeros((out_height * factor, out_width * factor, channels), dtype=np.uint8)
    padded[:height, :width] = image[top:bottom, left:right]
    sums = padded.reshape(out_height, factor, out_width, factor, channels).sum(axis=(1, 3), dtype=np.int64)
    rows = np.minimum(factor, height - factor * np.arange(out_height))
    columns = np.minimum(factor, width - factor * np.arange(out_width))
    counts = (rows[:, None] * columns[None, :])[..., None]
    return (((sums + counts // 2) * block_multiplier(counts)) >> 24).astype(np.uint8)


def resize_square(image: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Resize the ``box`` region of an H×W×3 uint8 image to size×size (the contract's two stages)."""
    return resize_box(image, (box.left, box.top, box.left + box.side, box.top + box.side), size)


def resize_box(image: np.ndarray, bounds: tuple[float, float, float, float], size: int,
               vertical_first: bool = False) -> np.ndarray:
    """Resize a square (left, top, right, bottom) region, fractional or not, of an H×W×C uint8 image
    to size×size with the contract's two stages (block reduction when large, then the filter, its
    horizontal pass first unless ``vertical_first``)."""
    height, width = image.shape[:2]
    factor = reduction_factor(bounds[2] - bounds[0], size)
    if factor > 1:
        region = safe_box(width, height, bounds, size)
        image = reduce_blocks(image, factor, region)
        bounds = tuple((edge - region[index % 2]) / factor for index, edge in enumerate(bounds))
    return (resample_vertical_first if vertical_first else resample)(image, bounds, size)


def resample(image: np.ndarray, bounds: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Resize the (left, top, right, bottom) region, fractional or not, of an H×W×C uint8 image to
    size×size with the antialiased bilinear filter (Pillow-exact, horizontal pass first)."""
    height, width = image.shape[:2]
    left, top, right, bottom = bounds
    horizontal = resample_coefficients(width, left, right, size)
    vertical = resample_coefficients(height, top, bottom, size)
    # Pillow only runs the horizontal pass over the rows the vertical pass will read.
    first_row = int(vertical.starts[0])
    last_row = int(vertical.starts[-1] + vertical.counts[-1])
    rows = image[first_row:last_row]
    shifted_vertical = ResampleCoefficients(vertical.starts - first_row, vertical.counts, vertical.weights)
    needs_horizontal = size != width or left != 0 or right != size
    needs_vertical = size != height or top != 0 or bottom != size
    if needs_horizontal:
        rows = _resample_axis(rows, horizontal, axis=1)
    else:
        shifted_vertical = vertical
        rows = image
    if needs_vertical:
        rows = _resample_axis(rows, shifted_vertical, axis=0)
    return np.ascontiguousarray(rows)


def resample_vertical_first(image: np.ndarray, bounds: tuple[float, float, float, float], size: int) -> np.ndarray:
    """``resample`` with the passes the other way round, vertical first (the camera-frame contract,
    docs/contracts.md § 3.1): the same filter on the transposed image, transposed back."""
    left, top, right, bottom = bounds
    transposed = resample(np.ascontiguousarray(image.transpose(1, 0, 2)), (top, left, bottom, right), size)
    return np.ascontiguousarray(transposed.transpose(1, 0, 2))


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
