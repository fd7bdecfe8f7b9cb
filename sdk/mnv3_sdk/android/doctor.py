"""``mnv3-sdk doctor``: what the Android toolchain discovery finds, where, and what is missing; also the
compilers and qemu that build and run the native runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.android.toolchain import (
    ANDROID_ALL,
    EXECUTORCH_ANDROID,
    KOTLIN_COMPILER,
    fetch,
    find_java,
    maven_repository,
)
from mnv3_sdk.errors import SdkError
from mnv3_sdk.hostinfo import android_sdk_roots
from mnv3_sdk.native.toolchain import arm64_compiler, host_compiler, qemu


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _java_version(java: str) -> str:
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    return (result.stderr or result.stdout).splitlines()[0] if result.returncode == 0 else "does not run"


def run_checks(fetch_missing: bool) -> list[Check]:
    checks: list[Check] = []
    java = find_java()
    checks.append(Check("JDK", java is not None, f"{java} ({_java_version(str(java))})" if java else
                        "not found: set JAVA_HOME or install a JDK 17+ (needed to compile the Kotlin)"))
    mvn = shutil.which("mvn")
    checks.append(Check("Maven", mvn is not None, mvn or "not found: jars cannot be fetched from Maven Central"))
    repository = maven_repository()
    for artifact, purpose in [(KOTLIN_COMPILER[0], "Kotlin compiler"), (ANDROID_ALL, "Android framework classes")]:
        path = artifact.path(repository)
        if not path.is_file() and fetch_missing:
            try:
                path = fetch(artifact)
            except SdkError as error:
                checks.append(Check(purpose, False, str(error)))
                continue
        checks.append(Check(purpose, path.is_file(), str(path) if path.is_file()
                            else f"{artifact.coordinates} not cached yet (fetched by the first build, or doctor --fetch)"))
    sdk = next((str(root) for root in android_sdk_roots()), None)
    checks.append(Check("Android SDK", bool(sdk), sdk or "not set: android-all from Maven Central stands in for android.jar"))
    local = os.environ.get("MNV3_SDK_EXECUTORCH_AAR")
    if local:
        checks.append(Check("ExecuTorch Android runtime", Path(local).is_file(), f"{local} (MNV3_SDK_EXECUTORCH_AAR)"))
        return checks + _adb_check(sdk)
    try:
        aar = fetch(EXECUTORCH_ANDROID)
        checks.append(Check("ExecuTorch Android runtime", True, str(aar)))
    except SdkError as error:
        checks.append(Check("ExecuTorch Android runtime", False,
                            f"{error}; the Kotlin is compiled against the bundled compile-only stand-in "
                            "(or set MNV3_SDK_EXECUTORCH_AAR to a downloaded AAR)"))
    return checks + _adb_check(sdk)


def _adb_check(sdk: str | None) -> list[Check]:
    adb = shutil.which("adb", path=os.pathsep.join(filter(None, [
        os.path.join(sdk, "platform-tools") if sdk else None, os.environ.get("PATH")])))
    return [Check("adb", adb is not None, adb or "not found: needed only for mnv3-sdk bench --adb")] + _native_checks()


def _native_checks() -> list[Check]:
    """The tools that build the native runner (mnv3_sdk.native) and run its arm64 build here."""
    checks = []
    for tool, purpose in [(host_compiler(), "C++ compiler (native runner for this host)"),
                          (arm64_compiler(), "arm64 cross compiler (native runner for phones)"),
                          (qemu(), "qemu-aarch64 (runs the arm64 runner here)")]:
        checks.append(Check(purpose, tool.path is not None, str(tool.path) if tool.path else f"not found: {tool.hint}"))
    return checks
