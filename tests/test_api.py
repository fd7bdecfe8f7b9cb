"""The Python API (mnv3_sdk.build_sdk / benchmark / inspect_model): the CLI's commands as calls."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mnv3_sdk
from mnv3_sdk.errors import SdkError


def test_importing_the_package_does_not_load_torch():
    """The API is handed out lazily, so `import mnv3_sdk` (and `mnv3-sdk --version`) stays cheap."""
    code = "import sys, mnv3_sdk; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_build_bench_and_inspect_from_python(tmp_path):
    out = tmp_path / "small"
    result = mnv3_sdk.build_sdk(weights="random", out_dir=str(out))  # CLI defaults: Small, fp32, with the AAR
    assert result.out_dir == out and result.pte_path == out / "small.pte" and result.pte_path.is_file()
    assert result.gate.passed and result.metadata.quant == "fp32" and result.metadata == mnv3_sdk.inspect_model(out / "small.pte")
    assert result.pte_bytes == result.pte_path.stat().st_size and result.report["sizes"]["pte_bytes"] == result.pte_bytes
    assert result.aar_path == out / "small.aar" and result.aar_path.is_file() and result.android_skipped is None
    assert result.maven_dir == out / "maven" and result.maven_dir.is_dir()
    assert list(result.timings) == list(result.report["timings"]) and "verify" in result.timings
    assert result.agreement.samples == result.report["agreement"]["samples"]
    # The arm64 step ran, as it does by default where qemu-aarch64 and the cross compiler are (make test
    # installs them): typed on the result as in report.json.
    assert result.arm64 is not None and result.arm64.passed and result.report["arm64"] == result.arm64.as_dict()
    assert [cpu.cpu for cpu in result.arm64.cpu_models] == ["cortex-a53", "neoverse-n1"]

    metadata = mnv3_sdk.inspect_model(result.pte_path)
    assert metadata.to_dict() == json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert (metadata.quant, metadata.input.size, metadata.model.variant) == ("fp32", 224, "small")

    outcome = mnv3_sdk.benchmark(out, threads="1", warmup=1, iterations=3, min_seconds=0,
                                 json_path=tmp_path / "bench.json", markdown_path=tmp_path / "bench.md",
                                 plot_path=tmp_path / "bench.png")
    [case] = outcome.cases
    assert (case.model, case.engine, case.threads, case.device) == ("small", "executorch", 1, "host")
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
