"""Compiling Kotlin with the real Kotlin compiler (kotlin-compiler-embeddable) on the installed JDK."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from mnv3_sdk.android.toolchain import KOTLIN_COMPILER, KOTLIN_STDLIB, Artifact, fetch, find_java
from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import KOTLIN_API_VERSION

JVM_TARGET = "17"


class KotlinCompileError(SdkError):
    """kotlinc rejected the sources: a bug in the generated code, never a missing tool to skip."""


def module_name(group: str, artifact: str) -> str:
    """The Kotlin module name of a library published as ``group:artifact``.

    kotlinc writes ``META-INF/<module name>.kotlin_module`` into the jar (``main`` without
    ``-module-name``) and appends the name to the JVM names of ``internal`` members, so two
    libraries in one app must not share it: AGP's mergeJavaResource fails on two equal paths.
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{group}_{artifact}")


def compile_kotlin(
    sources: list[Path],
    classpath: list[Path],
    out_dir: Path,
    warnings_as_errors: bool = True,
    module: str | None = None,
    compiler: list[Artifact] = KOTLIN_COMPILER,
    stdlib: Artifact = KOTLIN_STDLIB,
) -> None:
    """Compile ``sources`` into class files under ``out_dir``; compiler errors become an SdkError.

    The output targets Kotlin ``KOTLIN_API_VERSION`` (language and API), whichever ``compiler``
    runs, so that older Kotlin compilers can read it (see toolchain.KOTLIN_API_VERSION).
    """
    java = find_java()
    if java is None:
        raise SdkError("no JDK found (set JAVA_HOME or put java on PATH): the Kotlin wrapper cannot be compiled")
    compiler_jars = [fetch(artifact) for artifact in compiler]
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(java), "-Xss8m", "-cp", os.pathsep.join(map(str, compiler_jars)),
        "org.jetbrains.kotlin.cli.jvm.K2JVMCompiler",
        "-no-stdlib", "-no-reflect", "-jvm-target", JVM_TARGET, "-Xjdk-release=" + JVM_TARGET,
        "-language-version", KOTLIN_API_VERSION, "-api-version", KOTLIN_API_VERSION,
        *(["-module-name", module] if module else []),
        *(["-Werror"] if warnings_as_errors else []),
        "-cp", os.pathsep.join(map(str, [*classpath, fetch(stdlib)])),
        "-d", str(out_dir),
        *map(str, sources),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        problems = [line for line in result.stderr.splitlines() if "error:" in line or "warning:" in line]
        raise KotlinCompileError("Kotlin compilation failed: " + (" | ".join(problems[:3]) or result.stderr.strip()[:300]))
