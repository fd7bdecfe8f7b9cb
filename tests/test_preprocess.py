"""The reference preprocessing is Pillow's two-stage resize of the central crop (block reduction, then
the antialiased bilinear filter), byte for byte against the contract and within a level of Pillow."""

import numpy as np
import pytest
from PIL import Image

from mnv3_sdk.imaging.preprocess import (
    REDUCING_GAP,
    argb_to_rgb,
    center_crop_box,
    preprocess_rgb,
    reduce_blocks,
    reduce_box,
    reduction_factor,
)


def naive_reference(image: np.ndarray, size: int, crop_fraction: float) -> np.ndarray:
    """The contract written out as plain loops (docs/building.md, "Input contract"), independent
    of the vectorised code."""
    height, width = image.shape[:2]
    box = center_crop_box(width, height, crop_fraction)
    left, top, right, bottom = box.left, box.top, box.left + box.side, box.top + box.side
    factor = int(box.side / size / 2.0) or 1
    if factor > 1:
        support = 0.5 * box.side / size
        x0, y0 = max(0, int(left - support)), max(0, int(top - support))
        x1, y1 = min(width, int(np.ceil(right + support))), min(height, int(np.ceil(bottom + support)))
        reduced = np.zeros(((y1 - y0 + factor - 1) // factor, (x1 - x0 + factor - 1) // factor, 3), dtype=np.uint8)
        for by in range(reduced.shape[0]):
            for bx in range(reduced.shape[1]):
                block = [(y, x) for y in range(y0 + by * factor, min(y1, y0 + (by + 1) * factor))
                         for x in range(x0 + bx * factor, min(x1, x0 + (bx + 1) * factor))]
                multiplier = int(np.float32(2.0 ** 32) / np.float32(256 * len(block)))
                for c in range(3):
                    total = sum(int(image[y, x, c]) for y, x in block) + len(block) // 2
                    reduced[by, bx, c] = (total * multiplier) >> 24
        image, (height, width) = reduced, reduced.shape[:2]
        left, right = (left - x0) / factor, (right - x0) / factor
        top, bottom = (top - y0) / factor, (bottom - y0) / factor

    def weights(in_size, start, end):
        scale = (end - start) / size
        filter_scale = max(scale, 1.0)
        support = filter_scale
        rows = []
        for out in range(size):
            center = start + (out + 0.5) * scale
            first = max(0, int(center - support + 0.5))
            last = min(in_size, int(center + support + 0.5))
            raw = [max(0.0, 1.0 - abs((i - center + 0.5) / filter_scale)) for i in range(first, last)]
            total = sum(raw)
            rows.append((first, [int(w / total * (1 << 22) + 0.5) for w in raw]))
        return rows

    def clamp(value):
        return min(255, max(0, value >> 22))

    horizontal = weights(width, left, right)
    vertical = weights(height, top, bottom)
    temp = np.zeros((height, size, 3), dtype=np.int64)
    for y in range(height):
        for x, (first, taps) in enumerate(horizontal):
            for c in range(3):
                temp[y, x, c] = clamp((1 << 21) + sum(int(image[y, first + k, c]) * w for k, w in enumerate(taps)))
    out = np.zeros((size, size, 3), dtype=np.uint8)
    for y, (first, taps) in enumerate(vertical):
        for x in range(size):
            for c in range(3):
                out[y, x, c] = clamp((1 << 21) + sum(int(temp[first + k, x, c]) * w for k, w in enumerate(taps)))
    return out


def pillow_reference(image: np.ndarray, size: int, crop_fraction: float) -> np.ndarray:
    box = center_crop_box(image.shape[1], image.shape[0], crop_fraction)
    crop = (box.left, box.top, box.left + box.side, box.top + box.side)
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR, box=crop, reducing_gap=REDUCING_GAP))


