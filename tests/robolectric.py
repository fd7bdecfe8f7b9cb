"""Running the generated library's own compiled classes on Robolectric (real Android framework
classes on the JVM), outside Gradle. docs/testing.md, "Robolectric without Gradle", says how.

- Robolectric and JUnit come from Maven Central through `mvn dependency:build-classpath` on a
  generated POM (into the local Maven repository, once); the framework classes from
  `org.robolectric:android-all-instrumented` at the version Robolectric's DefaultSdkProvider names
  for ``ROBOLECTRIC_SDK`` (versions.py).
- `robolectric.offline=true` and `robolectric.dependency.dir` make Robolectric take that jar from
  the local repository's folder instead of downloading it itself.
- AGP hands Robolectric the merged manifest and assets through `com/android/tools/test_config.properties`
  on the test classpath (keys `android_merged_manifest`, `android_merged_assets`); we write that file.
- Binary resources read assets from a resource APK only (aapt2's, unreachable): the assets are also
  zipped, and tests that read them add the zip to an AssetManager (tests/kotlin/robolectric/DemoApp.kt).
- The tests are JUnit 4 classes with `@RunWith(RobolectricTestRunner::class)`, run by
  tests/kotlin/robolectric/RunTests.kt (JUnitCore), which prints PASS/FAIL per test.
- ExecuTorch's native code runs on Android only: the library runs against the test double in
  tests/kotlin/executorch_test_double/ (its README says what upstream behaviour it keeps).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

from mnv3_sdk.android.kotlin import compile_kotlin
from mnv3_sdk.android.project import AndroidSettings, render_project
from mnv3_sdk.android.stage import compile_classpath, compile_library, demo_sources, executorch_api, toolchain_cache
from mnv3_sdk.android.toolchain import KOTLIN_STDLIB, Artifact, fetch, find_java, maven_repository
from mnv3_sdk.cache import write_entry
from mnv3_sdk.versions import (
    ANDROID_ALL_INSTRUMENTED_VERSION,
    JUNIT_VERSION,
    ROBOLECTRIC_SDK,
    ROBOLECTRIC_VERSION,
)

KOTLIN_TESTS = Path(__file__).parent / "kotlin"
TEST_DOUBLE = KOTLIN_TESTS / "executorch_test_double"
ANDROID_ALL_INSTRUMENTED = Artifact("org.robolectric", "android-all-instrumented", ANDROID_ALL_INSTRUMENTED_VERSION)
RUNNER = "com.example.mnv3.robolectric.RunTestsKt"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>mnv3-sdk.tests</groupId><artifactId>robolectric-classpath</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.robolectric</groupId><artifactId>robolectric</artifactId><version>{ROBOLECTRIC_VERSION}</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>{JUNIT_VERSION}</version></dependency>
  </dependencies>
</project>
"""


