"""The model on ExecuTorch's arm64 kernels under qemu-aarch64 (verify/arm64.py): `verify --arch arm64`
and the build's arm64 step, on the digits network trained in the session (its logits are clear, so
agreement means something).

The refusals use a real arm64 kernel failure, not a doctored result: qemu 7.2's "max" CPU model
enables SME, and XNNPACK's SME int8 kernels then compute wrong logits under that qemu (measured:
12% top-1 on the digits; docs/toolchain.md). mnv3-sdk refuses "max" for that reason
(native.run.check_cpu_model); these tests lift that refusal to play a phone whose kernels are wrong.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import digits_build_args

import mnv3_sdk.native.run as native_run
import mnv3_sdk.verify.arm64 as arm64
from mnv3_sdk.native import DEFAULT_CPU_MODELS


VAL_PER_CLASS = 8


@pytest.fixture(scope="module")
def val_dir(digits, tmp_path_factory):
    """The first VAL_PER_CLASS validation images of each digit: scoring all 397 on the host alone
    takes half a minute on this shared machine, and 80 images are enough to see accuracy kept or lost."""
    folder = tmp_path_factory.mktemp("arm64") / "digits_val"
    for class_folder in sorted(digits.val_dir.iterdir()):
        (folder / class_folder.name).mkdir(parents=True)
        for image in sorted(class_folder.glob("*.png"))[:VAL_PER_CLASS]:
            shutil.copy(image, folder / class_folder.name / image.name)
    return folder


@pytest.fixture
def wrong_kernels(monkeypatch):
    """Lets qemu's SME-enabled "max" CPU model through (see the module docstring)."""
    monkeypatch.setattr(native_run, "check_cpu_model", lambda cpu: None)


