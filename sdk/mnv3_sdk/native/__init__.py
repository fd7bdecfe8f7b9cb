"""mnv3-sdk's own ExecuTorch runner (runner.cpp): built for this host and for arm64 against PyPI's
executorch wheel, run natively or under qemu-aarch64 (docs/toolchain.md, "Native runner")."""

from mnv3_sdk.native.build import RunnerBuild, build_runner
from mnv3_sdk.native.run import RunnerOutput, TensorSpec, check_cpu_model, parse_output, read_outputs, run_runner

__all__ = ["RunnerBuild", "RunnerOutput", "TensorSpec", "build_runner", "check_cpu_model", "parse_output",
           "read_outputs", "run_runner"]
