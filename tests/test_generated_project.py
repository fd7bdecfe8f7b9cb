"""Rules the real tools (Gradle, AGP, KGP, Android) apply to the generated project, checked where
neither Gradle nor a phone is available. Each test names the upstream file the rule comes from."""

import re
from pathlib import Path

import pytest
from kotlin_jvm import DEFAULT_SETTINGS

from mnv3_sdk.android.project import render_project
from mnv3_sdk.versions import AGP_VERSION, GRADLE_VERSION, KOTLIN_VERSION

PACKAGE_PATH = DEFAULT_SETTINGS.package.replace(".", "/")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("generated") / "android"
    render_project(DEFAULT_SETTINGS, folder)
    return folder


def properties(path: Path) -> dict[str, str]:
    entries = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return dict(line.split("=", 1) for line in entries if line and not line.startswith(("#", "!")))


def source(project: Path, module: str, name: str) -> str:
    folder = "classifier" if module == "library" else "demo"
    suffix = "" if module == "library" else "/demo"
    return (project / folder / "src/main/kotlin" / f"{PACKAGE_PATH}{suffix}" / name).read_text(encoding="utf-8")


def blocks(text: str, opening: str) -> list[str]:
    """The brace-balanced bodies that follow each `opening` (which ends with "{")."""
    found = []
    for match in re.finditer(re.escape(opening), text):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        found.append(text[match.end():end - 1])
    return found


def test_androidx_is_enabled_because_the_executorch_runtime_depends_on_it(project):
    """ExecuTorch's AAR declares `implementation libs.core.ktx` (androidx.core:core-ktx 1.13.1:
    extension/android/executorch_android/build.gradle and gradle/libs.versions.toml, v1.4.1 and
    main) and its own build sets android.useAndroidX=true (extension/android/gradle.properties).
    AGP's checkDebugAarMetadata fails a project that depends on AndroidX without it."""
    assert properties(project / "gradle.properties")["android.useAndroidX"] == "true"


def test_kotlin_targets_the_java_version_without_a_toolchain_to_provision(project):
    """`jvmToolchain(17)` needs JDK 17 installed or a toolchain resolver plugin (upstream's library
    build applies org.gradle.toolchains.foojay-resolver-convention: extension/android/settings.gradle).
    The generated build instead sets the JVM target, as upstream's benchmark app does
    (extension/benchmark/android/benchmark/app/build.gradle.kts: jvmTarget = "17"); KGP fails a
    build whose Kotlin target differs from Java's targetCompatibility, so the two must agree."""
    settings = (project / "settings.gradle.kts").read_text(encoding="utf-8")
    for module in ("classifier", "demo"):
        gradle = (project / module / "build.gradle.kts").read_text(encoding="utf-8")
        if "jvmToolchain" in gradle:
            assert "foojay-resolver" in settings, module
        java = set(re.findall(r"(?:source|target)Compatibility = JavaVersion\.VERSION_(\d+)", gradle))
        kotlin = re.findall(r"jvmTarget\.set\(JvmTarget\.JVM_(\d+)\)", gradle)
        assert len(java) == 1 and kotlin == list(java), module
        assert "import org.jetbrains.kotlin.gradle.dsl.JvmTarget" in gradle, module


