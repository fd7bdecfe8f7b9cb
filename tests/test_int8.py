"""int8: calibrated and data-free PT2E quantization on a real trained model, the gate, diagnosis."""

import dataclasses
import json

import pytest
from conftest import digits_build_args, run_cli_once
from digits import make_digits_fixture
from PIL import Image

from mnv3_sdk.verify.metrics import Agreement, agreement_gate

# MobileNetV3-Small ×0.5 has 52 convolutions and 2 linear layers.
QUANTIZABLE_LAYERS = 54


def report_of(folder):
    return json.loads((folder / "report.json").read_text())


def build_args(digits, out, *extra, val_dir=True):
    """digits_build_args at the fixture's own input size, without --val-dir if asked."""
    args = digits_build_args(digits, out, *extra)
    args[args.index("--input-size") + 1] = str(digits.input_size)
    if not val_dir:
        at = args.index("--val-dir")
        del args[at:at + 2]
    return args


def gate_without_labels(report):
    """The verdict a build without --val-dir would have reached: the same held-out inputs, same logits."""
    def number(value):
        return float(value) if isinstance(value, str) else value  # JSON spells infinities "inf"

    fields = [field.name for field in dataclasses.fields(Agreement)]
    sets = {item["inputs"]: Agreement(**{name: number(item[name]) for name in fields})
            for item in report["agreement"]["sets"]}
    return agreement_gate(report["gate"]["min_accuracy_ratio"], sets)


def assert_judged_on_held_out_inputs(report):
    agreement = report["agreement"]
    assert agreement["held_out_from_calibration"] is True
    names = [item["inputs"] for item in agreement["sets"]]
    assert all("not calibrated on" in name for name in names)
    assert report["gate"]["inputs"] == names
    assert any(name.startswith("synthesized images (data-free, seed 1") for name in names)


@pytest.fixture(scope="session")
def digits_48(tmp_path_factory):
    """Another fine-tuned model: 48 px input, another initialisation and batch order."""
    return make_digits_fixture(tmp_path_factory.mktemp("digits48"), input_size=48, seed=1)


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


