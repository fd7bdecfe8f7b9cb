"""End-to-end builds with the real exporter and the real ExecuTorch runtime (no mocks)."""

import json

import numpy as np
import torch

from conftest import digits_build_args
from digits import CROP_FRACTION, INPUT_SIZE
from mnv3_sdk.metadata import read_from_pte
from mnv3_sdk.preprocess import preprocess_rgb
from mnv3_sdk.runtime import LoadedModel


def test_build_writes_model_metadata_and_reports(random_build):
    names = sorted(path.name for path in random_build.iterdir())
    assert names == ["android", "maven", "metadata.json", "mnv3-small-fp32.aar", "mnv3-small-fp32.pte",
                     "report.json", "report.md"]
    report = json.loads((random_build / "report.json").read_text())
    assert report["gate"]["passed"]
    assert "RANDOM WEIGHTS" in " ".join(report["warnings"])
    assert set(report["timings"]) >= {"load", "export", "lower", "serialize", "verify"}


def test_metadata_is_embedded_in_the_pte(random_build):
    embedded = read_from_pte(random_build / "mnv3-small-fp32.pte")
    assert embedded == json.loads((random_build / "metadata.json").read_text(encoding="utf-8"))
    assert embedded["format"] == "mnv3-sdk/1"
    assert embedded["input"]["shape"] == [1, 224, 224, 3] and embedded["input"]["dtype"] == "uint8"
    assert embedded["weights"]["source"] == "random"
    assert len(embedded["labels"]) == 1000 and embedded["labels"][0] == "tench"


def test_every_convolution_and_linear_runs_on_xnnpack(random_build):
    delegation = json.loads((random_build / "report.json").read_text())["delegation"]
    assert delegation["delegated_subgraphs"] == 1
    assert delegation["delegated_operators"]["convolution"] == 52
    assert delegation["delegated_operators"]["linear"] == 2
    assert not any("convolution" in name or "linear" in name for name in delegation["portable_operators"])


def test_info_prints_the_metadata_from_the_pte_alone(random_build, run_cli, tmp_path):
    lonely = tmp_path / "model.pte"
    lonely.write_bytes((random_build / "mnv3-small-fp32.pte").read_bytes())
    result = run_cli("info", str(lonely), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["model"]["arch"] == "mobilenet_v3_small"


def test_trained_model_keeps_its_accuracy(digits_build, digits):
    report = json.loads((digits_build / "report.json").read_text())
    accuracy = report["accuracy"]
    assert accuracy["samples"] == digits.val_count
    assert accuracy["eager_top1"] > 0.9
    assert accuracy["pte_top1"] == accuracy["eager_top1"]
    assert report["gate"]["basis"] == "val-dir top-1" and report["gate"]["passed"]


def test_fp32_pte_equals_eager_within_1e4_relative(digits_build, digits):
    from mnv3_sdk.export import wrap_for_export
    from mnv3_sdk.weights import build_model, load_weights

    eager = wrap_for_export(build_model(load_weights(str(digits.weights_path), "small", 0.5), "small", 0.5), "uint8", "fp32")
    model = LoadedModel(digits_build / "digits-fp32.pte")
    for image in digits.train_images[:16]:
        batch = torch.from_numpy(preprocess_rgb(image, INPUT_SIZE, CROP_FRACTION)).unsqueeze(0)
        with torch.no_grad():
            expected = eager(batch)
        actual = model.run(batch)
        assert (actual - expected).abs().max() <= 1e-4 * expected.abs().max()
        assert actual.argmax() == expected.argmax()


def test_non_contiguous_inputs_give_the_same_answer(digits_build, digits):
    model = LoadedModel(digits_build / "digits-fp32.pte")
    image = preprocess_rgb(digits.train_images[0], INPUT_SIZE, CROP_FRACTION)
    contiguous = torch.from_numpy(image).unsqueeze(0)
    # The same pixels stored channel-first, viewed as NHWC: a non-contiguous tensor.
    strided = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).unsqueeze(0).permute(0, 2, 3, 1)
    assert not strided.is_contiguous()
    torch.testing.assert_close(model.run(strided), model.run(contiguous), rtol=0, atol=0)


def test_same_inputs_give_byte_identical_pte(digits_build, digits, tmp_path, run_cli):
    again = tmp_path / "digits-fp32"
    assert run_cli(*digits_build_args(digits, again, aar=True)).exit_code == 0
    assert (again / "digits-fp32.pte").read_bytes() == (digits_build / "digits-fp32.pte").read_bytes()
    assert (again / "digits-fp32.aar").read_bytes() == (digits_build / "digits-fp32.aar").read_bytes()
    assert (again / "metadata.json").read_bytes() == (digits_build / "metadata.json").read_bytes()


def test_verify_scores_an_existing_model(digits_build, digits, run_cli):
    result = run_cli("verify", str(digits_build / "digits-fp32.pte"), "--val-dir", str(digits.val_dir),
                     "--weights", str(digits.weights_path), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["gate"]["passed"]
    assert summary["accuracy"]["pte_top1"] > 0.9


def test_gate_compares_pte_top1_with_a_fraction_of_eager_top1():
    from mnv3_sdk.verify import Accuracy, Agreement, accuracy_gate

    agreement = Agreement(samples=8, top1_agreement=1.0, max_abs_error=0.0, max_relative_error=0.0, sqnr_db=99.0)
    good = Accuracy(samples=100, eager_top1=0.90, eager_top5=1.0, pte_top1=0.89, pte_top5=1.0, skipped_files=0)
    bad = Accuracy(samples=100, eager_top1=0.90, eager_top5=1.0, pte_top1=0.87, pte_top5=1.0, skipped_files=0)
    assert accuracy_gate(0.98, agreement, good).passed  # 0.89 >= 0.882
    failed = accuracy_gate(0.98, agreement, bad)
    assert not failed.passed and "0.8700 < 0.98" in failed.reason
    disagreeing = Agreement(samples=8, top1_agreement=0.875, max_abs_error=1.0, max_relative_error=0.1, sqnr_db=9.0)
    assert not accuracy_gate(0.98, disagreeing, None).passed
    assert accuracy_gate(0.98, disagreeing, None).basis == "top-1 agreement"