def test_verify_arch_arm64_runs_every_cpu_model_and_keeps_the_accuracy(digits, digits_models, val_dir, run_cli):
    result = run_cli("verify", str(digits_models["int8"]), "--arch", "arm64", "--val-dir", str(val_dir),
                     "--weights", str(digits.weights_path), "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    section = found["arm64"]
    assert section["skipped"] is None and section["gate"]["passed"]
    assert [cpu["cpu"] for cpu in section["cpu_models"]] == list(DEFAULT_CPU_MODELS)
    images = 10 * VAL_PER_CLASS
    assert section["inputs"] == f"8 verification inputs + {images} images of digits_val"
    host_top1 = found["accuracy"]["pte_top1"]
    assert section["host_top1"] == pytest.approx(host_top1)
    for cpu in section["cpu_models"]:
        # Measured: int8 logits within a few quantization steps of the host's (0.43 at most on all 397
        # images); at most one image changes its top-1 on either core.
        assert abs(cpu["top1"] - host_top1) <= 1 / images + 1e-9, cpu
        assert cpu["versus_host"]["top1_agreement"] >= 0.98 and cpu["versus_host"]["max_abs_error"] < 1.0
        assert cpu["versus_eager"]["samples"] == 8 + images
        assert cpu["top1"] >= 0.98 * found["accuracy"]["eager_top1"]


def test_verify_arch_arm64_without_labels_compares_an_fp16_model_with_the_host(digits_models, run_cli):
    result = run_cli("verify", str(digits_models["fp16"]), "--arch", "arm64", "--cpu-models", "neoverse-n1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("arm64 neoverse-n1: vs host top-1 agreement 1.0000, max abs diff ")
    assert lines[1].startswith("arm64 gate passed: neoverse-n1: ")


def test_verify_refuses_a_model_whose_arm64_kernels_are_wrong(digits_models, val_dir, run_cli, wrong_kernels):
    result = run_cli("verify", str(digits_models["int8"]), "--arch", "arm64", "--cpu-models", "max,neoverse-n1",
                     "--val-dir", str(val_dir))
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if "error" in line]  # after the progress bars
    assert line.startswith("mnv3-sdk: error: arm64 gate failed: max: top-1 agreement with the host runtime 0.")
    assert "neoverse-n1: top-1 agreement with the host runtime 1.0000 ≥ 0.98" in line


@pytest.mark.parametrize("arguments, message", [
    (["--arch", "arm64", "--cpu-models", "cortex-a99"], "qemu-aarch64 has no CPU model 'cortex-a99'"),
    (["--arch", "arm64", "--cpu-models", "max"], "name a model such as cortex-a53"),
    (["--arch", "arm64", "--cpu-models", ","], "--cpu-models takes comma-separated qemu CPU models"),
    (["--cpu-models", "cortex-a53", "--val-dir", "."], "--cpu-models only applies with --arch arm64"),
    ([], "verify needs --val-dir (labelled images) on the host"),
])
def test_verify_usage_errors_are_one_line(digits_models, run_cli, arguments, message):
    result = run_cli("verify", str(digits_models["fp32"]), *arguments)
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_verify_arch_arm64_says_how_to_get_qemu(digits_models, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu-aarch64, no cross compiler
    result = run_cli("verify", str(digits_models["fp32"]), "--arch", "arm64", "--cpu-models", "cortex-a53")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("mnv3-sdk: error: --arch arm64 needs qemu-aarch64 and the arm64 cross compiler: "
                                     "aarch64-linux-gnu-g++ not found: apt-get install qemu-user g++-aarch64-linux-gnu")


def test_the_build_runs_its_arm64_step_and_reports_it(digits_build, digits):
    """The session's digits build ran the arm64 step (on by default): report.json and report.md have it."""
    report = json.loads((digits_build / "report.json").read_text())
    section = report["arm64"]
    assert section["skipped"] is None and section["gate"]["passed"] and report["build"]["passed"]
    assert [cpu["cpu"] for cpu in section["cpu_models"]] == list(DEFAULT_CPU_MODELS)
    assert section["labelled"] == f"{arm64.BUILD_VALIDATION_SAMPLES} of {digits.val_count} images of digits_val"
    assert section["inputs"].startswith("8 verification inputs + ")
    assert "arm64" in report["timings"]
    markdown = (digits_build / "report.md").read_text()
    assert "## On arm64 kernels (qemu-aarch64)\n\n**arm64 gate PASSED**: cortex-a53: " in markdown
    assert "| neoverse-n1 | 1.0000 (1.0000 on " in markdown


def test_no_arm64_check_is_reported_as_skipped(digits_models):
    report = json.loads((digits_models["fp16"].parent / "report.json").read_text())
    assert report["arm64"]["skipped"] == "--no-arm64-check" and report["arm64"]["gate"] is None
    assert "Not run: --no-arm64-check." in (digits_models["fp16"].parent / "report.md").read_text()


def test_without_qemu_the_build_step_is_skipped_with_the_reason(digits_models, monkeypatch, tmp_path):
    """Where qemu-aarch64 or the cross compiler is missing, the build publishes as before and says why."""
    monkeypatch.setenv("PATH", str(tmp_path))
    result = arm64.check_for_build(digits_models["fp32"], lambda batch: batch, {}, None, "", 32, 1.0, "pixels", 0.98,
                                   lambda items, label: items)
    assert result.skipped == "aarch64-linux-gnu-g++ not found: apt-get install qemu-user g++-aarch64-linux-gnu"
    assert result.passed and "Not run: aarch64-linux-gnu-g++ not found" in "\n".join(result.markdown_lines())


@pytest.mark.slow
def test_a_build_whose_arm64_gate_fails_is_refused(digits, tmp_path, run_cli, wrong_kernels, monkeypatch):
    """int8 on wrong arm64 kernels: the build stops like any gate failure, keeps only its reports in
    <out>.rejected, and publishes nothing."""
    monkeypatch.setattr(arm64, "DEFAULT_CPU_MODELS", ("max",))
    out = tmp_path / "digits-int8"
    result = run_cli(*digits_build_args(digits, out, "--quant", "int8", "--calibration-dir",
                                        str(digits.calibration_dir), arm64=True))
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("mnv3-sdk: error:")]
    assert error.startswith("mnv3-sdk: error: arm64 gate failed: max: top-1 agreement with the host runtime 0.")
    assert error.endswith(f"report kept in {out}.rejected/report.md, model not published")
    assert not out.exists()
    report = json.loads((tmp_path / "digits-int8.rejected" / "report.json").read_text())
    assert report["gate"]["passed"] and not report["arm64"]["gate"]["passed"] and not report["build"]["passed"]
    assert "**arm64 gate FAILED**: max: " in (tmp_path / "digits-int8.rejected" / "report.md").read_text()
