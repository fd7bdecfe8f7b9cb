"""YUV_420_888 test frames laid out as Android cameras deliver them, from RGB pictures or noise."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnv3_sdk.imaging.camera import Plane, Yuv420Frame

# How the chroma of a frame is stored (android.media.Image.Plane strides): planar I420 (pixel
# stride 1), or one interleaved buffer with V first (NV21, what most phones' cameras give) or U first
# (NV12), seen as two planes of pixel stride 2 one byte apart.
LAYOUTS = ("i420", "nv21", "nv12")


def sensor_planes(upright_rgb: np.ndarray, rotation: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, Cb, Cr of the sensor-oriented frame whose clockwise rotation by ``rotation`` is the picture;
    chroma averaged over 2×2 blocks (partial at odd edges), as an ISP subsamples."""
    sensor = np.ascontiguousarray(np.rot90(upright_rgb, k=rotation // 90))
    ycbcr = np.asarray(Image.fromarray(sensor).convert("YCbCr")).astype(np.int64)
    height, width = sensor.shape[:2]
    padded = np.pad(ycbcr, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, 3)
    chroma = ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)
    return ycbcr[..., 0].astype(np.uint8), chroma[..., 1], chroma[..., 2]


def noise_planes(width: int, height: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    chroma = ((height + 1) // 2, (width + 1) // 2)
    return (rng.integers(0, 256, (height, width), dtype=np.uint8),
            rng.integers(0, 256, chroma, dtype=np.uint8), rng.integers(0, 256, chroma, dtype=np.uint8))


def pack(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, layout: str, row_padding: int, rotation: int,
         seed: int = 1) -> Yuv420Frame:
    """The planes in ``layout`` with rows ``row_padding`` bytes wider than they need, padding
    filled with noise (a reader that strays into it gets wrong bytes), and each buffer cut right
    after its last sample, as Android's plane buffers are."""
    rng = np.random.default_rng(seed)
    height, width = y.shape
    chroma_height, chroma_width = cb.shape

    def strided(samples: np.ndarray, pixel_stride: int, row_stride: int) -> np.ndarray:
        rows, columns = samples.shape
        buffer = rng.integers(0, 256, rows * row_stride, dtype=np.uint8)
        view = buffer.reshape(rows, row_stride)
        view[:, 0:columns * pixel_stride:pixel_stride] = samples
        return buffer

    def cut(buffer: np.ndarray, start: int, rows: int, columns: int, pixel_stride: int, row_stride: int) -> Plane:
        end = start + (rows - 1) * row_stride + (columns - 1) * pixel_stride + 1
        return Plane(buffer[start:end].tobytes(), row_stride, pixel_stride)

    luma_stride = width + row_padding
    luma = cut(strided(y, 1, luma_stride), 0, height, width, 1, luma_stride)
    if layout == "i420":
        stride = chroma_width + row_padding
        u = cut(strided(cb, 1, stride), 0, chroma_height, chroma_width, 1, stride)
        v = cut(strided(cr, 1, stride), 0, chroma_height, chroma_width, 1, stride)
    else:
        stride = 2 * chroma_width + row_padding
        first, second = (cr, cb) if layout == "nv21" else (cb, cr)
        interleaved = np.stack([first, second], axis=-1).reshape(chroma_height, 2 * chroma_width)
        buffer = strided(interleaved, 1, stride)
        first_plane = cut(buffer, 0, chroma_height, chroma_width, 2, stride)
        second_plane = cut(buffer, 1, chroma_height, chroma_width, 2, stride)
        u, v = (second_plane, first_plane) if layout == "nv21" else (first_plane, second_plane)
    return Yuv420Frame(width, height, luma, u, v, rotation)


def frame_from_rgb(upright_rgb: np.ndarray, layout: str = "nv21", rotation: int = 0, row_padding: int = 0) -> Yuv420Frame:
    return pack(*sensor_planes(upright_rgb, rotation), layout, row_padding, rotation)
