"""What building and running the native runner needs: compilers, qemu, and ExecuTorch's C++ runtime
as PyPI's executorch wheel ships it (shared libraries and headers) for this host and for arm64."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

from mnv3_sdk.cache import directory_writer, user_cache_dir
from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import EXECUTORCH_VERSION

HOST_ARCH = "x86_64"
ARM64 = "aarch64"
ARCHES = (HOST_ARCH, ARM64)
APT_PACKAGES = "qemu-user g++-aarch64-linux-gnu"
# Debian's arm64 cross toolchain keeps the target's glibc and libstdc++ here (libc6-arm64-cross,
# libstdc++6-arm64-cross, pulled in by g++-aarch64-linux-gnu).
ARM64_SYSROOT_LIB = Path("/usr/aarch64-linux-gnu/lib")
# The wheel's libraries the runner links: the runtime with the Module/data-loader/tensor extensions,
# the XNNPACK backend, the threadpool, the optimized kernels (which also register the portable
# ones: every operator our graphs can leave outside XNNPACK) and the quantized kernels. OpenVINO's
# backend needs OpenVINO; etdump is for `profile --arch arm64` (runner.cpp --etdump).
EXECUTORCH_LIBRARIES = (
    "libexecutorch.so",
    "libexecutorch_backend_xnnpack.so",
    "libexecutorch_threadpool.so",
    "libexecutorch_etdump.so",  # runner.cpp's --etdump (ETDumpGen)
    "libexecutorch_kernels_optimized.so",
    "libexecutorch_kernels_quantized.so",
)


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path | None
    hint: str  # how to get it, for the one-line error and doctor

    def require(self) -> Path:
        if self.path is None:
            raise SdkError(f"{self.name} not found: {self.hint}")
        return self.path


def host_compiler() -> Tool:
    return Tool("g++", find_tool("g++"), "apt-get install g++ (the native runner for this host is built with it)")


def arm64_compiler() -> Tool:
    return Tool("aarch64-linux-gnu-g++", find_tool("aarch64-linux-gnu-g++"), f"apt-get install {APT_PACKAGES}")


def qemu() -> Tool:
    return Tool("qemu-aarch64", find_tool("qemu-aarch64"), f"apt-get install {APT_PACKAGES}")


def host_c_compiler() -> Tool:
    return Tool("gcc", find_tool("gcc"), "apt-get install gcc (it builds the instruction-counting qemu plugin)")


def find_tool(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def compiler_version(compiler: Path) -> str:
    """The compiler's own first line and target, e.g. 'g++ (Debian 12.2.0-14) 12.2.0 aarch64-linux-gnu'."""
    lines = []
    for flag in ("--version", "-dumpmachine"):
        result = subprocess.run([str(compiler), flag], capture_output=True, text=True)
        if result.returncode != 0:
            raise SdkError(f"{compiler} {flag} failed: {(result.stderr or result.stdout).strip()[:200]}")
        lines.append(result.stdout.splitlines()[0].strip())
    return " ".join(lines)


def check_host(arch: str) -> None:
    machine = platform.machine()
    if arch not in ARCHES:
        raise SdkError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHES)} (arm64 is aarch64)")
    if machine != HOST_ARCH:
        # The host build uses the installed (x86_64) wheel and arm64 builds Debian's cross toolchain
        # for x86_64 hosts; other hosts have neither.
        raise SdkError(f"the native runner is built on x86_64 Linux hosts; this one is {machine}")


def arm64_missing() -> str | None:
    """Why arm64 models cannot be run here (the first missing tool and how to get it), or None.

    The arm64 runtime itself (PyPI's aarch64 wheel) is not looked at: fetching it is part of
    building the runner, and a failure there is reported as such."""
    if platform.machine() != HOST_ARCH:
        return f"the arm64 runner is built on x86_64 Linux hosts; this one is {platform.machine()}"
    for tool in (arm64_compiler(), qemu()):
        if tool.path is None:
            return f"{tool.name} not found: {tool.hint}"
    return None


