"""The generated Kotlin, run on the JVM, agrees with the Python side byte for byte."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import digits_build_args
from digits import CROP_FRACTION, INPUT_SIZE

from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import argb_to_rgb, preprocess_rgb
from mnv3_sdk.pte.runtime import LoadedModel


def to_argb(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """RGB bytes → Android ARGB ints, with random alpha that the contract must ignore."""
    alpha = np.random.default_rng(seed).integers(0, 256, rgb.shape[:2], dtype=np.uint32)
    rgb32 = rgb.astype(np.uint32)
    return ((alpha << 24) | (rgb32[..., 0] << 16) | (rgb32[..., 1] << 8) | rgb32[..., 2]).astype(np.uint32)


def kotlin_preprocess(harness, folder, images: dict[str, tuple[np.ndarray, int, float]]) -> dict[str, bytes]:
    for name, (rgb, size, crop_fraction) in images.items():
        height, width = rgb.shape[:2]
        header = struct.pack(">iiid", width, height, size, crop_fraction)
        (folder / f"{name}.case").write_bytes(header + to_argb(rgb).astype(">u4").tobytes())
    harness.run("preprocess", str(folder))
    for name in images:  # the same bytes when the pixels come through a PixelSource, band by band
        assert (folder / f"{name}.banded").read_bytes() == (folder / f"{name}.rgb").read_bytes(), name
    return {name: (folder / f"{name}.rgb").read_bytes() for name in images}


def sample_photos():
    from sklearn.datasets import load_sample_images

    return load_sample_images().images


def test_kotlin_preprocessing_is_byte_identical_to_python(harness, tmp_path):
    rng = np.random.default_rng(1)
    china, flower = sample_photos()
    cases = {
        "china_224": (china, 224, 0.875),
        "flower_192": (flower, 192, 0.875),
        "flower_full_crop": (flower, 224, 1.0),
        "one_pixel": (rng.integers(0, 256, (1, 1, 3), dtype=np.uint8), 224, 0.875),
        "tall_3x1000": (rng.integers(0, 256, (1000, 3, 3), dtype=np.uint8), 224, 0.875),
        "wide_1000x3": (rng.integers(0, 256, (3, 1000, 3), dtype=np.uint8), 224, 0.875),
        "landscape_4000x3000": (rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8), 224, 0.875),
        "portrait_3000x4000": (rng.integers(0, 256, (4000, 3000, 3), dtype=np.uint8), 224, 0.875),
        "exact_224": (rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), 224, 1.0),
        "crop_only_256": (rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), 224, 0.875),
        "upscale_97x131": (rng.integers(0, 256, (97, 131, 3), dtype=np.uint8), 160, 0.9),
        # The first stage (block reduction) at factors 2 and 3, with partial blocks at the edges.
        "hd_1920x1080": (rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), 224, 0.875),
        "reduce_by_2_exactly": (rng.integers(0, 256, (896, 896, 3), dtype=np.uint8), 224, 1.0),
        # 2×2 blocks summing to the extremes (0, 1020) and around the rounding steps, which the
        # factor-2 reduction rounds for red and blue together in one int.
        "reduce_by_2_extremes": (rng.choice(np.array([0, 1, 2, 253, 254, 255], dtype=np.uint8), (1080, 1920, 3)), 224, 0.875),
        "reduce_odd_131x97": (rng.integers(0, 256, (131, 97, 3), dtype=np.uint8), 16, 1.0),
        "china_64": (china, 64, 0.875),
        "reduce_by_306_to_1": (rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8), 1, 0.875),
    }
    kotlin = kotlin_preprocess(harness, tmp_path, cases)
    for name, (rgb, size, crop_fraction) in cases.items():
        python = preprocess_rgb(argb_to_rgb(to_argb(rgb), rgb.shape[1], rgb.shape[0]), size, crop_fraction)
        assert kotlin[name] == python.tobytes(), name


def test_a_12_megapixel_source_is_read_in_bands_of_the_crop_only(harness, tmp_path):
    """classify(bitmap) reads through getPixels: only the crop and the filter's reach, a few rows
    at a time (peak buffer well under a megapixel), never the whole 48 MB frame."""
    rgb = np.random.default_rng(2).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    kotlin_preprocess(harness, tmp_path, {"photo": (rgb, 224, 0.875)})
    reads, pixels, largest = map(int, (tmp_path / "photo.reads").read_text().split())
    crop = 2625 * 2625
    assert crop <= pixels <= 1.01 * crop  # the crop plus a few pixels of filter reach
    assert largest <= 5 * 2640  # one block row (factor 5) of the crop and its filter reach
    assert reads >= 2625 // 5


def test_a_region_turned_upright_preprocesses_as_the_upright_image_byte_for_byte(harness, tmp_path):
    """Issue 23 items 6 and 7: classify(bitmap, ImageProcessingOptions(region, rotation)) reads the
    bitmap through UprightRegion, MediaPipe's order (crop the region as stored, then rotate it). The
    bytes equal Python's preprocess_rgb of np.rot90(rgb[top:bottom, left:right]) (Pillow's filter),
    and a photo stored sideways with its rotation gives the very bytes of the upright photo."""
    rng = np.random.default_rng(3)
    china, flower = sample_photos()
    upright = china[:, :600]  # portrait-ish crop of a real photo, 427×600
    cases = {}  # name: (stored rgb, size, crop, rotation, region)
    for rotation in (0, 90, 180, 270, -90, 450):
        # Stored as a camera that needs `rotation` clockwise to be upright would store it.
        stored = np.ascontiguousarray(np.rot90(upright, k=rotation // 90))
        cases[f"sideways_{rotation}"] = (stored, 224, 0.875, rotation, (0, 0, stored.shape[1], stored.shape[0]))
    cases["region_odd_90"] = (flower, 96, 0.875, 90, (101, 33, 388, 402))
    cases["region_big_270"] = (rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), 224, 1.0, 270, (17, 9, 1903, 1061))
    cases["region_thin_180"] = (rng.integers(0, 256, (50, 300, 3), dtype=np.uint8), 32, 0.875, 180, (5, 3, 299, 11))
    cases["one_pixel_90"] = (rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), 8, 1.0, 90, (2, 1, 3, 2))
    for name, (rgb, size, crop, rotation, (left, top, right, bottom)) in cases.items():
        header = struct.pack(">iiid5i", rgb.shape[1], rgb.shape[0], size, crop, rotation, left, top, right, bottom)
        (tmp_path / f"{name}.upright").write_bytes(header + to_argb(rgb).astype(">u4").tobytes())
    harness.run("upright", str(tmp_path))
    for name, (rgb, size, crop, rotation, (left, top, right, bottom)) in cases.items():
        region = np.ascontiguousarray(np.rot90(rgb[top:bottom, left:right], k=-(rotation // 90)))
        python = preprocess_rgb(region, size, crop)
        assert (tmp_path / f"{name}.rgb").read_bytes() == python.tobytes(), name
    upright_bytes = preprocess_rgb(upright, 224, 0.875).tobytes()
    for rotation in (0, 90, 180, 270, -90, 450):
        assert (tmp_path / f"sideways_{rotation}.rgb").read_bytes() == upright_bytes, rotation


def test_kotlin_made_input_gives_the_same_top5_through_the_pte(harness, digits, digits_build, tmp_path):
    paths = sorted(digits.val_dir.rglob("*.png"))[::20]
    from mnv3_sdk.imaging.files import read_rgb

    images = {f"digit{i:03d}": (read_rgb(path), INPUT_SIZE, CROP_FRACTION) for i, path in enumerate(paths)}
    kotlin = kotlin_preprocess(harness, tmp_path, images)
    model = LoadedModel(digits_build / "digits-fp32.pte")
    for name, (rgb, size, crop_fraction) in images.items():
        from_kotlin = to_model_input(np.frombuffer(kotlin[name], dtype=np.uint8).reshape(size, size, 3), "pixels")
        from_python = to_model_input(preprocess_rgb(rgb, size, crop_fraction), "pixels")
        top5_kotlin = model.run(from_kotlin).topk(5).indices.tolist()
        top5_python = model.run(from_python).topk(5).indices.tolist()
        assert top5_kotlin == top5_python, name


def python_top_categories(logits, labels, max_results, threshold, allow, deny):
    shifted = np.exp(logits.astype(np.float64) - logits.max())
    scores = (shifted / shifted.sum()).astype(np.float32)
    keep = [i for i in range(len(labels)) if scores[i] >= threshold and (not allow or labels[i] in allow)
            and labels[i] not in deny]
    keep.sort(key=lambda i: (-scores[i], i))
    return scores, keep[:max_results]


@pytest.mark.parametrize(
    "max_results, threshold, allow, deny",
    [(5, 0.0, [], []), (3, 0.02, [], []), (10, 0.0, ["c1", "c5", "c7"], []), (4, 0.0, [], ["c0", "c2", "c9"]),
     (5, 0.99, [], [])],
)
def test_softmax_topk_threshold_and_label_filters_match_python(harness, tmp_path, max_results, threshold, allow, deny):
    rng = np.random.default_rng(max_results)
    labels = [f"c{i}" for i in range(12)]
    logits = rng.normal(0, 2, 12).astype(np.float32)
    logits[3] = logits[4]  # a tie: the lower index comes first

    def utf(text):
        data = text.encode("utf-8")
        return struct.pack(">H", len(data)) + data

    payload = struct.pack(">i", len(logits)) + logits.astype(">f4").tobytes()
    payload += struct.pack(">if", max_results, threshold)
    payload += struct.pack(">i", len(allow)) + b"".join(map(utf, allow))
    payload += struct.pack(">i", len(deny)) + b"".join(map(utf, deny))
    payload += struct.pack(">i", len(labels)) + b"".join(map(utf, labels))
    case = tmp_path / "post.bin"
    case.write_bytes(payload)
    harness.run("postprocess", str(case))
    lines = (tmp_path / "post.bin.out").read_text().splitlines()
    kotlin_scores = np.array([float(v) for v in lines[0].split()], dtype=np.float32)
    kotlin_top = [(int(line.split()[0]), float(line.split()[1])) for line in lines[1:]]

    scores, top = python_top_categories(logits, labels, max_results, threshold, set(allow), set(deny))
    np.testing.assert_allclose(kotlin_scores, scores, rtol=1e-6, atol=1e-7)
    assert [index for index, _ in kotlin_top] == top
    assert abs(sum(kotlin_scores) - 1.0) < 1e-5


WEIRD_LABELS = ['say "cheese"', "$HOME ${evil}", "back\\slash", "*/ close comment", "🐱 cat", "猫",
                "naïve café", "tab\tinside", "\\u0041 not an escape", "ten"]


@pytest.fixture(scope="session")
def weird_labels_build(digits, tmp_path_factory):
    from conftest import made_once, run_cli_once

    def make(folder: Path) -> Path:
        labels = folder / "labels.txt"
        labels.write_text("\n".join(WEIRD_LABELS) + "\n", encoding="utf-8")
        out = folder / "weird"
        args = digits_build_args(digits, out, aar=True)
        args[args.index("--labels") + 1] = str(labels)
        del args[args.index("--val-dir"):args.index("--val-dir") + 2]  # folder names are the digit labels
        assert run_cli_once(*args) == 0
        return out

    return made_once(tmp_path_factory, "weird-labels-build", make)


def test_labels_with_any_characters_survive_into_the_running_kotlin(harness, weird_labels_build):
    from mnv3_sdk.pte.metadata import read_from_pte

    embedded = read_from_pte(weird_labels_build / "weird.pte")
    assert embedded.labels == WEIRD_LABELS
    metadata_file = weird_labels_build / "metadata.json"
    harness.run("metadata", str(metadata_file))
    lines = (metadata_file.parent / "metadata.json.out").read_text(encoding="utf-8").split("\n")
    assert lines[:5] == ["mobilenet_v3_small", "fp32", "float32", "32", "1.0"]
    assert lines[5:] == WEIRD_LABELS


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("input_format", ["pixels", "normalized"])
def test_kotlin_fills_the_input_tensor_exactly_as_python_feeds_the_pte(harness, tmp_path, input_format, dtype):
    """ModelInput writes what mnv3_sdk.imaging.model_input.to_model_input gives, cast as LoadedModel.run casts:
    every byte value in every channel, CHW order, float32 or float16 bits."""
    from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD

    size = 17  # odd, and 289 pixels: each channel holds every byte value
    rng = np.random.default_rng(3)
    rgb = np.stack([np.resize(rng.permutation(256), size * size) for _ in range(3)], axis=-1)
    rgb = rgb.astype(np.uint8).reshape(size, size, 3)
    metadata = {"format": "mnv3-sdk/2", "model": {"arch": "mobilenet_v3_small"}, "quant": "fp32", "labels": ["a"],
                "input": {"dtype": dtype, "shape": [1, 3, size, size], "crop_fraction": 0.875,
                          "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
                          "normalized_in_graph": input_format == "pixels"}}
    (tmp_path / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    (tmp_path / "image.rgb").write_bytes(rgb.tobytes())
    harness.run("model-input", str(tmp_path / "metadata.json"), str(tmp_path / "image.rgb"), str(tmp_path / "out"))
    expected = to_model_input(rgb, input_format).to(getattr(torch, dtype)).numpy()
    assert (tmp_path / "out").read_bytes() == expected.astype(expected.dtype.newbyteorder("<")).tobytes()


def test_kotlin_float16_conversion_rounds_like_torch(harness, tmp_path):
    """Round to nearest, ties to even, over normals, subnormals, exact ties, overflow and infinities."""
    rng = np.random.default_rng(0)
    halves = np.arange(0, 1 << 16, dtype=np.uint16).view(np.float16)
    finite = halves[np.isfinite(halves)].astype(np.float32)
    ordered = np.sort(np.unique(finite))
    ties = ((ordered[:-1].astype(np.float64) + ordered[1:]) / 2).astype(np.float32)  # exactly halfway
    values = np.concatenate([
        finite, ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
        rng.standard_normal(20000).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, 20000),
        np.array([65504, 65519.99, 65520, 1e9, -1e9, np.inf, -np.inf, 1e-8, -1e-8, 2.0 ** -25, 0.0, -0.0],
                 dtype=np.float32),
    ]).astype("<f4")
    (tmp_path / "floats").write_bytes(values.tobytes())
    harness.run("half", str(tmp_path / "floats"), str(tmp_path / "halves"))
    kotlin = np.frombuffer((tmp_path / "halves").read_bytes(), dtype="<u2")
    python = torch.from_numpy(values.astype(np.float32)).half().view(torch.int16).numpy().view(np.uint16)
    mismatches = np.nonzero(kotlin != python)[0]
    assert mismatches.size == 0, [(float(values[i]), hex(kotlin[i]), hex(python[i])) for i in mismatches[:5]]


def test_labels_never_enter_the_generated_source(weird_labels_build):
    sources = "".join(p.read_text(encoding="utf-8") for p in (weird_labels_build / "android").rglob("*.kt"))
    for label in ("cheese", "close comment", "猫"):
        assert label not in sources


def test_metadata_json_escapes_are_read_like_python(harness, tmp_path):
    document = {"format": "mnv3-sdk/2", "model": {"arch": "mobilenet_v3_small"}, "quant": "fp32",
                "input": {"dtype": "float32", "shape": [1, 3, 8, 8], "crop_fraction": 0.875, "mean": [0, 0, 0],
                          "std": [1, 1, 1], "normalized_in_graph": True},
                "labels": ["\u0000ctl", "emoji 😀", "quote \" and \\", "/slash", "\u2028line sep"]}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(document, ensure_ascii=True), encoding="utf-8")  # \\u escapes, surrogates
    harness.run("metadata", str(path))
    lines = (tmp_path / "metadata.json.out").read_text(encoding="utf-8").split("\n")
    assert lines[5:] == ["\u0000ctl", "emoji 😀", "quote \" and \\", "/slash", "\u2028line sep"]


def test_metadata_values_of_the_wrong_type_are_rejected_not_coerced(harness, tmp_path):
    """org.json's getString/getDouble coerce on Android (a label 5 becomes "5", "0.875" a number):
    ModelMetadata checks the types itself, so the JVM's org.json:json and Android's agree."""
    good = {"format": "mnv3-sdk/2", "model": {"arch": "mobilenet_v3_small"}, "quant": "fp32",
            "input": {"dtype": "float32", "shape": [1, 3, 8, 8], "crop_fraction": 0.875, "mean": [0, 0, 0],
                      "std": [1, 1, 1], "normalized_in_graph": True},
            "labels": ["a", "b"]}
    cases = {
        "number_label": {**good, "labels": ["a", 5]},
        "string_crop": {**good, "input": {**good["input"], "crop_fraction": "0.875"}},
        "no_input": {key: value for key, value in good.items() if key != "input"},
        "no_quant": {key: value for key, value in good.items() if key != "quant"},
        "short_shape": {**good, "input": {**good["input"], "shape": [1]}},
        "string_flag": {**good, "input": {**good["input"], "normalized_in_graph": "true"}},
        "uint8_input": {**good, "input": {**good["input"], "dtype": "uint8"}},
        "unknown_quant": {**good, "quant": "int4"},
        "other_format": {**good, "format": "mnv3-sdk/3"},
    }
    for name, document in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        assert harness.run("metadata-error", str(path)).startswith("IllegalArgumentException: "), name
    path = tmp_path / "format_1.json"
    path.write_text(json.dumps({**good, "format": "mnv3-sdk/1"}), encoding="utf-8")
    assert "from an older mnv3-sdk" in harness.run("metadata-error", str(path))
    path = tmp_path / "not_json.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert "not a JSON object" in harness.run("metadata-error", str(path))
    path.write_text(json.dumps(good), encoding="utf-8")
    assert harness.run("metadata-error", str(path)).strip() == "parsed"


def harness_lines(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines())


def test_inference_threads_are_decided_once_per_process(harness):
    """ExecuTorch's Android runtime resizes ONE process-wide thread pool on every Module.load
    (extension/android/jni/jni_layer.cpp, v1.4.1 and main: numThreads != 0 ? numThreads :
    cpuinfo_get_processors_count() / 2, then threadpool->_unsafe_reset_threadpool(thread_count)),
    and extension/threadpool/threadpool.cpp recreates the pool for a different count (a no-op for the
    same count or 0). So the first load decides, atomically (64 first loads racing on 16 threads
    agree on one count); 0 later means the decided count, passed explicitly; another count is
    refused naming both; a second generated library shares the decision; the default count is
    computed only when it decides."""
    result = harness_lines(harness.run("threads"))
    assert result["before"] == "0"
    assert result["first_default"] == "4"
    assert result["then_default"] == result["then_same"] == result["current"] == "4"
    assert result["then_other"].startswith("IllegalStateException: numThreads = 2, ")
    assert "already runs 4 threads" in result["then_other"]
    assert result["first_explicit"] == result["then_default_after_explicit"] == result["default_not_asked"] == "3"
    assert result["this_library"] == result["other_library_default"] == "6"
    assert "numThreads = 2" in result["other_library_other"] and "runs 6 threads" in result["other_library_other"]
    decided = result["race_decided"]
    assert decided in {"1", "2", "3", "4"} and result["race"] == f"{decided},refused"  # 0 proposes 4


def arm_cpuinfo(online: int) -> str:
    """/proc/cpuinfo of an arm64 kernel, which lists the processors online."""
    return "".join(f"processor\t: {n}\nBogoMIPS\t: 38.40\nCPU part\t: 0xd05\n\n" for n in range(online))


@pytest.mark.parametrize(("possible", "present", "cpuinfo", "arch", "count"), [
    ("0-7", "0-7", arm_cpuinfo(8), "aarch64", 8),
    ("0-7", "0-7", arm_cpuinfo(4), "aarch64", 4),  # cores 4-7 offline: /proc/cpuinfo lists 0-3 only
    ("0-7", "0-7", arm_cpuinfo(4), "x86_64", 8),  # x86: cpuinfo does not require /proc/cpuinfo's list
    ("0-3,6-7", "0-7", None, "x86_64", 6),  # possible and present intersect
    ("0-7", None, None, "x86_64", 8),  # one list alone
    ("0-7", "0-5", "", "aarch64", 6),  # an unreadable /proc/cpuinfo does not filter
])
def test_the_default_thread_count_is_executorchs_rule(harness, tmp_path, possible, present, cpuinfo, arch, count):
    """Issue 23 item 9: with numThreads 0, the first load decided availableProcessors() / 2, which is
    not what ExecuTorch does. Module.load(path, mode, 0) takes cpuinfo_get_processors_count() / 2
    (jni_layer.cpp; the performance-core rule, get_num_performant_cores, is its LLM runner's, and the
    pool's initial size is overridden by the load), and pytorch/cpuinfo counts on Linux the
    processors in both /sys/devices/system/cpu/possible and present, on ARM also reported in
    /proc/cpuinfo (src/arm/linux/init.c: valid_processors; src/x86/linux/init.c). Runtime.
    availableProcessors() counts the processors online (Dalvik: sysconf(_SC_NPROCESSORS_ONLN)) or
    those the process may run on (OpenJDK): another number whenever cores are offline or reserved."""
    folder = tmp_path / "cpu"
    folder.mkdir()
    (folder / "possible").write_text(possible + "\n")
    if present is not None:
        (folder / "present").write_text(present + "\n")
    info = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        info.write_text(cpuinfo)
    assert harness.run("cpus", str(folder), str(info), arch).strip() == str(count)


def test_the_default_thread_count_on_this_machine(harness):
    """On this host (Linux, x86_64) the first claim of 0 reads the real files: possible and present.
    The JVM is told it has 8 processors (-XX:ActiveProcessorCount, what availableProcessors()
    returns), which cpuinfo, and so ExecuTorch's Module.load, does not see: the count must not
    follow it (it did: availableProcessors() / 2 = 4)."""
    import subprocess

    def cpus(name: str) -> set[int]:
        found: set[int] = set()
        for part in Path(f"/sys/devices/system/cpu/{name}").read_text().strip().split(","):
            low, _, high = part.partition("-")
            found.update(range(int(low), int(high or low) + 1))
        return found

    command = harness.command("default-claim")
    command.insert(1, "-XX:ActiveProcessorCount=8")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    claimed, available = result.stdout.split()
    assert available == "8"
    assert int(claimed) == max(1, len(cpus("possible") & cpus("present")) // 2)


def test_model_copy_is_cached_by_key_checked_and_redone_when_damaged(harness, tmp_path):
    """ModelFileCache: the asset is read only when the key (install time) changes; a copy truncated or
    rewritten on disk is made again; a short read or a copy that differs from what was read (its
    SHA-256) is retried once, then fails leaving the previous copy; threads racing make one copy."""
    source = tmp_path / "model.bin"
    source.write_bytes(np.random.default_rng(0).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes())
    folder = tmp_path / "cache"
    lines = harness.run("cache", str(folder), str(source)).splitlines()
    failed = next(line for line in lines if line.startswith("short_read_twice "))
    result = {line.split()[0]: dict(item.split("=", 1) for item in line.split()[1:]) for line in lines if line != failed}
    expected_opens = {"first": "1", "again": "0", "new_key": "1", "truncated_copy": "1", "rewritten_copy": "1",
                      "short_read_then_good": "2", "garbled_copy_then_good": "2", "threads": "1"}
    for name, opens in expected_opens.items():
        assert result[name] == {"opens": opens, "same": "true", "leftovers": "0"}, name
    assert "opens=2 error=read 2999900 bytes of model.pte, expected 3000000 still_previous=true leftovers=0" in failed
    assert result["racing_threads"] == {"distinct": "1"}
    assert sorted(p.name for p in folder.iterdir()) == ["model.pte", "model.pte.stamp"]


def test_processes_racing_to_copy_the_model_all_get_the_whole_file(harness, tmp_path):
    """Two processes of one app (or two `create` calls racing) copy through unique temporary files
    renamed atomically: every caller gets the complete model, and no partial file is left."""
    import hashlib
    import subprocess

    source = tmp_path / "model.bin"
    source.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000_000, dtype=np.uint8).tobytes())
    folder = tmp_path / "cache"
    processes = [subprocess.Popen(harness.command("cache-race", str(folder), str(source), "install-1"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=300) for process in processes]
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert stdout.strip() == expected
    assert hashlib.sha256((folder / "model.pte").read_bytes()).hexdigest() == expected
    assert sorted(p.name for p in folder.iterdir()) == ["model.pte", "model.pte.stamp"]


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_copy_killed_half_way_leaves_no_temporary_file_after_the_next_start(harness, tmp_path):
    """Issue 23 item 8: a process killed during the model's copy (SIGKILL, as Android's low-memory
    killer ends a background app) left its .tmp in app storage for ever. The next start's copy
    deletes every temporary file no running copy holds a lock on (a copy locks its own until the
    rename; the kernel drops a dead process's locks), and leaves the one of a copy still running in
    another process, which then completes: both get the whole file."""
    import hashlib
    import subprocess

    source = tmp_path / "model.bin"
    source.write_bytes(np.random.default_rng(2).integers(0, 256, 16_000_000, dtype=np.uint8).tobytes())
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    folder = tmp_path / "cache"
    killed = subprocess.Popen(harness.command("cache-slow", str(folder), str(source), "install-1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any(p.stat().st_size > 0 for p in folder.glob("*.tmp")), "the copy to start")
    killed.kill()
    killed.communicate(timeout=60)
    [abandoned] = folder.glob("*.tmp")
    # The app starts again and copies (slowly): its first step removes the abandoned file.
    running = subprocess.Popen(harness.command("cache-slow", str(folder), str(source), "install-2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: not abandoned.exists() and list(folder.glob("*.tmp")), "the abandoned copy to be removed",
              timeout=30)
    [in_progress] = folder.glob("*.tmp")
    # Another process of the app starts meanwhile: it must leave the running copy's file alone.
    assert harness.run("cache-race", str(folder), str(source), "install-2").strip() == expected
    still_running = running.poll() is None
    assert still_running and in_progress.exists(), "the running copy's temporary file was deleted under it"
    stdout, stderr = running.communicate(timeout=300)
    assert running.returncode == 0, stderr
    assert stdout.strip() == expected
    assert sorted(p.name for p in folder.iterdir()) == ["model.pte", "model.pte.stamp"]


def test_benchmark_result_is_whole_when_it_appears_and_failures_carry_the_error_code(harness, tmp_path):
    """`mnv3-sdk bench --adb` reads files/mnv3_benchmark.json with `run-as cat` as soon as it exists
    (sdk/mnv3_sdk/bench/device.py), so BenchmarkResult writes a temporary file and renames it; a
    reader polling for the file always parses it whole. Failures carry ExecuTorch's error code
    (ExecutorchRuntimeException.errorCode, runtime/core/error.h values; extension/android/
    executorch_android/.../ExecutorchRuntimeException.kt) and errors that are not exceptions."""
    # Large enough (about 40 MB) that a plain File.writeText is caught half written (checked: 3 of 3 runs).
    output = harness_lines(harness.run("bench-result", str(tmp_path), "2000000"))
    assert output == {"reader_saw_iterations": "2000000", "leftovers": "0"}
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert result["device"] == 'Acme "Phone" 9' and result["threads"] == 4 and result["num_threads_in_use"] == 4
    assert result["load_ms"] == 12.5 and result["first_inference_ms"] == 7.25 and result["pss_kb"] == 4242
    assert len(result["iterations_ms"]) == 2_000_000 and result["iterations_ms"][1] == pytest.approx(0.001 + 1 / 3)
    link = json.loads((tmp_path / "link_error.json").read_text(encoding="utf-8"))
    assert link["error_type"] == "java.lang.UnsatisfiedLinkError" and "libexecutorch.so" in link["error"]
    assert "error_code" not in link
    executorch = json.loads((tmp_path / "executorch_error.json").read_text(encoding="utf-8"))
    assert executorch["error_code"] == 0x23 and "Invalid program" in executorch["error"]
    # The end-to-end mode's fields, as bench_device._run_app reads them.
    frame = json.loads((tmp_path / "end_to_end.json").read_text(encoding="utf-8"))
    assert (frame["frame_width"], frame["frame_height"]) == (1920, 1080)
    assert frame["preprocessing_ms"] == [3.5, 4.25] and frame["iterations_ms"] == [2.0, 2.5]
    assert (frame["frame_format"], frame["frame_rotation"]) == ("argb", 0)  # the default: ARGB pixels
    yuv = json.loads((tmp_path / "end_to_end_yuv.json").read_text(encoding="utf-8"))
    assert (yuv["frame_width"], yuv["frame_format"], yuv["frame_rotation"]) == (1280, "yuv", 90)
    assert "frame_width" not in result and "frame_format" not in result
