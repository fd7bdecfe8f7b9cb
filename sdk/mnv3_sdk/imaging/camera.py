"""The camera-frame preprocessing contract (docs/contracts.md § 3.1), reference implementation.

A camera delivers YUV_420_888 frames (Android's ``android.media.Image`` from an ``ImageReader``):
a full-size luma plane Y and two chroma planes U (Cb) and V (Cr) subsampled 2×2, each plane
addressed as ``buffer[row * rowStride + column * pixelStride]`` (interleaved chroma, NV21-like,
has pixelStride 2; planar, I420-like, has 1), in the sensor's orientation, which is
``rotation`` degrees clockwise away from upright.

Steps, chosen so that no full-size RGB image is ever built (a 1280×720 frame has 920,000
pixels, the model reads 50,176):

1. Crop: the central square of the *upright* frame (docs/contracts.md § 3, step 1, on the rotated
   width and height), mapped back into the sensor's coordinates.
2. Resize each plane on its own, in the sensor's orientation, with the two stages of § 3 (block
   reduction when large, then the antialiased triangle filter) but the filter's *vertical* pass
   first: luma from the crop box, each chroma plane from the same box halved (fractional when
   the box is odd): a chroma sample covers a 2×2 block of luma, so its centre is the block's.
   Vertical first, because that pass runs over whole rows (on the JVM about half the cost per multiply-add of the per-pixel
   horizontal pass, measured) and leaves the
   per-pixel horizontal pass only size rows instead of every row the crop spans.
3. Rotate the three size×size planes clockwise by ``rotation`` (exact: pixels only move).
4. Convert to RGB per pixel as full-range BT.601 (JFIF, the colour space of camera JPEGs),
   exactly as Pillow's ``Image.convert("RGB")`` from ``YCbCr`` does:
   6-bit fixed-point tables ``trunc((i − 128) × c × 64 + 0.5)`` for c = 1.402 (Cr→R), −0.34414
   (Cb→G), −0.71414 (Cr→G), 1.772 (Cb→B), summed, shifted right by 6 (arithmetic) onto Y and
   clamped to 0–255.

Resizing before converting filters one full-resolution plane and two quarter-size ones instead
of three full-resolution channels, converts size² pixels instead of every pixel of the crop, and
filters chroma from its real resolution instead of repeated samples; the result differs from
"convert, rotate, then § 3" by rounding only (tests/test_camera_frames.py). Pillow serves as the
reference for the conversion itself, and for the resize within its pass-order rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from mnv3_sdk.imaging.preprocess import center_crop_box, resize_box

ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True)
class Plane:
    """One plane as ``android.media.Image.Plane`` describes it: its bytes and their strides."""

    data: bytes
    row_stride: int
    pixel_stride: int

    def samples(self, width: int, height: int) -> np.ndarray:
        """The plane's height×width samples; refuses a buffer too short for them (Android's last
        row may end right after its last sample, so only that much is required)."""
        if self.row_stride < 1 or self.pixel_stride < 1:
            raise ValueError(f"strides must be positive, got {self.row_stride} and {self.pixel_stride}")
        if self.row_stride < (width - 1) * self.pixel_stride + 1:
            raise ValueError(f"row stride {self.row_stride} is shorter than a row of {width} samples")
        needed = (height - 1) * self.row_stride + (width - 1) * self.pixel_stride + 1
        if len(self.data) < needed:
            raise ValueError(f"plane holds {len(self.data)} bytes, {width}×{height} samples need {needed}")
        flat = np.frombuffer(self.data, dtype=np.uint8)
        rows = np.arange(height)[:, None] * self.row_stride
        columns = np.arange(width)[None, :] * self.pixel_stride
        return flat[rows + columns]


@dataclass(frozen=True)
class Yuv420Frame:
    """A YUV_420_888 frame as the camera delivers it: sensor-oriented, chroma subsampled 2×2
    (``ceil(width / 2)`` × ``ceil(height / 2)`` samples), ``rotation`` degrees clockwise to upright."""

    width: int
    height: int
    y: Plane
    u: Plane
    v: Plane
    rotation: int = 0

    @property
    def upright_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


def sensor_crop(frame: Yuv420Frame, crop_fraction: float) -> tuple[int, int, int]:
    """The upright frame's central square (§ 3, step 1) as (left, top, side) in sensor coordinates."""
    upright_width, upright_height = frame.upright_size
    box = center_crop_box(upright_width, upright_height, crop_fraction)
    side = box.side
    # Upright pixel (u, v) is sensor pixel (v, H-1-u) at 90°, (W-1-u, H-1-v) at 180°, (W-1-v, u) at 270°.
    if frame.rotation == 0:
        return box.left, box.top, side
    if frame.rotation == 90:
        return box.top, frame.height - box.left - side, side
    if frame.rotation == 180:
        return frame.width - box.left - side, frame.height - box.top - side, side
    return frame.width - box.top - side, box.left, side


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Full-range BT.601 (JFIF) → RGB, by Pillow's own ``convert("RGB")`` of a ``YCbCr`` image."""
    planes = [Image.fromarray(np.ascontiguousarray(plane)) for plane in (y, cb, cr)]
    return np.asarray(Image.merge("YCbCr", planes).convert("RGB"))


def preprocess_yuv(frame: Yuv420Frame, size: int, crop_fraction: float) -> np.ndarray:
    """A YUV_420_888 frame → size×size×3 uint8 RGB, upright (the camera-frame contract)."""
    if frame.width < 1 or frame.height < 1:
        raise ValueError(f"frame must be at least 1×1, got {frame.width}×{frame.height}")
    if frame.rotation not in ROTATIONS:
        raise ValueError(f"rotation must be 0, 90, 180 or 270 degrees, got {frame.rotation}")
    chroma_width, chroma_height = (frame.width + 1) // 2, (frame.height + 1) // 2
    left, top, side = sensor_crop(frame, crop_fraction)
    luma_box = (left, top, left + side, top + side)
    chroma_box = tuple(edge / 2 for edge in luma_box)
    resized = [
        resize_box(frame.y.samples(frame.width, frame.height)[..., None], luma_box, size, vertical_first=True),
        resize_box(frame.u.samples(chroma_width, chroma_height)[..., None], chroma_box, size, vertical_first=True),
        resize_box(frame.v.samples(chroma_width, chroma_height)[..., None], chroma_box, size, vertical_first=True),
    ]
    upright = [np.rot90(plane[..., 0], k=-(frame.rotation // 90)) for plane in resized]
    return ycbcr_to_rgb(*upright)