def require_arm64(what: str) -> None:
    """SdkError naming the missing tool and its package, for a command that was asked to run arm64."""
    missing = arm64_missing()
    if missing is not None:
        raise SdkError(f"{what} needs qemu-aarch64 and the arm64 cross compiler: {missing}")


@dataclass(frozen=True)
class ExecutorchRuntime:
    """One architecture's ExecuTorch C++ runtime: ``root/include`` and ``root/lib`` of the wheel."""

    arch: str
    version: str
    wheel: str  # the wheel's file name (or "installed" for the host's)
    root: Path

    @property
    def include(self) -> Path:
        return self.root / "include"

    @property
    def lib(self) -> Path:
        return self.root / "lib"


def installed_runtime() -> ExecutorchRuntime:
    """The x86_64 runtime of the executorch package installed beside mnv3-sdk."""
    spec = util.find_spec("executorch")  # not imported: its import pulls in torch
    if spec is None or not spec.submodule_search_locations:
        raise SdkError("the executorch Python package is not installed (pip install mnv3-sdk installs it)")
    root = Path(next(iter(spec.submodule_search_locations)))
    _check_runtime(root, "the installed executorch package")
    return ExecutorchRuntime(HOST_ARCH, metadata.version("executorch"), "installed", root)


def arm64_runtime(cache: Path | None = None) -> ExecutorchRuntime:
    """executorch ``EXECUTORCH_VERSION``'s manylinux aarch64 wheel from PyPI, its lib/ and include/
    unpacked once into the user cache (pip's own cache makes a second download quick)."""
    cache = cache or user_cache_dir()
    # The wheel is per Python version; its C++ libraries do not depend on Python, but the one pip
    # picks for this interpreter is the one its cache is most likely to hold.
    python_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    entry = cache / "native" / f"executorch-{EXECUTORCH_VERSION}-{python_tag}-{ARM64}"
    if not (entry / "wheel.txt").is_file():
        with directory_writer(entry) as partial:
            downloads = partial / "download"
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                       "--platform", f"manylinux_2_28_{ARM64}", "--python-version",
                       f"{sys.version_info.major}.{sys.version_info.minor}",
                       f"executorch=={EXECUTORCH_VERSION}", "-d", str(downloads)]
            result = subprocess.run(command, capture_output=True, text=True)
            wheels = sorted(downloads.glob("executorch-*.whl"))
            if result.returncode != 0 or not wheels:
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise SdkError(f"cannot download executorch=={EXECUTORCH_VERSION} for manylinux aarch64 with pip: "
                               f"{detail[-1] if detail else 'no wheel'}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                for member in wheel.namelist():
                    if member.startswith(("executorch/include/", "executorch/lib/")) and not member.endswith("/"):
                        wheel.extract(member, partial)
            for folder in ("include", "lib"):
                (partial / "executorch" / folder).rename(partial / folder)
            (partial / "executorch").rmdir()
            shutil.rmtree(downloads)
            (partial / "wheel.txt").write_text(wheels[0].name + "\n")
    _check_runtime(entry, f"the aarch64 executorch wheel unpacked in {entry}")
    return ExecutorchRuntime(ARM64, EXECUTORCH_VERSION, (entry / "wheel.txt").read_text().strip(), entry)


def _check_runtime(root: Path, what: str) -> None:
    missing = [name for name in EXECUTORCH_LIBRARIES if not (root / "lib" / name).is_file()]
    if not (root / "include" / "executorch" / "extension" / "module" / "module.h").is_file():
        missing.append("include/executorch/extension/module/module.h")
    if missing:
        raise SdkError(f"{what} has no C++ runtime ({', '.join(missing)} missing)")


def runtime_for(arch: str, cache: Path | None = None) -> ExecutorchRuntime:
    return installed_runtime() if arch == HOST_ARCH else arm64_runtime(cache)


def uses_cxx11_abi(library: Path) -> bool:
    """Whether ``library`` was built with libstdc++'s C++11 ABI (its std::string is
    std::__cxx11::basic_string): our code must be compiled with the same _GLIBCXX_USE_CXX11_ABI,
    or every call passing a std::string (Module's constructor, execute) fails to link."""
    return b"St7__cxx11" in library.read_bytes()
