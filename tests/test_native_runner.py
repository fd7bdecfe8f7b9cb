"""The native runner (mnv3_sdk/native/runner.cpp): built for this host and for arm64 against PyPI's
executorch wheels, it must give the Python runtime's outputs on the host and the host's under qemu.

Nothing here skips: a missing compiler or qemu fails with the SdkError that names its apt package
(`make test` installs them). The models are the digits network (Small ×0.5, 32 px) trained in the
session, so that its logits are large enough for the tolerances to mean something.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mnv3_sdk.bench.device import parse_runner_output
from mnv3_sdk.errors import SdkError
from mnv3_sdk.imaging.model_input import to_model_input
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.native import build, build_runner, check_cpu_model, read_outputs, run_runner
from mnv3_sdk.native.run import command
from mnv3_sdk.pte.runtime import LoadedModel

# Named CPU models: cortex-a53 has no dot-product instructions and neoverse-n1 has them, so XNNPACK
# takes different int8 kernels on the two (qemu's "max" is refused: see check_cpu_model).
QEMU_CPUS = ["cortex-a53", "neoverse-n1"]


@pytest.fixture(scope="module")
def models(digits_models) -> dict[str, Path]:
    return digits_models


@pytest.fixture(scope="module")
def images(digits) -> list[torch.Tensor]:
    """Three validation digits as the float32 NCHW tensors the graph takes."""
    files = sorted(digits.val_dir.rglob("*.png"))[:3]
    return [to_model_input(preprocess_rgb(np.asarray(Image.open(path).convert("RGB")), digits.input_size, 1.0),
                           "pixels") for path in files]


@pytest.fixture(scope="module")
def host_build():
    return build_runner("x86_64")


@pytest.fixture(scope="module")
def arm64_build():
    return build_runner("aarch64")


def write_inputs(images: list[torch.Tensor], dtype: torch.dtype, folder: Path) -> list[Path]:
    paths = []
    for index, image in enumerate(images):
        path = folder / f"input{index}.bin"
        path.write_bytes(image.to(dtype).contiguous().numpy().tobytes())
        paths.append(path)
    return paths


def run_all(runner_build, model: Path, inputs: list[Path], folder: Path, **options):
    """Runs ``inputs`` through the runner; returns its parsed output and the first output tensor of each."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = [folder / f"output{index}.bin" for index in range(len(inputs))]
    result = run_runner(runner_build, model, inputs=inputs, outputs=outputs, **options)
    return result, [read_outputs(result, path)[0] for path in outputs]


@pytest.mark.parametrize("quant", ["fp32", "int8"])
def test_host_runner_gives_the_python_runtimes_outputs(quant, models, images, host_build, tmp_path):
    inputs = write_inputs(images, torch.float32, tmp_path)
    result, outputs = run_all(host_build, models[quant], inputs, tmp_path / "out", threads=2, warmup=1, iterations=4)
    assert result.threads == 2
    assert [(spec.dtype, spec.shape) for spec in result.inputs] == [("float32", (1, 3, 32, 32))]
    assert [(spec.dtype, spec.shape) for spec in result.outputs] == [("float32", (1, 10))]
    # One time per timed iteration, read by our parser and by the adb benchmark's.
    assert len(result.samples_ms) == 4 and all(sample > 0 for sample in result.samples_ms)
    assert parse_runner_output(result.stdout)[0] == result.samples_ms
    model = LoadedModel(models[quant])
    for image, output in zip(images, outputs):
        expected = model.run(image).numpy()
        if quant == "int8":
            np.testing.assert_array_equal(output, expected)
        else:
            np.testing.assert_allclose(output, expected, rtol=0, atol=1e-5)
    # Three different digits: a runner that wrote one output for every input would fail here.
    assert len({output.tobytes() for output in outputs}) == 3


@pytest.mark.parametrize("cpu", QEMU_CPUS)
def test_arm64_runner_under_qemu_gives_the_hosts_outputs(cpu, models, images, host_build, arm64_build, tmp_path):
    """fp32 within 1e-4 of the host with the same top-1; int8 bit for bit (measured: every named
    CPU model gives the host's int8 logits exactly; qemu's SME does not, see check_cpu_model)."""
    inputs = write_inputs(images, torch.float32, tmp_path)
    for quant in ["fp32", "int8"]:
        _, host = run_all(host_build, models[quant], inputs, tmp_path / f"host-{quant}", warmup=0, iterations=0)
        result, arm = run_all(arm64_build, models[quant], inputs, tmp_path / f"arm-{quant}", cpu=cpu,
                              warmup=0, iterations=1)
        assert len(result.samples_ms) == 1
        for expected, output in zip(host, arm):
            assert output.argmax() == expected.argmax()
            if quant == "fp32":
                np.testing.assert_allclose(output, expected, rtol=0, atol=1e-4)
            else:
                np.testing.assert_array_equal(output, expected)


def test_fp16_model_takes_and_returns_float16(models, images, host_build, arm64_build, tmp_path):
    inputs = write_inputs(images, torch.float16, tmp_path)
    result, host = run_all(host_build, models["fp16"], inputs, tmp_path / "host", warmup=0, iterations=1)
    assert [(spec.dtype, spec.nbytes) for spec in result.inputs] == [("float16", 3 * 32 * 32 * 2)]
    assert [spec.dtype for spec in result.outputs] == ["float16"]
    model = LoadedModel(models["fp16"])
    for image, output in zip(images, host):
        np.testing.assert_array_equal(output.astype(np.float32), model.run(image).numpy())
    # neoverse-n1 computes in fp16 (x86 converts to fp32 around each operation): close, same top-1.
    _, arm = run_all(arm64_build, models["fp16"], inputs, tmp_path / "arm", cpu="neoverse-n1", warmup=0, iterations=1)
    for expected, output in zip(host, arm):
        assert output.argmax() == expected.argmax()
        np.testing.assert_allclose(output.astype(np.float32), expected.astype(np.float32), rtol=0,
                                   atol=0.01 * float(np.abs(expected).max()))


