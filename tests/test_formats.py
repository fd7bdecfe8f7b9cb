"""Every quantization × input format builds, verifies, and matches the metadata the app reads.

The Kotlin wrapper builds its input tensor from the metadata alone (dtype, layout, shape), so a
graph that takes anything else fails on the phone at the first classify. These builds use the
trained digits model, with the real exporter and the real ExecuTorch runtime.
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import digits_build_args
from digits import CROP_FRACTION, INPUT_SIZE

from mnv3_sdk.errors import SdkError
from mnv3_sdk.imaging.files import read_rgb
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.pte.metadata import OutputSpec, check_program_matches, read_from_pte
from mnv3_sdk.pte.runtime import LoadedModel

QUANTS = ("fp32", "fp16", "int8")
FORMATS = ("pixels", "normalized")
# What the metadata must promise at the digits model's 32 px: (values, normalized in the graph) per
# input format, and the dtype of input and output per quantization.
EXPECTED_VALUES = {"pixels": ("0-255", True), "normalized": ("normalized", False)}
EXPECTED_DTYPE = {"fp32": "float32", "fp16": "float16", "int8": "float32"}
TORCH_DTYPES = {"float16": torch.float16, "float32": torch.float32}


@pytest.fixture(scope="module")
def format_builds(digits, request, tmp_path_factory):
    """One build per (quant, input format), made on first use, or the session's shared digits build
    of that pair (int8/normalized is the one with --quant-exclude: the checks here hold for any int8).
    Shared builds are asked for only when their pair's test runs: a worker taking the first pair's
    test must not wait for every shared build the other worker is making."""
    from conftest import run_cli_once

    shared = {("fp32", "pixels"): lambda: request.getfixturevalue("digits_build"),
              ("int8", "pixels"): lambda: request.getfixturevalue("calibrated_int8"),
              ("fp16", "pixels"): lambda: request.getfixturevalue("digits_models")["fp16"].parent,
              ("int8", "normalized"): lambda: request.getfixturevalue("digits_int8_excluded")}
    builds: dict[tuple[str, str], Path] = {}

    def get(quant: str, input_format: str):
        if (quant, input_format) in shared and (quant, input_format) not in builds:
            builds[(quant, input_format)] = shared[(quant, input_format)]()
        if (quant, input_format) not in builds:
            out = tmp_path_factory.mktemp("formats") / f"digits-{quant}-{input_format}"
            extra = ["--quant", quant, "--input-format", input_format]
            if quant == "int8":
                extra += ["--calibration-dir", str(digits.calibration_dir), "--calibration-samples", "32"]
            assert run_cli_once(*digits_build_args(digits, out, *extra)) == 0
            builds[(quant, input_format)] = out
        return builds[(quant, input_format)]

    return get


@pytest.mark.parametrize("input_format", FORMATS)
@pytest.mark.parametrize("quant", QUANTS)
def test_every_quant_and_input_format_builds_verifies_and_matches_metadata(
    quant, input_format, format_builds, digits, run_cli
):
    out = format_builds(quant, input_format)
    pte = next(out.glob("*.pte"))
    metadata = read_from_pte(pte)
    assert metadata.to_dict() == json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    dtype, shape = EXPECTED_DTYPE[quant], [1, 3, INPUT_SIZE, INPUT_SIZE]
    values, normalized = EXPECTED_VALUES[input_format]
    spec = metadata.input
    assert (spec.dtype, spec.layout, spec.shape) == (dtype, "NCHW", shape)
    assert (spec.values, spec.normalized_in_graph) == (values, normalized)
    assert metadata.output == OutputSpec("logits", dtype, [1, 10])
    assert metadata.quant == quant

    # A tensor made exactly as the metadata says runs, and gives logits of the promised dtype and shape.
    model = LoadedModel(pte)
    check_program_matches(model.program, metadata, pte.name)
    image = read_rgb(sorted(digits.val_dir.rglob("*.png"))[0])
    batch = to_model_input(preprocess_rgb(image, INPUT_SIZE, CROP_FRACTION), input_format).to(TORCH_DTYPES[dtype])
    assert list(batch.shape) == shape
    logits = model.method.execute([batch])[0]
    assert logits.dtype == TORCH_DTYPES[dtype] and list(logits.shape) == [1, 10]

    report = json.loads((out / "report.json").read_text())
    assert report["gate"]["passed"] and report["gate"]["basis"] == "val-dir top-1"
    assert report["accuracy"]["pte_top1"] >= 0.98 * report["accuracy"]["eager_top1"]
    assert report["delegation"]["delegated_operators"]["convolution"] > 0
    # The input contract's promise: nothing over a whole tensor runs outside XNNPACK, in any pair.
    assert report["delegation"]["delegated_subgraphs"] == 1
    assert all(call["elements"] == 1 for call in report["delegation"]["portable_calls"])
    if quant == "fp32":
        assert report["accuracy"]["pte_top1"] == report["accuracy"]["eager_top1"]
    if quant == "fp16":
        assert report["agreement"]["sqnr_db"] > 30
        assert "fp16" in report["host"]

    # `mnv3-sdk verify` reads the same contract back from the .pte and scores it.
    result = run_cli("verify", str(pte), "--val-dir", str(digits.val_dir), "--weights", str(digits.weights_path), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["gate"]["passed"]


def test_a_graph_that_disagrees_with_its_metadata_is_refused(format_builds):
    """The check that would have caught fp16 + float input taking Half while the metadata said float32."""
    pte = next(format_builds("fp16", "normalized").glob("*.pte"))
    program = LoadedModel(pte).program
    metadata = read_from_pte(pte)
    for field, value in (("dtype", "float32"), ("shape", [1, 3, 16, 16])):
        wrong = replace(metadata, input=replace(metadata.input, **{field: value}))
        with pytest.raises(SdkError, match="forward's input is float16 \\[1, 3, 32, 32\\] but the metadata promises"):
            check_program_matches(program, wrong, pte.name)
    wrong_output = replace(metadata, output=replace(metadata.output, shape=[1, 1000]))
    with pytest.raises(SdkError, match="forward's output"):
        check_program_matches(program, wrong_output, pte.name)
    assert np.isfinite(LoadedModel(pte).run(torch.zeros(1, 3, 32, 32)).numpy()).all()