def robolectric_classpath(folder: Path) -> list[Path]:
    """Robolectric, JUnit and their dependencies (jars and the two androidx.test AARs' classes)."""
    cached = toolchain_cache() / f"robolectric-{ROBOLECTRIC_VERSION}-junit-{JUNIT_VERSION}.classpath"
    if not cached.is_file() or not all(Path(p).is_file() for p in cached.read_text().split(os.pathsep)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pom.xml").write_text(_POM)
        listing = folder / "classpath.txt"
        result = subprocess.run(
            ["mvn", "-q", "-B", f"-Dmaven.repo.local={maven_repository()}", "dependency:build-classpath",
             f"-Dmdep.outputFile={listing}"], cwd=folder, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        write_entry(cached, listing.read_bytes())
    jars = []
    for entry in map(Path, cached.read_text().split(os.pathsep)):
        if entry.suffix == ".aar":  # androidx.test's monitor and idling resource: their classes.jar
            classes = toolchain_cache() / f"{entry.stem}-classes.jar"
            if not classes.is_file():
                with zipfile.ZipFile(entry) as archive:
                    write_entry(classes, archive.read("classes.jar"))
            entry = classes
        jars.append(entry)
    return jars


def assets_apk(assets: Path, apk: Path) -> Path:
    """A zip of ``assets`` under ``assets/``, every entry stored, not deflated (AssetManager.openFd
    needs that, and the library's build stores its .pte so)."""
    with zipfile.ZipFile(apk, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(p for p in assets.rglob("*") if p.is_file()):
            archive.write(path, "assets/" + path.relative_to(assets).as_posix())
    return apk


class Robolectric:
    """The library of ``settings`` compiled as the build compiles it, the ExecuTorch test double,
    and the Robolectric tests in ``tests`` with the demo app's activities (every source set), compiled once."""

    def __init__(self, folder: Path, settings: AndroidSettings, tests: list[Path], assets: Path,
                 manifest: Path | None = None) -> None:
        project = folder / "project"
        render_project(settings, project)
        api = executorch_api(toolchain_cache())
        self.library = compile_library(project, settings, api, folder / "classes.jar")
        self.double = folder / "executorch-test-double"
        compile_kotlin(sorted(TEST_DOUBLE.rglob("*.kt")), [], self.double, module="executorch-test-double")
        self.jars = robolectric_classpath(folder / "maven")
        self.classes = folder / "test-classes"
        android = [*compile_classpath(api)[:1], *compile_classpath(api)[2:]]  # without the ExecuTorch API
        compile_kotlin([*tests, *demo_sources(project)], [*android, self.library, self.double, *self.jars],
                       self.classes, warnings_as_errors=False, module="robolectric-tests")
        # Robolectric's binary resources read assets only from a resource APK, which aapt2 (Google's
        # Maven) links, not from android_merged_assets below: tests that need the app's assets add
        # this zip of them to an AssetManager (DemoApp.installAssets), named by -Dmnv3.test.assets.
        self.assets_apk = assets_apk(assets, folder / "assets.zip")
        # Robolectric reads these (as AGP writes them for unit tests with includeAndroidResources).
        config = self.classes / "com" / "android" / "tools" / "test_config.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"android_merged_assets={assets}"]
        if manifest is not None:
            lines.append(f"android_merged_manifest={manifest}")
        config.write_text("\n".join(lines) + "\n")
        # Conscrypt (Robolectric's TLS provider) reads Build.VERSION outside the sandbox and fails
        # without Gradle's android.jar; nothing here needs TLS.
        (self.classes / "robolectric.properties").write_text(f"sdk={ROBOLECTRIC_SDK}\nconscryptMode=OFF\n")
        self.framework = fetch(ANDROID_ALL_INSTRUMENTED)

    def run(self, *classes: str, properties: dict[str, str] | None = None) -> dict[str, str]:
        """Runs the JUnit classes in one JVM; returns {"Class.method": "PASS" or the failure}."""
        # The framework jar is on the plain classpath too, as android.jar is in a Gradle unit test:
        # JUnit reflects on the test classes before Robolectric's sandbox loads them again.
        classpath = os.pathsep.join(map(str, [self.classes, self.library, self.double, *self.jars,
                                              fetch(KOTLIN_STDLIB), self.framework]))
        # Robolectric's AssetManager.openFd sets FileDescriptor.fd by reflection, which Java 17 allows
        # only when java.io is opened (Robolectric's docs give Gradle's unit tests the same flag).
        command = [str(find_java()), "-Xss8m", "--add-opens=java.base/java.io=ALL-UNNAMED", "-Drobolectric.offline=true",
                   f"-Drobolectric.dependency.dir={self.framework.parent}",
                   "-Drobolectric.logging.enabled=false", f"-Dmnv3.test.assets={self.assets_apk}",
                   # Activities get a context of their own, tied to a display, as on Android (else
                   # Activity.getDisplay, which CameraActivity reads, throws UnsupportedOperationException).
                   "-Drobolectric.createActivityContexts=true",
                   *(f"-D{key}={value}" for key, value in (properties or {}).items()),
                   "-cp", classpath, RUNNER, *classes]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        outcome = {}
        for line in result.stdout.splitlines():
            verdict, _, rest = line.partition(" ")
            if verdict in ("PASS", "FAIL"):
                name, _, message = rest.partition(": ")
                outcome[name] = "PASS" if verdict == "PASS" else (message or "failed")
        assert result.returncode == 0 and outcome, result.stdout[-3000:] + result.stderr[-3000:]
        return outcome