def test_a_damaged_model_is_a_one_line_error(models, host_build, arm64_build, tmp_path):
    truncated = tmp_path / "truncated.pte"
    truncated.write_bytes(models["fp32"].read_bytes()[:4096])
    garbage = tmp_path / "garbage.pte"
    garbage.write_bytes(b"not a program\n" * 100)
    for runner_build, model, cpu in [(host_build, truncated, None), (host_build, garbage, None),
                                     (arm64_build, truncated, "cortex-a53")]:
        result = subprocess.run(command(runner_build, model, cpu=cpu), capture_output=True, text=True)
        assert result.returncode == 1
        # The runtime reads the size a .pte's header promises: a cut file is an invalid program.
        assert result.stderr.splitlines() == [f"error: loading {model}: ExecuTorch error 0x23 (InvalidProgram)"]
        with pytest.raises(SdkError, match=f"failed on {model.name}: loading .*ExecuTorch error"):
            run_runner(runner_build, model, cpu=cpu)


def test_the_cache_returns_the_runner_without_compiling_again(tmp_path, monkeypatch):
    calls = []
    real_run = subprocess.run

    def recording_run(argv, *args, **kwargs):
        calls.append(argv)
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(build.subprocess, "run", recording_run)
    first = build_runner("x86_64", cache=tmp_path)
    compiles = [argv for argv in calls if "-o" in argv]
    assert first.compiled_now and len(compiles) == 1
    stat = first.runner.stat()
    calls.clear()
    second = build_runner("x86_64", cache=tmp_path)
    assert not second.compiled_now and second.folder == first.folder
    assert not [argv for argv in calls if "-o" in argv]  # only the compiler's version was asked
    assert (second.runner.stat().st_ino, second.runner.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert [path.name for path in tmp_path.joinpath("native").iterdir()] == [first.folder.name]  # no leftovers


def test_the_arm64_folder_is_self_contained(arm64_build):
    """Every library any file in the folder needs is in the folder, and the runner looks for them
    beside itself, so the folder can be pushed to a phone as it is."""
    folder = arm64_build.folder
    present = {path.name for path in folder.iterdir()}
    for path in folder.iterdir():
        if path.suffix in (".cpp", ".json"):
            continue
        dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        needed = {line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line}
        assert needed <= present, (path.name, needed - present)
        if path.name == "runner":
            assert "Library runpath: [$ORIGIN]" in dynamic
    headers = subprocess.run(["readelf", "-h", str(arm64_build.runner)], capture_output=True, text=True).stdout
    assert "AArch64" in headers


def test_a_qemu_cpu_model_must_be_named_and_max_needs_sme_off(arm64_build, host_build, models):
    for cpu in ["cortex-a53", "neoverse-n1", "max,sme=off"]:
        check_cpu_model(cpu)
    for cpu in ["", "max", "max,sve=off"]:
        with pytest.raises(SdkError, match="name a model"):
            check_cpu_model(cpu)
    with pytest.raises(SdkError, match="name a model"):
        command(arm64_build, models["fp32"])
    with pytest.raises(SdkError, match="arm64 builds only"):
        command(host_build, models["fp32"], cpu="cortex-a53")


def test_doctor_reports_the_native_toolchain(run_cli, monkeypatch, tmp_path):
    # A local AAR path keeps doctor from asking Maven Central for the ExecuTorch runtime.
    monkeypatch.setenv("MNV3_SDK_EXECUTORCH_AAR", str(tmp_path / "none.aar"))
    result = run_cli("doctor")
    assert result.exit_code == 0
    for name in ["C++ compiler", "arm64 cross compiler", "qemu-aarch64"]:
        line = next(line for line in result.stdout.splitlines() if f"  {name}" in line)
        assert line.startswith("ok "), line


def test_doctor_says_how_to_get_a_missing_qemu(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MNV3_SDK_EXECUTORCH_AAR", str(tmp_path / "none.aar"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    line = next(line for line in run_cli("doctor").stdout.splitlines() if "qemu-aarch64 (" in line)
    assert line.startswith("missing") and "apt-get install qemu-user g++-aarch64-linux-gnu" in line


def test_instructions_per_inference_repeat_exactly_and_dot_product_needs_fewer(models, arm64_build):
    """The qemu plugin counts guest instructions between the runner's markers: the same count in
    every timed iteration and in a second process; XNNPACK's dot-product int8 kernels (neoverse-n1)
    execute fewer instructions than the cortex-a53 ones."""
    counts = {}
    for cpu in QEMU_CPUS:
        runs = [run_runner(arm64_build, models["int8"], cpu=cpu, warmup=1, iterations=2, count_instructions=True)
                for _ in range(2)]
        assert runs[0].instructions == runs[1].instructions
        assert len(set(runs[0].instructions)) == 1 and runs[0].instructions[0] > 100_000
        counts[cpu] = runs[0].instructions[0]
    assert counts["neoverse-n1"] < 0.9 * counts["cortex-a53"], counts
    with pytest.raises(SdkError, match="one thread|threads 1"):
        run_runner(arm64_build, models["int8"], cpu="neoverse-n1", threads=2, count_instructions=True)


def test_the_runner_is_one_call_for_every_architecture_name():
    with pytest.raises(SdkError, match="unknown architecture"):
        build_runner("riscv64")
    assert os.fspath(build_runner("arm64").folder) == os.fspath(build_runner("aarch64").folder)
