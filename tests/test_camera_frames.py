"""Camera frames (YUV_420_888): the Python reference of the camera-frame contract, and the
generated Kotlin byte-identical to it on the JVM over rotations, odd sizes, chroma layouts and
row strides."""

import struct

import numpy as np
import pytest
from camera_frames import LAYOUTS, frame_from_rgb, noise_planes, pack
from PIL import Image

from mnv3_sdk.imaging.camera import Plane, Yuv420Frame, preprocess_yuv, sensor_crop, ycbcr_to_rgb
from mnv3_sdk.imaging.preprocess import (
    center_crop_box,
    preprocess_rgb,
    resize_box,
    safe_box,
)


def sample_photos():
    from sklearn.datasets import load_sample_images

    return load_sample_images().images  # china.jpg and flower.jpg, 427×640


# --- the reference ------------------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(7, 5), (8, 6), (1, 1), (2, 9), (640, 480), (33, 100)])
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("crop_fraction", [0.875, 1.0, 0.5])
def test_sensor_crop_is_the_upright_central_square(width, height, rotation, crop_fraction):
    """The sensor box holds exactly the upright frame's central square: rotating the sensor's crop
    clockwise gives the upright crop, pixel for pixel (every pixel value is unique)."""
    sensor = np.arange(width * height, dtype=np.int64).reshape(height, width)
    upright = np.rot90(sensor, k=-(rotation // 90))
    box = center_crop_box(upright.shape[1], upright.shape[0], crop_fraction)
    expected = upright[box.top:box.top + box.side, box.left:box.left + box.side]
    frame = Yuv420Frame(width, height, Plane(b"", 1, 1), Plane(b"", 1, 1), Plane(b"", 1, 1), rotation)
    left, top, side = sensor_crop(frame, crop_fraction)
    np.testing.assert_array_equal(np.rot90(sensor[top:top + side, left:left + side], k=-(rotation // 90)), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row_padding", [0, 13])
def test_layout_and_row_stride_do_not_change_the_result(layout, row_padding):
    planes = noise_planes(101, 77, seed=3)
    expected = preprocess_yuv(pack(*planes, "i420", 0, rotation=90), 32, 0.875)
    np.testing.assert_array_equal(preprocess_yuv(pack(*planes, layout, row_padding, rotation=90), 32, 0.875), expected)


@pytest.mark.parametrize("box", [(10.5, 3.5, 60.5, 53.5), (0.0, 0.0, 37.5, 37.5), (100.5, 20.0, 300.5, 220.0)])
@pytest.mark.parametrize("size", [16, 40])
@pytest.mark.parametrize("vertical_first", [False, True])
def test_a_chroma_box_resizes_as_pillow_does(box, size, vertical_first):
    """Chroma boxes are fractional (the luma box halved), planes have one channel, and camera frames
    run the vertical pass first: still Pillow's resize, within the one level the pass order moves
    (Pillow 13 picks its order itself, see tests/test_preprocess.py)."""
    plane = np.random.default_rng(int(box[2])).integers(0, 256, (240, 320), dtype=np.uint8)
    ours = resize_box(plane[..., None], box, size, vertical_first)[..., 0]
    pillow = np.asarray(Image.fromarray(plane).resize((size, size), Image.BILINEAR, box=box, reducing_gap=2.0))
    difference = np.abs(ours.astype(int) - pillow.astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.5
    if int((box[2] - box[0]) / size / 2.0) > 1:  # the reduced region, as Pillow's _get_safe_box
        assert safe_box(320, 240, box, size) == Image.fromarray(plane)._get_safe_box((size, size), Image.BILINEAR, box)


def convert_first(frame: Yuv420Frame, size: int, crop_fraction: float) -> np.ndarray:
    """The obvious alternative order: build the RGB frame (chroma repeated 2×2), rotate it, then § 3."""
    chroma = ((frame.height + 1) // 2, (frame.width + 1) // 2)
    y = frame.y.samples(frame.width, frame.height)
    cb, cr = (np.repeat(np.repeat(plane.samples(chroma[1], chroma[0]), 2, 0), 2, 1)[:frame.height, :frame.width]
              for plane in (frame.u, frame.v))
    rgb = np.ascontiguousarray(np.rot90(ycbcr_to_rgb(y, cb, cr), k=-(frame.rotation // 90)))
    return preprocess_rgb(rgb, size, crop_fraction)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_resizing_before_converting_differs_from_converting_first_by_rounding_only(rotation):
    """The contract's order against building an RGB frame first, on real photos: the same picture,
    upright, within rounding (camera frames have 2×2 chroma either way)."""
    for photo in sample_photos():
        frame = frame_from_rgb(photo, "nv21", rotation)
        ours = preprocess_yuv(frame, 224, 0.875).astype(int)
        difference = np.abs(ours - convert_first(frame, 224, 0.875).astype(int))
        assert difference.mean() < 1.0, difference.mean()
        assert np.percentile(difference, 99) <= 4
        # And upright: the same photo through the RGB path is far closer than any other rotation.
        rgb_path = preprocess_rgb(photo, 224, 0.875).astype(int)
        assert np.abs(ours - rgb_path).mean() < 3.0
        assert np.abs(np.rot90(ours, 1) - rgb_path).mean() > 10.0


def test_a_short_or_overlapping_plane_is_refused():
    y, cb, cr = noise_planes(8, 6, seed=0)
    frame = pack(y, cb, cr, "i420", 0, rotation=0)
    with pytest.raises(ValueError, match="need 48"):
        preprocess_yuv(Yuv420Frame(8, 6, Plane(frame.y.data[:-1], 8, 1), frame.u, frame.v), 4, 1.0)
    with pytest.raises(ValueError, match="shorter than a row"):
        preprocess_yuv(Yuv420Frame(8, 6, Plane(frame.y.data, 7, 1), frame.u, frame.v), 4, 1.0)
    with pytest.raises(ValueError, match="rotation"):
        preprocess_yuv(Yuv420Frame(8, 6, frame.y, frame.u, frame.v, rotation=45), 4, 1.0)


# --- the generated Kotlin -----------------------------------------------------------------------


def write_case(path, frame: Yuv420Frame, size: int, crop_fraction: float, direct: bool = True) -> None:
    data = struct.pack(">iiiid", frame.width, frame.height, frame.rotation, size, crop_fraction)
    for plane in (frame.y, frame.u, frame.v):
        data += struct.pack(">iiii", plane.row_stride, plane.pixel_stride, int(direct), len(plane.data)) + plane.data
    path.write_bytes(data)


def camera_cases() -> dict[str, tuple[Yuv420Frame, int, float, bool]]:
    china, flower = sample_photos()
    cases = {}
    for rotation in (0, 90, 180, 270):
        for layout in LAYOUTS:
            cases[f"china_{layout}_{rotation}"] = (frame_from_rgb(china, layout, rotation, row_padding=32), 224, 0.875, True)
        cases[f"flower_odd_{rotation}"] = (frame_from_rgb(flower[:425, :637], "nv21", rotation, row_padding=3), 224, 0.875, False)
        for width, height in ((1, 1), (3, 1000), (1001, 3), (641, 479), (33, 17)):
            cases[f"noise_{width}x{height}_{rotation}"] = (
                pack(*noise_planes(width, height, seed=width + rotation), "nv12", 5, rotation), 224, 0.875, rotation % 180 == 0)
    for width, height in ((640, 480), (1280, 720), (1920, 1080), (4000, 3000)):  # camera sizes; 1080p+ reduce first
        cases[f"camera_{width}x{height}"] = (pack(*noise_planes(width, height, seed=width), "nv21", 64, 90), 224, 0.875, True)
    cases["camera_1920x1080_full_crop_192"] = (pack(*noise_planes(1920, 1080, seed=9), "i420", 0, 270), 192, 1.0, True)
    cases["exact_224"] = (pack(*noise_planes(224, 224, seed=7), "i420", 0, 0), 224, 1.0, True)
    cases["crop_only_256"] = (pack(*noise_planes(256, 256, seed=8), "nv21", 0, 180), 224, 0.875, True)
    return cases


def test_kotlin_camera_frames_are_byte_identical_to_python(harness, tmp_path):
    cases = camera_cases()
    for name, (frame, size, crop_fraction, direct) in cases.items():
        write_case(tmp_path / f"{name}.yuv", frame, size, crop_fraction, direct)
    harness.run("yuv", str(tmp_path))
    mismatched = []
    for name, (frame, size, crop_fraction, _) in cases.items():
        expected = preprocess_yuv(frame, size, crop_fraction)
        kotlin = np.frombuffer((tmp_path / f"{name}.rgb").read_bytes(), dtype=np.uint8).reshape(size, size, 3)
        if not np.array_equal(kotlin, expected):
            mismatched.append(f"{name}: {np.count_nonzero(kotlin != expected)} bytes differ")
    assert not mismatched, mismatched


def test_kotlin_refuses_planes_that_do_not_hold_the_frame(harness, tmp_path):
    """Android's YUV_420_888 rules (android.media.Image.Plane): a buffer that ends before the last
    sample, or a row stride shorter than a row, is an IllegalArgumentException naming the plane."""
    y, cb, cr = noise_planes(8, 6, seed=0)
    frame = pack(y, cb, cr, "nv21", 0, rotation=0)
    bad = {
        "short_y": Yuv420Frame(8, 6, Plane(frame.y.data[:-1], 8, 1), frame.u, frame.v),
        "short_v": Yuv420Frame(8, 6, frame.y, frame.u, Plane(frame.v.data[:-1], frame.v.row_stride, 2)),
        "narrow_u": Yuv420Frame(8, 6, frame.y, Plane(frame.u.data, 6, 2), frame.v),
        "rotation": Yuv420Frame(8, 6, frame.y, frame.u, frame.v, rotation=45),
    }
    for name, case in bad.items():
        write_case(tmp_path / f"{name}.yuv", case, 4, 1.0)
    harness.run("yuv", str(tmp_path))
    errors = {name: (tmp_path / f"{name}.error").read_text() for name in bad}
    assert errors == {
        "short_y": "Y plane holds 47 bytes, 8×6 samples need 48",
        "short_v": "V plane holds 22 bytes, 4×3 samples need 23",
        "narrow_u": "U plane: row stride 6 is shorter than a row of 4 samples",
        "rotation": "rotationDegrees must be 0, 90, 180 or 270, got 45",
    }


def test_kotlin_colour_conversion_is_pillows_for_every_ycbcr_triple(harness, tmp_path):
    """All 2^24 (Y, Cb, Cr) triples through the library's conversion and through Pillow's
    Image.convert("RGB") (libImaging/ConvertYCbCr.c): identical."""
    every = np.arange(1 << 24, dtype=np.uint32)
    planes = [((every >> shift) & 0xFF).astype(np.uint8).reshape(4096, 4096) for shift in (16, 8, 0)]
    (tmp_path / "planes").write_bytes(b"".join(plane.tobytes() for plane in planes))
    harness.run("ycbcr", str(tmp_path / "planes"), str(tmp_path / "rgb"))
    kotlin = np.frombuffer((tmp_path / "rgb").read_bytes(), dtype=np.uint8).reshape(4096, 4096, 3)
    np.testing.assert_array_equal(kotlin, ycbcr_to_rgb(*planes))
