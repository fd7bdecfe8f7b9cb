"""mnv3-sdk's own ExecuTorch runner (runner.cpp): built for this host and for arm64 against PyPI's
executorch wheel, run natively or under qemu-aarch64 (docs/toolchain.md, "Native runner")."""

from mnv3_sdk.native.build import RunnerBuild, build_runner
from mnv3_sdk.native.run import (
    ARCHES,
    DEFAULT_CPU_MODELS,
    RunnerOutput,
    TensorSpec,
    arch_cpu_models,
    check_cpu_model,
    parse_cpu_models,
    parse_output,
    read_outputs,
    run_on_inputs,
    run_runner,
)
from mnv3_sdk.native.toolchain import arm64_missing, require_arm64

__all__ = ["ARCHES", "DEFAULT_CPU_MODELS", "RunnerBuild", "RunnerOutput", "TensorSpec", "arch_cpu_models", "arm64_missing", "build_runner",
           "check_cpu_model", "parse_cpu_models", "parse_output", "read_outputs", "require_arm64", "run_on_inputs", "run_runner"]
