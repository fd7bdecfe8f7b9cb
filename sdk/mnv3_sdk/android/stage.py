"""The Android stage: render the Gradle project, compile the Kotlin, package the AAR and Maven repo."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.android import aar as aar_io
from mnv3_sdk.android.kotlin import JVM_TARGET, KotlinCompileError, compile_kotlin, module_name
from mnv3_sdk.android.project import LIBRARY_MODULE, AndroidSettings, render_project
from mnv3_sdk.android.toolchain import EXECUTORCH_ANDROID, android_jar, fetch
from mnv3_sdk.cache import entry_writer, user_cache_dir, write_entry
from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import KOTLIN_API_VERSION, KOTLIN_VERSION


@dataclass(frozen=True)
class StandIn:
    """Kotlin sources declaring the public signatures of a library we cannot fetch, compiled to
    type-check the generated code against and never shipped."""

    sources: Path
    # A module name of its own, so its META-INF/*.kotlin_module never meets a library's.
    module: str


EXECUTORCH_STANDIN = StandIn(Path(__file__).parent / "executorch_api_standin",
                             module_name("mnv3-sdk", "executorch-api-standin"))
# androidx.annotation is on Google's Maven only (androidx_annotation_standin/README.md).
ANDROIDX_ANNOTATION_STANDIN = StandIn(Path(__file__).parent / "androidx_annotation_standin",
                                      module_name("mnv3-sdk", "androidx-annotation-standin"))


@dataclass(frozen=True)
class ExecutorchApi:
    """The ExecuTorch Android classes the Kotlin is compiled against, and which kind they are."""

    classes: Path
    kind: str  # "executorch-android <version> (Maven Central)" or "compile-only stand-in"


@dataclass(frozen=True)
class AndroidResult:
    project: Path
    aar: Path | None
    maven: Path | None
    skipped: str | None  # why the AAR was not built, in one line
    executorch_api: str | None


UNAVAILABLE_RECHECK_SECONDS = 24 * 3600


def executorch_api(cache: Path) -> ExecutorchApi:
    """The real AAR's classes.jar when Maven Central serves it, else the compile-only stand-in.

    A failed fetch is remembered for a day, so builds do not pay for an mvn round trip each time.
    """
    standin = "compile-only stand-in (executorch-android not reachable)"
    local = os.environ.get("MNV3_SDK_EXECUTORCH_AAR")
    if local:
        return _classes_of(Path(local), cache, f"executorch-android from {local}")
    unavailable = cache / f"executorch-android-{EXECUTORCH_ANDROID.version}.unavailable"
    if unavailable.is_file() and time.time() - unavailable.stat().st_mtime < UNAVAILABLE_RECHECK_SECONDS:
        return ExecutorchApi(standin_jar(cache, EXECUTORCH_STANDIN), standin)
    try:
        aar = fetch(EXECUTORCH_ANDROID)
    except SdkError as error:
        write_entry(unavailable, str(error).encode())
        return ExecutorchApi(standin_jar(cache, EXECUTORCH_STANDIN), standin)
    return _classes_of(aar, cache, f"executorch-android {EXECUTORCH_ANDROID.version} (Maven Central)")


def _classes_of(aar: Path, cache: Path, kind: str) -> ExecutorchApi:
    """The AAR's classes.jar, extracted once into the cache (keyed by the AAR's content)."""
    try:
        digest = hashlib.sha256(aar.read_bytes()).hexdigest()[:16]
        classes = cache / f"executorch-android-{digest}-classes.jar"
        if not classes.is_file():
            with zipfile.ZipFile(aar) as archive:
                write_entry(classes, archive.read("classes.jar"))
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        raise SdkError(f"cannot read classes.jar from {aar}: {error}") from None
    return ExecutorchApi(classes, kind)


def standin_jar(cache: Path, standin: StandIn) -> Path:
    """The stand-in's sources compiled once into a jar, cached by their content and compiler version."""
    sources = sorted(standin.sources.rglob("*.kt"))
    digest = hashlib.sha256(f"{KOTLIN_VERSION} {KOTLIN_API_VERSION} {standin.module}".encode())
    for source in sources:
        digest.update(source.read_bytes())
    jar = cache / f"{standin.sources.name.replace('_', '-')}-{digest.hexdigest()[:16]}.jar"
    if not jar.is_file():
        with tempfile.TemporaryDirectory() as scratch:
            classes = Path(scratch) / "classes"
            compile_kotlin(sources, [], classes, module=standin.module)
            cache.mkdir(parents=True, exist_ok=True)
            with entry_writer(jar) as partial:
                aar_io.folder_jar(classes, partial)
    return jar