def test_generated_readme_records_the_versions_the_build_files_use(project):
    """The README states the AGP, Gradle and Kotlin versions the files were written for, and they are
    the ones the root build file and the wrapper actually name."""
    readme = (project / "classifier" / "README.md").read_text(encoding="utf-8")
    build = (project / "build.gradle.kts").read_text(encoding="utf-8")
    wrapper = (project / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text(encoding="utf-8")
    written_for = " ".join(readme[readme.index("## Build this project"):].split())
    assert f"Android Gradle Plugin {AGP_VERSION}, Gradle {GRADLE_VERSION} and Kotlin {KOTLIN_VERSION}" in written_for
    assert f'id("com.android.library") version "{AGP_VERSION}"' in build
    assert f'id("org.jetbrains.kotlin.android") version "{KOTLIN_VERSION}"' in build
    assert f"gradle-{GRADLE_VERSION}-bin.zip" in wrapper
    assert "android.useAndroidX=true" in readme and "IllegalStateException" in readme


def test_no_json_is_read_or_written_by_hand(project):
    """Android ships org.json; the library and demo use it instead of a hand-written parser and writer."""
    metadata = source(project, "library", "ModelMetadata.kt")
    assert "import org.json.JSONObject" in metadata and "JsonReader" not in metadata
    assert "import org.json.JSONObject" in source(project, "demo", "BenchmarkResult.kt")
    activity = source(project, "demo", "BenchmarkActivity.kt")
    assert '\\"' not in activity and "escape(" not in activity


def test_load_time_is_module_load_and_load_method_only(project):
    """ExecuTorch's benchmark app times `Module.load(model.path)` and `module.loadMethod("forward")`
    and nothing else as model_load_time (extension/benchmark/android/benchmark/app/src/main/java/org/
    pytorch/minibench/ModelRunner.kt); the library measures the same span and the benchmark reports it."""
    library = source(project, "library", f"{DEFAULT_SETTINGS.class_name}.kt")
    timed = library[library.index("val loadStarted = "):library.index("val loadTimeMs = ")]
    calls = re.findall(r"\b(?:module|Module)\.(\w+)\(", timed)
    assert calls == ["load", "loadMethod"], calls
    assert 'module.loadMethod("forward")' in timed
    activity = source(project, "demo", "BenchmarkActivity.kt")
    assert "loadMs = model.loadTimeMs" in activity and "SystemClock" not in activity


def test_benchmark_activity_reports_every_failure_in_its_result_file(project):
    """The host waits for files/mnv3_benchmark.json (sdk/mnv3_sdk/bench/device.py): every Throwable
    (UnsatisfiedLinkError, OutOfMemoryError too) is written as a result, with ExecuTorch's error code
    when an ExecutorchRuntimeException is in the cause chain, and through BenchmarkResult.write (the
    atomic write tested on the JVM in test_kotlin.py)."""
    activity = source(project, "demo", "BenchmarkActivity.kt")
    assert "catch (error: Throwable)" in activity
    assert "filterIsInstance<ExecutorchRuntimeException>()" in activity and "?.errorCode" in activity
    assert "BenchmarkResult.write(resultFile, result)" in activity
    assert "writeText" not in activity and "FileWriter" not in activity


def test_main_activity_confines_the_classifier_to_its_worker_and_shows_errors(project):
    """The classifier is assigned, used and closed only on the single worker thread, so the close
    queued by onDestroy runs after a load still in progress; loading uses the application context;
    load and classify failures are shown, not thrown."""
    activity = source(project, "demo", "MainActivity.kt")
    assert "Executors.newSingleThreadExecutor()" in activity
    assert re.search(r"val context = applicationContext\n", activity)
    assert f"{DEFAULT_SETTINGS.class_name}.create(context)" in activity and ".create(this" not in activity
    ui_blocks = blocks(activity, "runOnUiThread {")
    assert len(ui_blocks) == 2 and not any("classifier" in block for block in ui_blocks)
    assert all("isDestroyed" in block for block in ui_blocks)
    assert re.search(r"worker\.execute \{\s*try \{\s*val loaded = \w+\.create\(context\)\s*classifier = loaded", activity)
    destroy = activity[activity.index("override fun onDestroy()"):]
    assert re.search(r"worker\.execute \{\s*classifier\?\.close\(\)", destroy)
    assert destroy.index("worker.execute") < destroy.index("worker.shutdown()") < destroy.index("super.onDestroy()")
    assert activity.count("catch (error: Throwable)") == 2
    assert "Cannot load the model" in activity and "Cannot classify" in activity
