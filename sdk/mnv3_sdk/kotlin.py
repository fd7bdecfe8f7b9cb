"""Compiling Kotlin with the real Kotlin compiler (kotlin-compiler-embeddable) on the installed JDK."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mnv3_sdk.errors import SdkError
from mnv3_sdk.toolchain import KOTLIN_COMPILER, KOTLIN_STDLIB, fetch, find_java

JVM_TARGET = "17"


def compile_kotlin(sources: list[Path], classpath: list[Path], out_dir: Path, warnings_as_errors: bool = True) -> None:
    """Compile ``sources`` into class files under ``out_dir``; compiler errors become an SdkError."""
    java = find_java()
    if java is None:
        raise SdkError("no JDK found (set JAVA_HOME or put java on PATH): the Kotlin wrapper cannot be compiled")
    compiler = [fetch(artifact) for artifact in KOTLIN_COMPILER]
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(java), "-Xss8m", "-cp", os.pathsep.join(map(str, compiler)),
        "org.jetbrains.kotlin.cli.jvm.K2JVMCompiler",
        "-no-stdlib", "-no-reflect", "-jvm-target", JVM_TARGET, "-Xjdk-release=" + JVM_TARGET,
        *(["-Werror"] if warnings_as_errors else []),
        "-cp", os.pathsep.join(map(str, [*classpath, fetch(KOTLIN_STDLIB)])),
        "-d", str(out_dir),
        *map(str, sources),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        problems = [line for line in result.stderr.splitlines() if "error:" in line or "warning:" in line]
        raise SdkError("Kotlin compilation failed: " + (" | ".join(problems[:3]) or result.stderr.strip()[:300]))
