"""Compiling runner.cpp against ExecuTorch's wheel, for this host or arm64, into a cached folder.

A build is a folder holding the runner, the wheel's shared libraries it needs and, for arm64,
glibc's loader and libraries: self-contained, so the same folder runs under qemu-aarch64 here and
on a phone (``ld-linux-aarch64.so.1 --library-path DIR DIR/runner``). Its name is a hash of
everything that makes it, so a second call returns it without compiling.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mnv3_sdk.cache import directory_writer, user_cache_dir
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native.toolchain import (
    ARM64,
    ARM64_SYSROOT_LIB,
    EXECUTORCH_LIBRARIES,
    ExecutorchRuntime,
    arm64_compiler,
    check_host,
    compiler_version,
    host_compiler,
    runtime_for,
    uses_cxx11_abi,
)

RUNNER = "runner"
ARM64_LOADER = "ld-linux-aarch64.so.1"
# glibc and the C++ runtime the arm64 runner and the wheel's libraries need (their NEEDED entries),
# taken from Debian's cross sysroot: a phone has bionic, not glibc, so they travel with the runner.
ARM64_SYSTEM_LIBRARIES = (ARM64_LOADER, "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
                          "libpthread.so.0", "libdl.so.2")
# What the wheel's CMake package (lib/cmake/executorch/executorch-config.cmake) puts on its targets:
# the vendored c10 headers include a header generated inside a PyTorch build unless told the macros
# are provided; the libraries are built with the event tracer on (without it some classes have
# other members) and with the threadpool (thread_parallel_interface.h then calls into it).
DEFINES = ("C10_USING_CUSTOM_GENERATED_MACROS", "ET_EVENT_TRACER_ENABLED", "ET_USE_THREADPOOL")


@dataclass(frozen=True)
class RunnerBuild:
    arch: str
    folder: Path
    key: str
    compiled_now: bool  # False when this call found the folder in the cache

    @property
    def runner(self) -> Path:
        return self.folder / RUNNER


def runner_source() -> bytes:
    return resources.files("mnv3_sdk.native").joinpath("runner.cpp").read_bytes()


def compile_command(compiler: Path, runtime: ExecutorchRuntime, source: Path, output: Path) -> list[str]:
    abi = int(uses_cxx11_abi(runtime.lib / "libexecutorch.so"))
    return [
        str(compiler), "-std=c++17", "-O2", "-Wall",
        *(f"-D{define}" for define in DEFINES), f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
        # -isystem: the wheel's headers warn under -Wall (deprecated members used inside module.h).
        "-isystem", str(runtime.include),
        "-isystem", str(runtime.include / "executorch" / "runtime" / "core" / "portable_type" / "c10"),
        str(source), "-o", str(output), "-L", str(runtime.lib),
        # The backend and kernel libraries register themselves from static initializers and export
        # nothing the runner calls: without --no-as-needed a linker that defaults to --as-needed drops
        # them, and loading a model fails with "Backend XnnpackBackend is not registered" (0x20).
        "-Wl,--push-state,--no-as-needed",
        *(f"-l{name[3:-3]}" for name in EXECUTORCH_LIBRARIES),
        "-Wl,--pop-state",
        # The libraries sit beside the runner in the build folder, wherever that folder is moved.
        "-Wl,-rpath,$ORIGIN",
    ]


def build_key(arch: str, source: bytes, runtime: ExecutorchRuntime, compiler: str, command: list[str],
              system_libraries: list[Path]) -> str:
    facts = {
        "source": hashlib.sha256(source).hexdigest(),
        "arch": arch,
        "executorch": runtime.version,
        "wheel": runtime.wheel,
        "compiler": compiler,
        # The flags, without the paths (the same build from another venv is the same build).
        "flags": [part for part in command if part.startswith("-") and not part.startswith(("-L", "-isystem"))],
        "system": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in system_libraries},
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]


def build_runner(arch: str, cache: Path | None = None) -> RunnerBuild:
    """The runner for ``arch`` ("x86_64" or "aarch64"), compiled now or found in the cache."""
    arch = ARM64 if arch == "arm64" else arch
    check_host(arch)
    cache = cache or user_cache_dir()
    compiler = (arm64_compiler() if arch == ARM64 else host_compiler()).require()
    runtime = runtime_for(arch, cache)
    system_libraries = [ARM64_SYSROOT_LIB / name for name in ARM64_SYSTEM_LIBRARIES] if arch == ARM64 else []
    missing = [str(path) for path in system_libraries if not path.exists()]
    if missing:
        raise SdkError(f"{missing[0]} not found: apt-get install g++-aarch64-linux-gnu (it brings the arm64 glibc)")
    source = runner_source()
    folder_command = compile_command(compiler, runtime, Path("runner.cpp"), Path(RUNNER))
    key = build_key(arch, source, runtime, compiler_version(compiler), folder_command, system_libraries)
    folder = cache / "native" / f"runner-{arch}-{key}"
    if (folder / RUNNER).is_file():
        return RunnerBuild(arch, folder, key, compiled_now=False)
    with directory_writer(folder) as partial:
        (partial / "runner.cpp").write_bytes(source)  # kept beside the binary: what it was built from
        command = compile_command(compiler, runtime, partial / "runner.cpp", partial / RUNNER)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()
            raise SdkError(f"compiling the native runner for {arch} failed: {errors[0].strip() if errors else 'no output'}")
        # copy2 follows links (libstdc++.so.6 -> .so.6.0.30); the modes are set because the wheel's
        # files come out of a zip without theirs, and the loader must stay executable on a phone.
        for path in [runtime.lib / name for name in EXECUTORCH_LIBRARIES] + system_libraries:
            shutil.copy2(path, partial / path.name)
            os.chmod(partial / path.name, 0o755)
        (partial / "build.json").write_text(json.dumps({"arch": arch, "key": key, "command": command,
                                                        "executorch": runtime.version, "wheel": runtime.wheel},
                                                       indent=1) + "\n")
    return RunnerBuild(arch, folder, key, compiled_now=True)
