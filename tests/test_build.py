"""End-to-end builds with the real exporter and the real ExecuTorch runtime (no mocks)."""

import json

import numpy as np
import torch
from conftest import digits_build_args
from digits import CROP_FRACTION, INPUT_SIZE

from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.pte.metadata import read_from_pte
from mnv3_sdk.pte.runtime import LoadedModel


def test_build_writes_model_metadata_and_reports(random_build):
    names = sorted(path.name for path in random_build.iterdir())
    assert names == ["android", "maven", "metadata.json", "mnv3-small-fp32.aar", "mnv3-small-fp32.debug-handles.json",
                     "mnv3-small-fp32.pte", "report.json", "report.md"]
    report = json.loads((random_build / "report.json").read_text())
    assert report["gate"]["passed"]
    assert "RANDOM WEIGHTS" in " ".join(report["warnings"])
    assert set(report["timings"]) >= {"load", "export", "lower", "serialize", "verify"}


def test_metadata_is_embedded_in_the_pte(random_build):
    embedded = read_from_pte(random_build / "mnv3-small-fp32.pte")
    assert embedded.to_dict() == json.loads((random_build / "metadata.json").read_text(encoding="utf-8"))
    assert embedded.format == "mnv3-sdk/2"
    assert embedded.input.shape == [1, 3, 224, 224] and embedded.input.dtype == "float32"
    assert embedded.input.values == "0-255" and embedded.input.normalized_in_graph
    assert embedded.weights.source == "random"
    assert len(embedded.labels) == 1000 and embedded.labels[0] == "tench"


def test_every_convolution_and_linear_runs_on_xnnpack(random_build):
    delegation = json.loads((random_build / "report.json").read_text())["delegation"]
    assert delegation["delegated_subgraphs"] == 1
    assert delegation["delegated_operators"]["convolution"] == 52
    assert delegation["delegated_operators"]["linear"] == 2
    assert not any("convolution" in name or "linear" in name for name in delegation["portable_operators"])