def test_calibrated_int8_is_judged_on_held_out_images_and_passes_without_labels(calibrated_int8):
    report = report_of(calibrated_int8)
    assert_judged_on_held_out_inputs(report)
    folder_set, synthesized_set = report["agreement"]["sets"]
    # 300 images in the folder, 128 calibrated on: 64 of the other 172 are judged on.
    assert folder_set["inputs"] == "images of digits_calibration not calibrated on" and folder_set["samples"] == 64
    assert synthesized_set["samples"] == 64
    verdict = gate_without_labels(report)
    assert verdict.passed, verdict.reason
    assert "None of these inputs was used for calibration" in (calibrated_int8 / "report.md").read_text()


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
    """The headline command on fine-tuned weights, no folders at all: published on the held-out
    gate, and it does keep its accuracy (checked afterwards with `verify` on the validation
    folder). A rebuild with --val-dir reuses the synthesized images, gives the same model, and is
    judged on the labelled folder."""
    monkeypatch.setenv("MNV3_SDK_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "data-free"
    result = run_cli(*build_args(digits, out, "--quant", "int8", val_dir=False))
    assert result.exit_code == 0, result.stderr
    report = report_of(out)
    assert report["gate"]["passed"] and report["gate"]["basis"] == "top-1 agreement"
    assert report["accuracy"] is None and report["calibration"]["source"] == "data-free"
    assert not report["calibration"]["cached"]
    assert_judged_on_held_out_inputs(report)
    assert report["gate"]["sqnr_db"] >= report["gate"]["min_sqnr_db"]
    assert json.loads((out / "metadata.json").read_text())["calibration"]["source"] == "data-free"
    checked = run_cli("verify", str(out / "data-free.pte"), "--val-dir", str(digits.val_dir),
                      "--weights", str(digits.weights_path), "--json")
    assert checked.exit_code == 0, checked.stderr
    accuracy = json.loads(checked.stdout)["accuracy"]
    assert accuracy["pte_top1"] >= 0.98 * accuracy["eager_top1"]

    again = tmp_path / "again"
    assert run_cli(*build_args(digits, again, "--quant", "int8")).exit_code == 0
    report = report_of(again)
    assert report["calibration"]["cached"] and report["gate"]["basis"] == "val-dir top-1"
    assert report["accuracy"]["pte_top1"] >= 0.98 * report["accuracy"]["eager_top1"]
    verdict = gate_without_labels(report)
    assert verdict.passed, verdict.reason
    assert (again / "again.pte").read_bytes() == (out / "data-free.pte").read_bytes()


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


def test_data_free_int8_at_48_pixels_passes_the_gate_without_labelled_data(digits_48, tmp_path, run_cli):
    """The same headline command on a model trained at another input size (the 224-pixel model is
    checked by test_data_free_int8_keeps_98_percent_of_fp32_top1)."""
    digits = digits_48
    out = tmp_path / "data-free"
    result = run_cli(*build_args(digits, out, "--quant", "int8", val_dir=False))
    assert result.exit_code == 0, result.stderr
    report = report_of(out)
    assert report["gate"]["passed"] and report["gate"]["basis"] == "top-1 agreement"
    assert report["accuracy"] is None and report["calibration"]["source"] == "data-free"
    assert_judged_on_held_out_inputs(report)
    assert report["gate"]["sqnr_db"] >= report["gate"]["min_sqnr_db"]

    checked = run_cli("verify", str(out / "data-free.pte"), "--val-dir", str(digits.val_dir),
                      "--weights", str(digits.weights_path), "--json")
    assert checked.exit_code == 0, checked.stderr
    accuracy = json.loads(checked.stdout)["accuracy"]
    assert accuracy["pte_top1"] >= 0.98 * accuracy["eager_top1"]


def black_folder(tmp_path, count=16):
    black = tmp_path / "black"
    black.mkdir()
    for index in range(count):
        Image.new("RGB", (40, 40)).save(black / f"{index}.png")
    return black


def test_gate_refuses_int8_calibrated_on_black_images_without_labelled_data(digits, tmp_path, run_cli):
    """Default ratio, no --val-dir: the held-out inputs expose what the black calibration images cannot."""
    out = tmp_path / "digits-int8-black"
    result = run_cli(*build_args(digits, out, "--quant", "int8", "--calibration-dir", str(black_folder(tmp_path)),
                                 val_dir=False))
    assert result.exit_code == 1
    message = result.stderr.strip().splitlines()[-1]
    assert "accuracy gate failed" in message and "--quant-exclude" in message
    assert "logit SQNR" in message and "not calibrated on" in message
    assert not out.exists()
    rejected = out.with_name(out.name + ".rejected")
    assert not list(rejected.glob("*.pte"))
    report = report_of(rejected)
    assert not report["gate"]["passed"] and report["gate"]["basis"] == "top-1 agreement"
    assert report["gate"]["sqnr_db"] < report["gate"]["min_sqnr_db"]
    # All 16 images were calibrated on: only synthesized images are left to judge on.
    assert [item["samples"] for item in report["agreement"]["sets"]] == [64]
    assert report["sensitivity"], "a failed int8 gate always comes with the per-layer diagnosis"


def test_black_image_calibration_really_loses_accuracy(digits, tmp_path, run_cli):
    """The refusal above is right: on the labelled folder the same model is far below fp32."""
    out = tmp_path / "digits-int8-black"
    result = run_cli(*build_args(digits, out, "--quant", "int8", "--calibration-dir", str(black_folder(tmp_path))))
    assert result.exit_code == 1
    report = report_of(out.with_name(out.name + ".rejected"))
    assert report["gate"]["basis"] == "val-dir top-1" and not report["gate"]["passed"]
    assert report["accuracy"]["pte_top1"] < 0.5 * report["accuracy"]["eager_top1"]
    assert not gate_without_labels(report).passed