def toolchain_cache() -> Path:
    return user_cache_dir() / "toolchain"


def compile_classpath(api: ExecutorchApi) -> list[Path]:
    """What the generated library compiles against, and what an app using it has: the Android
    framework, ExecuTorch's Android API and androidx.annotation."""
    return [android_jar(), api.classes, standin_jar(toolchain_cache(), ANDROIDX_ANNOTATION_STANDIN)]


def library_source_root(project: Path) -> Path:
    return project / LIBRARY_MODULE / "src" / "main" / "kotlin"


def library_sources(project: Path) -> list[Path]:
    return sorted(library_source_root(project).rglob("*.kt"))


def compile_library(project: Path, settings: AndroidSettings, api: ExecutorchApi, target: Path) -> Path:
    """The library module of ``project`` compiled into ``target``: the classes.jar the AAR ships.

    The Kotlin module name comes from the Maven coordinates, so two generated libraries in one app
    carry different ``META-INF/*.kotlin_module`` entries. The jar depends on the sources, that
    module name, the compiler and the classpath only, never on the model: it is kept in the
    toolchain cache under a digest of those, so a rebuild with another model skips kotlinc (a
    fresh JVM, about 10 s here).
    """
    group, artifact, _ = settings.maven_coordinates
    module = module_name(group, artifact)
    sources = library_sources(project)
    classpath = compile_classpath(api)
    digest = hashlib.sha256(f"{KOTLIN_VERSION} {KOTLIN_API_VERSION} {JVM_TARGET} {module}".encode())
    for jar in classpath:
        digest.update(f"|{jar.name} {jar.stat().st_size}".encode())
    for source in sources:
        digest.update(f"|{source.relative_to(project).as_posix()}|".encode() + source.read_bytes())
    cached = toolchain_cache() / "kotlin-classes" / f"{digest.hexdigest()[:24]}.jar"
    if not cached.is_file():
        with tempfile.TemporaryDirectory() as scratch:
            classes = Path(scratch) / "classes"
            compile_kotlin(sources, classpath, classes, module=module)
            aar_io.folder_jar(classes, Path(scratch) / "classes.jar")
            write_entry(cached, (Path(scratch) / "classes.jar").read_bytes())
    shutil.copyfile(cached, target)
    return target


def demo_sources(project: Path) -> list[Path]:
    """The demo's Kotlin of every source set (main, and debug with the benchmark entry point)."""
    return sorted((project / "demo" / "src").glob("*/kotlin/**/*.kt"))


def build_android(
    settings: AndroidSettings, model: bytes, out_dir: Path, build_aar: bool, name: str
) -> AndroidResult:
    """Write ``out_dir/android`` always; ``<name>.aar`` and ``maven/`` when the toolchain allows."""
    project = out_dir / "android"
    render_project(settings, project)
    asset = project / LIBRARY_MODULE / "src" / "main" / "assets" / settings.asset_path
    asset.parent.mkdir(parents=True, exist_ok=True)
    asset.write_bytes(model)
    if not build_aar:
        return AndroidResult(project, None, None, "AAR skipped (--no-aar)", None)
    try:
        api = executorch_api(toolchain_cache())
        with tempfile.TemporaryDirectory() as scratch:
            jar = compile_library(project, settings, api, Path(scratch) / "classes.jar")
            aar = out_dir / f"{name}.aar"
            consumer_rules = (project / LIBRARY_MODULE / "consumer-rules.pro").read_bytes()
            aar_io.write_aar(aar, settings, jar, consumer_rules, model)
    except KotlinCompileError:
        raise  # a bug in the generated code, never something to skip quietly
    except SdkError as error:
        return AndroidResult(project, None, None, f"AAR not built: {error}", None)
    maven = out_dir / "maven"
    aar_io.write_maven_repository(maven, settings, aar, library_source_root(project))
    return AndroidResult(project, aar, maven, None, api.kind)