def sample_photos():
    from sklearn.datasets import load_sample_images

    return load_sample_images().images  # china.jpg and flower.jpg, 427×640


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "height, width, size, crop_fraction",
    [
        (1, 1, 224, 0.875),
        (1000, 3, 224, 0.875),
        (3, 1000, 224, 1.0),
        (3000, 4000, 224, 0.875),
        (4000, 3000, 224, 0.875),
        (224, 224, 224, 1.0),  # no resampling at all
        (256, 256, 224, 0.875),  # 224-pixel crop: copied, not resampled
        (97, 131, 160, 0.9),  # upscaling
        (480, 640, 32, 1.0),
    ],
)
def test_matches_pillow_on_odd_and_huge_sizes(height, width, size, crop_fraction):
    image = noise(height, width)
    assert_pillow_equivalent(preprocess_rgb(image, size, crop_fraction), pillow_reference(image, size, crop_fraction))


@pytest.mark.parametrize("index", [0, 1])
def test_matches_pillow_on_real_photos(index):
    photo = sample_photos()[index]
    for size in (224, 192):
        assert_pillow_equivalent(preprocess_rgb(photo, size, 0.875), pillow_reference(photo, size, 0.875))


def assert_pillow_equivalent(ours: np.ndarray, pillow: np.ndarray) -> None:
    """Same filter, weights and rounding as Pillow's BILINEAR resize.

    Pillow ≤ 12 always runs the horizontal pass first, as our contract does; Pillow 13 picks the
    cheaper pass order, which changes the rounding of the 8-bit intermediate image by at most one
    level on some pixels. Exactness is proven against the contract itself (naive_reference).
    """
    assert ours.shape == pillow.shape
    difference = np.abs(ours.astype(int) - pillow.astype(int))
    assert difference.max() <= 1
    assert difference.mean() < 0.5


@pytest.mark.parametrize(
    "height, width, size, crop_fraction",
    [(1, 1, 16, 0.875), (40, 3, 16, 0.875), (3, 40, 16, 1.0), (300, 200, 24, 0.875), (33, 47, 50, 0.9), (64, 64, 64, 1.0),
     (131, 97, 16, 1.0), (64, 64, 16, 1.0), (63, 64, 16, 1.0), (90, 250, 7, 0.8)],
)
def test_matches_the_contract_written_as_loops_exactly(height, width, size, crop_fraction):
    image = noise(height, width, seed=height * 1000 + width)
    np.testing.assert_array_equal(preprocess_rgb(image, size, crop_fraction), naive_reference(image, size, crop_fraction))


@pytest.mark.parametrize("height, width, side, size", [(3000, 4000, 2625, 224), (97, 131, 97, 16), (1080, 1920, 945, 224),
                                                      (64, 64, 64, 16), (5, 400, 5, 1)])
def test_block_reduction_is_pillows_reduce_exactly(height, width, side, size):
    """Pillow's Image.reduce(factor, box) on the region the contract reduces, byte for byte,
    including the partial blocks of the right and bottom edges."""
    image = noise(height, width, seed=side)
    box = center_crop_box(width, height, side / min(width, height))
    factor = reduction_factor(box.side, size)
    assert factor > 1
    region = reduce_box(width, height, box, size)
    pillow = np.asarray(Image.fromarray(image).reduce(factor, box=region))
    np.testing.assert_array_equal(reduce_blocks(image, factor, region), pillow)


def test_reduction_starts_at_four_times_the_output():
    assert [reduction_factor(side, 224) for side in (895, 896, 1343, 1344, 2625)] == [1, 2, 2, 3, 5]


def test_center_crop_box_rounds_half_up_and_centres():
    assert center_crop_box(640, 480, 0.875) == center_crop_box(640, 480, 0.875)
    box = center_crop_box(640, 480, 0.875)
    assert (box.side, box.left, box.top) == (420, 110, 30)
    assert center_crop_box(3, 1000, 0.875).side == 3  # round(2.625) = 3
    assert center_crop_box(2, 2, 0.25).side == 1  # round(0.5) = 1, half up
    assert center_crop_box(1, 1, 0.1).side == 1  # never empty


def test_argb_ints_become_rgb_bytes_without_alpha():
    pixels = np.array([0xFF102030, 0x80A0B0C0], dtype=np.uint32).view(np.int32)  # as Android's getPixels
    np.testing.assert_array_equal(argb_to_rgb(pixels, 2, 1), [[[0x10, 0x20, 0x30], [0xA0, 0xB0, 0xC0]]])
