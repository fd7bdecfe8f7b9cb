"""The generated Kotlin, run on the JVM, agrees with the Python side byte for byte."""

import json
import struct

import numpy as np
import pytest
import torch

from conftest import digits_build_args
from digits import CROP_FRACTION, INPUT_SIZE
from kotlin_jvm import JvmHarness
from mnv3_sdk.preprocess import argb_to_rgb, preprocess_rgb
from mnv3_sdk.runtime import LoadedModel


@pytest.fixture(scope="session")
def harness(tmp_path_factory):
    return JvmHarness(tmp_path_factory.mktemp("kotlin"))


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
    }
    kotlin = kotlin_preprocess(harness, tmp_path, cases)
    for name, (rgb, size, crop_fraction) in cases.items():
        python = preprocess_rgb(argb_to_rgb(to_argb(rgb), rgb.shape[1], rgb.shape[0]), size, crop_fraction)
        assert kotlin[name] == python.tobytes(), name


def test_kotlin_made_input_gives_the_same_top5_through_the_pte(harness, digits, digits_build, tmp_path):
    paths = sorted(digits.val_dir.rglob("*.png"))[::20]
    from mnv3_sdk.images import read_rgb

    images = {f"digit{i:03d}": (read_rgb(path), INPUT_SIZE, CROP_FRACTION) for i, path in enumerate(paths)}
    kotlin = kotlin_preprocess(harness, tmp_path, images)
    model = LoadedModel(digits_build / "digits-fp32.pte")
    for name, (rgb, size, crop_fraction) in images.items():
        from_kotlin = torch.frombuffer(bytearray(kotlin[name]), dtype=torch.uint8).view(1, size, size, 3)
        from_python = torch.from_numpy(preprocess_rgb(rgb, size, crop_fraction)).unsqueeze(0)
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
    from conftest import run_cli_once

    folder = tmp_path_factory.mktemp("weird")
    labels = folder / "labels.txt"
    labels.write_text("\n".join(WEIRD_LABELS) + "\n", encoding="utf-8")
    out = folder / "weird"
    args = digits_build_args(digits, out, aar=True)
    args[args.index("--labels") + 1] = str(labels)
    del args[args.index("--val-dir"):args.index("--val-dir") + 2]  # folder names are the digit labels
    assert run_cli_once(*args) == 0
    return out


def test_labels_with_any_characters_survive_into_the_running_kotlin(harness, weird_labels_build):
    from mnv3_sdk.metadata import read_from_pte

    embedded = read_from_pte(weird_labels_build / "weird.pte")
    assert embedded["labels"] == WEIRD_LABELS
    metadata_file = weird_labels_build / "metadata.json"
    harness.run("metadata", str(metadata_file))
    lines = (metadata_file.parent / "metadata.json.out").read_text(encoding="utf-8").split("\n")
    assert lines[:5] == ["mobilenet_v3_small", "fp32", "uint8", "32", "1.0"]
    assert lines[5:] == WEIRD_LABELS


def test_labels_never_enter_the_generated_source(weird_labels_build):
    sources = "".join(p.read_text(encoding="utf-8") for p in (weird_labels_build / "android").rglob("*.kt"))
    for label in ("cheese", "close comment", "猫"):
        assert label not in sources


def test_metadata_json_escapes_are_read_like_python(harness, tmp_path):
    document = {"format": "mnv3-sdk/1", "model": {"arch": "mobilenet_v3_small"}, "quant": "fp32",
                "input": {"dtype": "uint8", "shape": [1, 8, 8, 3], "crop_fraction": 0.875, "mean": [0, 0, 0],
                          "std": [1, 1, 1]},
                "labels": ["\u0000ctl", "emoji 😀", "quote \" and \\", "/slash", "\u2028line sep"]}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(document, ensure_ascii=True), encoding="utf-8")  # \\u escapes, surrogates
    harness.run("metadata", str(path))
    lines = (tmp_path / "metadata.json.out").read_text(encoding="utf-8").split("\n")
    assert lines[5:] == ["\u0000ctl", "emoji 😀", "quote \" and \\", "/slash", "\u2028line sep"]
