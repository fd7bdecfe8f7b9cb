"""The Python API (mnv3_sdk.build_sdk / verify_model / benchmark / inspect_model): the CLI's commands as calls."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import mnv3_sdk
from mnv3_sdk.errors import SdkError
from mnv3_sdk.pipeline.report import REPORT_SCHEMA, BuildReport, to_json


def test_importing_the_package_does_not_load_torch():
    """The API is handed out lazily, so `import mnv3_sdk` (and `mnv3-sdk --version`) stays cheap."""
    code = "import sys, mnv3_sdk; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_build_bench_and_inspect_from_python(random_build_result, tmp_path):
    result = random_build_result  # mnv3_sdk.build_sdk(variant="small", weights="random", out_dir=...)
    out = result.out_dir
    assert result.pte_path == out / f"{out.name}.pte" and result.pte_path.is_file()
    assert result.gate.passed and result.metadata.quant == "fp32" and result.metadata == mnv3_sdk.inspect_model(result.pte_path)
    report = result.report
    assert isinstance(report, BuildReport) and report.schema == REPORT_SCHEMA
    assert result.pte_bytes == result.pte_path.stat().st_size == report.sizes.pte_bytes
    assert result.aar_path == out / f"{out.name}.aar" and result.aar_path.is_file() and result.android_skipped is None
    assert result.maven_dir == out / "maven" and result.maven_dir.is_dir() and report.android.aar == result.aar_path.name
    assert list(result.timings) == list(report.timings) and "verify" in result.timings
    assert result.agreement.samples == report.agreement.samples and report.gate.passed == result.gate.passed
    # report.json is the typed report, field by field, with its schema version.
    written = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert written == json.loads(to_json(report.to_dict())) and written["schema"] == REPORT_SCHEMA
    assert "labels" not in written["metadata"] and written["delegation"]["delegated_subgraphs"] == 1
    # The arm64 step is typed on the result as in report.json; this build skipped it.
    assert result.arm64 == report.arm64 and result.arm64.skipped == "--no-arm64-check"
    assert written["arm64"]["skipped"] == "--no-arm64-check"

    metadata = mnv3_sdk.inspect_model(result.pte_path)
    assert metadata.to_dict() == json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert (metadata.quant, metadata.input.size, metadata.model.variant) == ("fp32", 224, "small")

    outcome = mnv3_sdk.benchmark(out, threads="1", warmup=1, iterations=3, min_seconds=0,
                                 json_path=tmp_path / "bench.json", markdown_path=tmp_path / "bench.md",
                                 plot_path=tmp_path / "bench.png")
    [case] = outcome.cases
    assert (case.model, case.engine, case.threads, case.device) == (out.name, "executorch", 1, "host")
    assert len(case.samples_ms) >= 3 and outcome.failures == [] and outcome.regressions == []
    assert outcome.report["cases"][0]["samples_ms"] == case.samples_ms
    assert json.loads((tmp_path / "bench.json").read_text())["command"].startswith("mnv3_sdk.benchmark(")


@pytest.mark.parametrize("call, message", [
    (lambda: mnv3_sdk.build_sdk(quant="int9"), "unknown quantization 'int9'"),
    (lambda: mnv3_sdk.build_sdk(quant="fp32", per_tensor=True), "--per-tensor only applies to --quant int8"),
    (lambda: mnv3_sdk.build_sdk(colour="red"), "unknown option 'colour'; the options are: variant, "),
    (lambda: mnv3_sdk.benchmark(threads="two"), "no builds under dist/"),
    (lambda: mnv3_sdk.inspect_model("missing.pte"), "missing.pte"),
])
def test_problems_raise_the_clis_one_line_errors(call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no dist/ here
    with pytest.raises(SdkError) as raised:
        call()
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_verify_model_returns_a_typed_result_and_a_failed_gate_raises_gate_failed(digits, tmp_path, run_cli):
    """A model whose weights were damaged before export, checked against the real ones: the .pte
    really is worse than eager, so the gate fails, as a typed result from Python and as
    GateFailed (an SdkError carrying the figures) from check_gate and the CLI."""
    state = torch.load(digits.weights_path, weights_only=True)
    generator = torch.Generator().manual_seed(0)
    damaged = {name: value + 0.5 * value.std() * torch.randn(value.shape, generator=generator)
               if value.is_floating_point() and value.dim() == 4 else value for name, value in state.items()}
    damaged_path = tmp_path / "damaged.pth"
    torch.save(damaged, damaged_path)
    built = mnv3_sdk.build_sdk(variant="small", width_mult=0.5, weights=str(damaged_path), labels_path=str(digits.labels_path),
                               input_size=32, crop_fraction=1.0, build_aar=False, out_dir=str(tmp_path / "damaged"))

    same = mnv3_sdk.verify_model(built.pte_path, digits.val_dir, weights=str(damaged_path))
    assert same.gate.passed and same.accuracy.samples == digits.val_count and same.agreement.top1_agreement == 1.0
    alone = mnv3_sdk.verify_model(built.pte_path, digits.val_dir)
    assert alone.gate is None and alone.agreement is None and alone.accuracy.pte_top1 == same.accuracy.pte_top1

    checked = mnv3_sdk.verify_model(built.pte_path, digits.val_dir, weights=str(digits.weights_path))
    gate = checked.gate
    assert not gate.passed and gate.basis == "val-dir top-1"
    assert gate.measured == checked.accuracy.pte_top1 < gate.required == 0.98 * checked.accuracy.eager_top1
    with pytest.raises(mnv3_sdk.GateFailed) as raised:
        checked.check_gate()
    assert isinstance(raised.value, SdkError) and raised.value.gate == gate and raised.value.rejected is None
    result = run_cli("verify", str(built.pte_path), "--val-dir", str(digits.val_dir), "--weights", str(digits.weights_path))
    assert result.exit_code == 1 and result.stderr.strip().splitlines()[-1] == f"mnv3-sdk: error: {raised.value}"
    assert "gate FAILED" in result.stdout
