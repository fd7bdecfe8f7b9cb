"""Apps that consume the generated library: two libraries in one app, older Kotlin, Java.

No Gradle or AGP runs here, so these tests compile consumers with the real compilers against the
jars the build produces, and check the rule AGP applies when it merges the jars' resources.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from mnv3_sdk.android.kotlin import compile_kotlin, module_name
from mnv3_sdk.android.project import AndroidSettings, render_project
from mnv3_sdk.android.stage import STANDIN_MODULE, compile_library, executorch_api, standin_jar, toolchain_cache
from mnv3_sdk.android.toolchain import (
    ANDROID_ALL,
    CONSUMER_KOTLIN_STDLIB,
    KOTLIN_COMPILER,
    KOTLIN_STDLIB,
    OLDEST_CONSUMER_KOTLIN_COMPILER,
    android_jar,
    fetch,
    find_javac,
    maven_repository,
)
from mnv3_sdk.versions import KOTLIN_VERSION, OLDEST_KOTLIN_CONSUMER

# Same class name, different packages and artifacts: the worst case for two libraries in one app.
BIRDS = AndroidSettings("com.acme.birds", "MobileNetV3Classifier", "birds-small-int8.pte", "mobilenet_v3_small", "int8")
DOGS = AndroidSettings("org.example.dogs", "MobileNetV3Classifier", "dogs-large-fp16.pte", "mobilenet_v3_large", "fp16")

# AGP's default packaging excludes (AOSP platform/tools/base, build-system/gradle-core/src/main/java/
# com/android/build/gradle/internal/packaging/: `val defaultExcludes`, "keep this in sync with
# com.android.build.gradle.internal.dsl.PackagingOptions"); `defaultMerges` concatenates
# /META-INF/services/** and jacoco-agent.properties. Any other path present in two jars of an app
# fails mergeJavaResource with "2 files found with path ..." unless the app adds a pickFirst.
AGP_DEFAULT_EXCLUDES = (
    "/META-INF/LICENSE", "/META-INF/LICENSE.txt", "/META-INF/MANIFEST.MF", "/META-INF/NOTICE",
    "/META-INF/NOTICE.txt", "/META-INF/*.DSA", "/META-INF/*.EC", "/META-INF/*.SF", "/META-INF/*.RSA",
    "/META-INF/maven/**", "/META-INF/proguard/*", "/META-INF/com.android.tools/**", "/NOTICE",
    "/NOTICE.txt", "/LICENSE.txt", "/LICENSE", "**/.svn/**", "**/CVS/**", "**/SCCS/**", "**/.*/**",
    "**/.*", "**/*~", "**/thumbs.db", "**/picasa.ini", "**/about.html", "**/package.html",
    "**/overview.html", "**/protobuf.meta", "**/_*", "**/_*/**", "**/*.kotlin_metadata",
)
AGP_DEFAULT_MERGES = ("/META-INF/services/**", "jacoco-agent.properties")


def _glob(pattern: str) -> re.Pattern[str]:
    """AGP's path globs: a leading / anchors at the jar root, ** spans folders, * stays in one."""
    body = pattern.lstrip("/")
    regex = ""
    index = 0
    while index < len(body):
        if body.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif body.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif body[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        else:
            regex, index = regex + re.escape(body[index]), index + 1
    return re.compile(regex + r"\Z")


_PACKAGED_ELSEWHERE = [_glob(pattern) for pattern in AGP_DEFAULT_EXCLUDES + AGP_DEFAULT_MERGES]


def java_resources(jar: Path) -> set[str]:
    """The entries of ``jar`` that AGP merges into the APK as Java resources, as it would keep them."""
    with zipfile.ZipFile(jar) as archive:
        names = [name for name in archive.namelist() if not name.endswith(("/", ".class"))]
    return {name for name in names if not any(pattern.match(name) for pattern in _PACKAGED_ELSEWHERE)}


def jar_entries(jar: Path) -> list[str]:
    with zipfile.ZipFile(jar) as archive:
        return archive.namelist()


def classes_of_aar(aar: Path, target: Path) -> Path:
    with zipfile.ZipFile(aar) as archive:
        target.write_bytes(archive.read("classes.jar"))
    return target


@pytest.fixture(scope="module")
def api():
    return executorch_api(toolchain_cache())


@pytest.fixture(scope="module")
def two_libraries(tmp_path_factory, api) -> dict[str, Path]:
    """BIRDS and DOGS rendered and compiled into classes.jar by the function the build uses."""
    folder = tmp_path_factory.mktemp("two-libraries")
    jars = {}
    for settings in (BIRDS, DOGS):
        project = folder / settings.package
        render_project(settings, project)
        jars[settings.package] = compile_library(project, settings, api, folder / f"{settings.package}.jar")
    return jars


def test_two_libraries_in_one_app_have_no_colliding_java_resources(two_libraries):
    """Without -module-name both jars held META-INF/main.kotlin_module: AGP's mergeJavaResource
    (MergeJavaResourcesDelegate) fails on such a pair, "2 files found with path
    'META-INF/main.kotlin_module'". AGP's default excludes do not cover *.kotlin_module."""
    birds, dogs = two_libraries[BIRDS.package], two_libraries[DOGS.package]
    for settings, jar in ((BIRDS, birds), (DOGS, dogs)):
        modules = [name for name in jar_entries(jar) if name.endswith(".kotlin_module")]
        assert modules == [f"META-INF/{module_name(*settings.maven_coordinates[:2])}.kotlin_module"]
    assert java_resources(birds) and java_resources(dogs), "the .kotlin_module entries must survive packaging"
    assert not java_resources(birds) & java_resources(dogs)
    # The compile-time stand-in for ExecuTorch has a module name of its own as well.
    standin_modules = [name for name in jar_entries(standin_jar(toolchain_cache())) if name.endswith(".kotlin_module")]
    assert standin_modules == [f"META-INF/{STANDIN_MODULE}.kotlin_module"]
    assert module_name(*BIRDS.maven_coordinates[:2]) != module_name(*DOGS.maven_coordinates[:2])


def test_the_glob_matcher_follows_agps_patterns():
    assert _glob("/META-INF/*.SF").match("META-INF/CERT.SF") and not _glob("/META-INF/*.SF").match("a/META-INF/X.SF")
    assert _glob("**/*.kotlin_metadata").match("kotlin/kotlin.kotlin_metadata")
    assert _glob("**/*.kotlin_metadata").match("x.kotlin_metadata")
    assert not any(pattern.match("META-INF/main.kotlin_module") for pattern in _PACKAGED_ELSEWHERE)


TWO_LIBRARY_CONSUMER = """\
package com.example.app

import android.content.Context
import android.graphics.Bitmap
import com.acme.birds.MobileNetV3Classifier as BirdClassifier
import org.example.dogs.MobileNetV3Classifier as DogClassifier

/** One app, two generated libraries with the same class name in different packages. */
fun describe(context: Context, photo: Bitmap): String {
    val birds = BirdClassifier.create(context, BirdClassifier.Options(maxResults = 3))
    val dogs = DogClassifier.create(context)
    try {
        val bird = birds.classify(photo).categories.firstOrNull()
        val dog = dogs.classify(photo).categories.firstOrNull()
        return "bird=${bird?.label} ${bird?.score} dog=${dog?.label} ${dog?.score}"
    } finally {
        birds.close()
        dogs.close()
    }
}
"""

COMPILERS = {
    f"kotlinc-{KOTLIN_VERSION}": (KOTLIN_COMPILER, KOTLIN_STDLIB),
    f"kotlinc-{OLDEST_KOTLIN_CONSUMER}": (OLDEST_CONSUMER_KOTLIN_COMPILER, CONSUMER_KOTLIN_STDLIB),
}


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
def test_one_kotlin_file_uses_both_libraries(compiler, two_libraries, api, tmp_path):
    """The older compiler is the point of issue #8 item 6: Kotlin 2.0.21 rejects classes built with
    Kotlin 2.2 metadata ("The binary version of its metadata is 2.2.0, expected version is 2.0.0")."""
    jars, stdlib = COMPILERS[compiler]
    source = tmp_path / "TwoLibraries.kt"
    source.write_text(TWO_LIBRARY_CONSUMER)
    out = tmp_path / "classes"
    compile_kotlin([source], [android_jar(), api.classes, *two_libraries.values()], out,
                   module="com.example.app", compiler=jars, stdlib=stdlib)
    assert (out / "com" / "example" / "app" / "TwoLibrariesKt.class").is_file()


def java_consumer(package: str, class_name: str) -> str:
    return f"""\
package com.example.app;

import android.content.Context;
import android.graphics.Bitmap;
import {package}.Category;
import {package}.ClassificationResult;
import {package}.{class_name};
import java.util.List;

/** A Java app: static factories, the Options defaults and the data classes' getters. */
public final class JavaConsumer {{
    private JavaConsumer() {{}}

    public static String best(Context context, Bitmap photo) throws Exception {{
        {class_name} classifier = {class_name}.create(context, new {class_name}.Options());
        try {{
            ClassificationResult result = classifier.classify(photo);
            List<Category> categories = result.getCategories();
            if (categories.isEmpty()) {{
                return "nothing in " + result.getInferenceTimeMs() + " ms";
            }}
            Category top = categories.get(0);
            return top.getLabel() + " " + top.getScore() + " (#" + top.getIndex() + ")";
        }} finally {{
            classifier.close();
        }}
    }}
}}
"""


KOTLIN_CONSUMER = """\
package com.example.app

import android.content.Context
import android.graphics.Bitmap
import com.example.mnv3.MobileNetV3Classifier

fun best(context: Context, photo: Bitmap): String =
    MobileNetV3Classifier.create(context).use { classifier ->
        classifier.classify(photo).categories.joinToString { "${it.label}: ${it.score}" }
    }
"""


def android_stubs(folder: Path) -> list[Path]:
    """Java sources standing in for the two framework classes the Java consumer names.

    Robolectric's android-all (our android.jar without an Android SDK) holds Java 21 class files
    (version 65), which JDK 17's javac refuses ("class file has wrong version 65.0, should be
    61.0"); an SDK's android.jar is used when $ANDROID_HOME has one. The Kotlin consumer above
    compiles against the real framework classes either way.
    """
    stubs = {"android/content/Context.java": "package android.content;\npublic abstract class Context {}\n",
             "android/graphics/Bitmap.java": "package android.graphics;\npublic final class Bitmap {}\n"}
    for name, text in stubs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return [folder / name for name in stubs]


def test_the_aars_classes_build_with_the_oldest_kotlin_and_with_javac(random_build, api, tmp_path):
    """The AAR's own classes.jar, as an app gets it: a Kotlin 2.0 consumer and a Java consumer."""
    jar = classes_of_aar(random_build / "mnv3-small-fp32.aar", tmp_path / "classes.jar")
    classpath = [android_jar(), api.classes, jar]

    kotlin_source = tmp_path / "kotlin" / "Consumer.kt"
    kotlin_source.parent.mkdir()
    kotlin_source.write_text(KOTLIN_CONSUMER)
    compile_kotlin([kotlin_source], classpath, tmp_path / "kotlin-out", module="com.example.app",
                   compiler=OLDEST_CONSUMER_KOTLIN_COMPILER, stdlib=CONSUMER_KOTLIN_STDLIB)
    assert (tmp_path / "kotlin-out" / "com" / "example" / "app" / "ConsumerKt.class").is_file()

    javac = find_javac()
    assert javac is not None, "a JDK with javac is needed (the Kotlin compilation uses the same JDK)"
    java_source = tmp_path / "java" / "com" / "example" / "app" / "JavaConsumer.java"
    java_source.parent.mkdir(parents=True)
    java_source.write_text(java_consumer("com.example.mnv3", "MobileNetV3Classifier"))
    if android_jar() == ANDROID_ALL.path(maven_repository()):
        android_classpath, android_sources = [], android_stubs(tmp_path / "android-stubs")
    else:
        android_classpath, android_sources = [android_jar()], []
    result = subprocess.run(
        [str(javac), "--release", "17", "-Werror", "-Xlint:all", "-d", str(tmp_path / "java-out"),
         "-cp", os.pathsep.join(map(str, [*android_classpath, api.classes, jar, fetch(CONSUMER_KOTLIN_STDLIB)])),
         *map(str, [*android_sources, java_source])],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "java-out" / "com" / "example" / "app" / "JavaConsumer.class").is_file()
