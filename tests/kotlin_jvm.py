"""Compiling and running the generated plain-Kotlin logic on the JVM, for the parity tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mnv3_sdk.codegen import default_demo_settings, render_project
from mnv3_sdk.kotlin import compile_kotlin
from mnv3_sdk.toolchain import KOTLIN_STDLIB, fetch, find_java

HARNESS = Path(__file__).parent / "kotlin" / "JvmHarness.kt"
# The files that must not depend on android.*: they are compiled here without android.jar.
PLAIN_KOTLIN = ("ImagePreprocessing.kt", "Classification.kt", "ModelMetadata.kt")

DEFAULT_SETTINGS = default_demo_settings()


class JvmHarness:
    def __init__(self, folder: Path) -> None:
        project = folder / "project"
        render_project(DEFAULT_SETTINGS, project)
        sources = sorted(p for p in project.rglob("*.kt") if p.name in PLAIN_KOTLIN)
        assert len(sources) == len(PLAIN_KOTLIN)
        self.classes = folder / "classes"
        compile_kotlin([*sources, HARNESS], [], self.classes)
        self.classpath = os.pathsep.join([str(self.classes), str(fetch(KOTLIN_STDLIB))])

    def run(self, *args: str) -> str:
        result = subprocess.run([str(find_java()), "-cp", self.classpath, "com.example.mnv3.JvmHarnessKt", *args],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stdout
