"""Compiling and running the generated plain-Kotlin logic on the JVM, for the parity tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mnv3_sdk.android.kotlin import compile_kotlin
from mnv3_sdk.android.project import default_demo_settings
from mnv3_sdk.android.toolchain import KOTLIN_STDLIB, Artifact, fetch, find_java

# Test mains compiled with the generated files: JvmHarness.kt (most JVM tests) and
# LiveStreamHarness.kt (tests/test_live_stream.py), in one compile.
HARNESSES = (Path(__file__).parent / "kotlin" / "JvmHarness.kt", Path(__file__).parent / "kotlin" / "LiveStreamHarness.kt")
# The files that must not depend on android.*: they are compiled here without android.jar.
PLAIN_KOTLIN = ("ImagePreprocessing.kt", "Classification.kt", "ModelMetadata.kt", "InferenceThreads.kt",
                "ModelFileCache.kt", "BenchmarkResult.kt", "ModelInput.kt", "CameraFrames.kt", "LiveStream.kt",
                "UprightRegion.kt", "PreprocessingBuffers.kt")
# Android ships org.json; on the JVM it comes from Maven Central (the version ExecuTorch's own
# Android tests use: extension/android/executorch_android/build.gradle).
ORG_JSON = Artifact("org.json", "json", "20250107")

DEFAULT_SETTINGS = default_demo_settings()
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def plain_sources(*names: str) -> list[Path]:
    """The plain Kotlin files of templates/ with these names, as they are: kotlinc reads them unrendered."""
    found = sorted(path for path in TEMPLATES.rglob("*.kt") if path.name in names)
    assert sorted(path.name for path in found) == sorted(names)
    return found


class JvmHarness:
    """The plain-Kotlin files of templates/ (the default project's package) plus the test mains in tests/kotlin/ (and
    ``extra_sources``, e.g. a benchmark's own main), compiled once, run as ``java`` processes."""

    def __init__(self, folder: Path, extra_sources: tuple[Path, ...] = ()) -> None:
        sources = plain_sources(*PLAIN_KOTLIN)
        # A second generated library in the same app: its own package, its own InferenceThreads.
        threads = next(p for p in sources if p.name == "InferenceThreads.kt").read_text(encoding="utf-8")
        other = folder / "other" / "InferenceThreads.kt"
        other.parent.mkdir()
        other.write_text(threads.replace(f"package {DEFAULT_SETTINGS.package}\n", "package com.example.other\n", 1),
                         encoding="utf-8")
        self.classes = folder / "classes"
        org_json = fetch(ORG_JSON)
        compile_kotlin([*sources, other, *HARNESSES, *extra_sources], [org_json], self.classes)
        self.classpath = os.pathsep.join([str(self.classes), str(org_json), str(fetch(KOTLIN_STDLIB))])

    def command(self, *args: str, main: str = "com.example.mnv3.JvmHarnessKt") -> list[str]:
        return [str(find_java()), "-cp", self.classpath, main, *args]

    def run(self, *args: str, main: str = "com.example.mnv3.JvmHarnessKt") -> str:
        result = subprocess.run(self.command(*args, main=main), capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result.stdout
