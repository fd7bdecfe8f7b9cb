"""int8: calibrated and data-free PT2E quantization on a real trained model, the gate, diagnosis."""

import json

import pytest
from PIL import Image

from conftest import digits_build_args, run_cli_once

# MobileNetV3-Small ×0.5 has 52 convolutions and 2 linear layers.
QUANTIZABLE_LAYERS = 54


def report_of(folder):
    return json.loads((folder / "report.json").read_text())


@pytest.fixture(scope="session")
def calibrated_int8(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "digits-int8"
    assert run_cli_once(*digits_build_args(digits, out, "--quant", "int8", "--calibration-dir",
                                           str(digits.calibration_dir), "--sensitivity")) == 0
    return out


def test_calibrated_int8_keeps_98_percent_of_fp32_top1(calibrated_int8, digits):
    report = report_of(calibrated_int8)
    assert report["metadata"]["quant"] == "int8"
    accuracy = report["accuracy"]
    assert accuracy["pte_top1"] >= 0.98 * accuracy["eager_top1"]
    assert report["gate"]["passed"] and report["gate"]["basis"] == "val-dir top-1"
    assert report["calibration"]["source"] == "digits_calibration"
    assert report["calibration"]["samples"] == 128
    assert report["calibration"]["skipped_files"] == 1
    metadata = json.loads((calibrated_int8 / "metadata.json").read_text())
    assert metadata["calibration"] == {"source": "digits_calibration", "samples": 128}


def test_int8_is_fully_delegated_and_small(calibrated_int8):
    report = report_of(calibrated_int8)
    delegated = report["delegation"]["delegated_operators"]
    assert delegated["quantized_decomposed.dequantize_per_channel"] == QUANTIZABLE_LAYERS
    assert not any("convolution" in name or "linear" in name for name in report["delegation"]["portable_operators"])
    assert report["sizes"]["pte_bytes"] <= 0.45 * report["sizes"]["fp32_weights_bytes"]


def test_sensitivity_lists_every_quantized_layer_worst_first(calibrated_int8):
    layers = report_of(calibrated_int8)["sensitivity"]
    assert len(layers) == QUANTIZABLE_LAYERS
    values = [layer["sqnr_db"] for layer in layers]
    assert values == sorted(values)
    assert "Per-layer sensitivity" in (calibrated_int8 / "report.md").read_text()


def test_data_free_int8_keeps_98_percent_of_fp32_top1(digits, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("MNV3_SDK_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "digits-int8-data-free"
    result = run_cli(*digits_build_args(digits, out, "--quant", "int8"))
    assert result.exit_code == 0, result.stderr
    report = report_of(out)
    assert report["calibration"]["source"] == "data-free" and not report["calibration"]["cached"]
    assert report["accuracy"]["pte_top1"] >= 0.98 * report["accuracy"]["eager_top1"]
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["calibration"]["source"] == "data-free"

    # A rebuild reuses the synthesized images and gives the same model.
    again = tmp_path / "again"
    assert run_cli(*digits_build_args(digits, again, "--quant", "int8")).exit_code == 0
    assert report_of(again)["calibration"]["cached"]
    assert (again / "again.pte").read_bytes() == (out / "digits-int8-data-free.pte").read_bytes()


def test_same_calibration_gives_byte_identical_int8(calibrated_int8, digits, tmp_path, run_cli):
    out = tmp_path / "digits-int8"
    args = digits_build_args(digits, out, "--quant", "int8", "--calibration-dir", str(digits.calibration_dir))
    assert run_cli(*args).exit_code == 0
    assert (out / "digits-int8.pte").read_bytes() == (calibrated_int8 / "digits-int8.pte").read_bytes()


def test_quant_exclude_keeps_the_chosen_layers_in_fp32(digits, tmp_path, run_cli):
    out = tmp_path / "digits-int8-exclude"
    args = digits_build_args(digits, out, "--quant", "int8", "--calibration-dir", str(digits.calibration_dir),
                             "--quant-exclude", "first,last,features.4")
    assert run_cli(*args).exit_code == 0
    report = report_of(out)
    assert report["quantization"]["excluded_layers"] == ["classifier.3", "features.0.0", "features.4"]
    # features.4 is a squeeze-excite block with 5 convolutions: 2 + 5 layers stay fp32.
    delegated = report["delegation"]["delegated_operators"]
    assert delegated["quantized_decomposed.dequantize_per_channel"] == QUANTIZABLE_LAYERS - 7


def test_gate_fails_a_model_calibrated_on_black_images(digits, tmp_path, run_cli):
    black = tmp_path / "black"
    black.mkdir()
    for index in range(8):
        Image.new("RGB", (40, 40)).save(black / f"{index}.png")
    out = tmp_path / "digits-int8-black"
    result = run_cli(*digits_build_args(digits, out, "--quant", "int8", "--calibration-dir", str(black),
                                        "--min-accuracy-ratio", "0.999"))
    assert result.exit_code == 1
    assert "accuracy gate failed" in result.stderr and "--quant-exclude" in result.stderr
    assert not out.exists()
    rejected = out.with_name(out.name + ".rejected")
    assert not list(rejected.glob("*.pte"))
    report = report_of(rejected)
    assert not report["gate"]["passed"]
    assert report["sensitivity"], "a failed int8 gate always comes with the per-layer diagnosis"