def test_tensor_sized_portable_operators_fail_the_export_unless_allowed():
    """A uint8 NHWC input (metadata format 1) leaves a permute and a cast outside XNNPACK."""
    import pytest
    from torch import nn

    from mnv3_sdk.errors import SdkError
    from mnv3_sdk.export.lower import export_pte

    class BytesInput(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.conv(image.permute(0, 3, 1, 2).float())

    example = torch.zeros(1, 8, 8, 3, dtype=torch.uint8)
    with pytest.raises(SdkError, match=r"portable kernels.*permute_copy \[1, 3, 8, 8\].*--allow-portable-ops"):
        export_pte(BytesInput().eval(), example)
    allowed = export_pte(BytesInput().eval(), example, allow_portable_ops=True)
    assert len(allowed.warnings) == 1 and "_to_dim_order_copy [1, 3, 8, 8]" in allowed.warnings[0]
    assert {call.operator for call in allowed.delegation.tensor_sized_portable_ops} == {
        "permute_copy", "dim_order_ops._to_dim_order_copy"}


def test_older_metadata_formats_are_refused_with_the_remedy():
    import pytest

    from mnv3_sdk.errors import SdkError
    from mnv3_sdk.pte.metadata import from_json_bytes

    with pytest.raises(SdkError, match=r"old.pte was built by an older mnv3-sdk \(metadata mnv3-sdk/1: uint8 NHWC"
                                       r".*rebuild the model"):
        from_json_bytes(b'{"format": "mnv3-sdk/1"}', "old.pte")


def test_metadata_is_read_back_field_by_field(random_build):
    """Metadata.from_dict gives the document back unchanged, and names the field a bad one breaks."""
    import pytest

    from mnv3_sdk.errors import SdkError
    from mnv3_sdk.pte.metadata import Metadata, to_json_bytes

    text = (random_build / "metadata.json").read_text(encoding="utf-8")
    document = json.loads(text)
    metadata = Metadata.from_dict(document, "m.pte")
    assert metadata.to_dict() == document and to_json_bytes(metadata).decode("utf-8") == text
    assert (metadata.input.input_format, metadata.input.size, metadata.model.variant) == ("pixels", 224, "small")
    for change, message in (
        (lambda d: d["input"].update(shape="224"), "m.pte: metadata field input.shape should be a list"),
        (lambda d: d["model"].update(num_classes=True), "metadata field model.num_classes should be a whole number"),
        (lambda d: d.pop("labels"), "m.pte: metadata has no field labels"),
        (lambda d: d["labels"].append(7), "metadata field labels[1000] should be a string"),
    ):
        broken = json.loads(text)
        change(broken)
        with pytest.raises(SdkError, match=message.replace("[", "\\[")):
            Metadata.from_dict(broken, "m.pte")


def test_info_prints_the_metadata_from_the_pte_alone(random_build, run_cli, tmp_path):
    lonely = tmp_path / "model.pte"
    lonely.write_bytes((random_build / "mnv3-small-fp32.pte").read_bytes())
    result = run_cli("info", str(lonely), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["model"]["arch"] == "mobilenet_v3_small"
    text = run_cli("info", str(lonely)).stdout
    assert "input:   image float32 NCHW [1, 3, 224, 224] (RGB 0-255, normalized in the graph)" in text


def test_trained_model_keeps_its_accuracy(digits_build, digits):
    report = json.loads((digits_build / "report.json").read_text())
    accuracy = report["accuracy"]
    assert accuracy["samples"] == digits.val_count
    assert accuracy["eager_top1"] > 0.9
    assert accuracy["pte_top1"] == accuracy["eager_top1"]
    assert report["gate"]["basis"] == "val-dir top-1" and report["gate"]["passed"]


def test_fp32_pte_equals_eager_within_1e4_relative(digits_build, digits):
    from mnv3_sdk.export.adapter import wrap_for_export
    from mnv3_sdk.network.weights import build_model, load_weights

    eager = wrap_for_export(build_model(load_weights(str(digits.weights_path), "small", 0.5), "small", 0.5), "pixels", "fp32")
    model = LoadedModel(digits_build / "digits-fp32.pte")
    for image in digits.train_images[:16]:
        batch = to_model_input(preprocess_rgb(image, INPUT_SIZE, CROP_FRACTION), "pixels")
        with torch.no_grad():
            expected = eager(batch)
        actual = model.run(batch)
        assert (actual - expected).abs().max() <= 1e-4 * expected.abs().max()
        assert actual.argmax() == expected.argmax()


def test_non_contiguous_inputs_give_the_same_answer(digits_build, digits):
    model = LoadedModel(digits_build / "digits-fp32.pte")
    image = preprocess_rgb(digits.train_images[0], INPUT_SIZE, CROP_FRACTION)
    contiguous = to_model_input(image, "pixels")
    # The same values stored channel-last, viewed as NCHW: a non-contiguous tensor.
    strided = torch.from_numpy(image.astype(np.float32)).unsqueeze(0).permute(0, 3, 1, 2)
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
    from mnv3_sdk.verify.metrics import Accuracy, Agreement, accuracy_gate

    agreement = Agreement(samples=8, top1_agreement=1.0, max_abs_error=0.0, max_relative_error=0.0, sqnr_db=99.0)
    good = Accuracy(samples=100, eager_top1=0.90, eager_top5=1.0, pte_top1=0.89, pte_top5=1.0, skipped_files=0)
    bad = Accuracy(samples=100, eager_top1=0.90, eager_top5=1.0, pte_top1=0.87, pte_top5=1.0, skipped_files=0)
    assert accuracy_gate(0.98, agreement, good).passed  # 0.89 >= 0.882
    failed = accuracy_gate(0.98, agreement, bad)
    assert not failed.passed and "0.8700 < 0.98" in failed.reason
    disagreeing = Agreement(samples=8, top1_agreement=0.875, max_abs_error=1.0, max_relative_error=0.1, sqnr_db=9.0)
    assert not accuracy_gate(0.98, disagreeing, None).passed
    assert accuracy_gate(0.98, disagreeing, None).basis == "top-1 agreement"
