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
from conftest import made_once
from kotlin_jvm import ORG_JSON

from mnv3_sdk.android.aar import write_aar
from mnv3_sdk.android.kotlin import compile_kotlin, module_name
from mnv3_sdk.android.project import AndroidSettings, render_project
from mnv3_sdk.android.stage import (
    ANDROIDX_ANNOTATION_STANDIN,
    EXECUTORCH_STANDIN,
    compile_classpath,
    compile_library,
    executorch_api,
    standin_jar,
    toolchain_cache,
)
from mnv3_sdk.android.toolchain import (
    ANDROID_ALL,
    CONSUMER_KOTLIN_STDLIB,
    KOTLIN_COMPILER,
    KOTLIN_STDLIB,
    OLDEST_CONSUMER_KOTLIN_COMPILER,
    android_jar,
    fetch,
    find_java,
    find_javac,
    maven_repository,
)
from mnv3_sdk.versions import KOTLIN_VERSION, OLDEST_KOTLIN_CONSUMER

# Same class name, different packages and artifacts: the worst case for two libraries in one app.
# Every test here compiles libraries or consumers with kotlinc or javac: the slow lane.
pytestmark = pytest.mark.slow

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

    def make(folder: Path) -> dict[str, Path]:
        jars = {}
        for settings in (BIRDS, DOGS):
            project = folder / settings.package
            render_project(settings, project)
            jars[settings.package] = compile_library(project, settings, api, folder / f"{settings.package}.jar")
        return jars

    return made_once(tmp_path_factory, "two-libraries", make)


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
    for standin in (EXECUTORCH_STANDIN, ANDROIDX_ANNOTATION_STANDIN):
        jar = standin_jar(toolchain_cache(), standin)
        assert [name for name in jar_entries(jar) if name.endswith(".kotlin_module")] == [
            f"META-INF/{standin.module}.kotlin_module"]
    assert module_name(*BIRDS.maven_coordinates[:2]) != module_name(*DOGS.maven_coordinates[:2])


def test_the_glob_matcher_follows_agps_patterns():
    assert _glob("/META-INF/*.SF").match("META-INF/CERT.SF") and not _glob("/META-INF/*.SF").match("a/META-INF/X.SF")
    assert _glob("**/*.kotlin_metadata").match("kotlin/kotlin.kotlin_metadata")
    assert _glob("**/*.kotlin_metadata").match("x.kotlin_metadata")
    assert not any(pattern.match("META-INF/main.kotlin_module") for pattern in _PACKAGED_ELSEWHERE)


def agp_merged_assets(app: dict[str, bytes], libraries: list[dict[str, bytes]]) -> dict[str, bytes]:
    """The assets AGP's mergeAssets task writes for an app with ``libraries`` (each {path: bytes}, in
    the order of the app's dependencies): the rule of AOSP platform/tools/base (read from the mirror
    Flank/mirror-goog-studio-main). MergeSourceSetFolders.computeAssetSetList inserts each library's
    asset set at index 0 ("the order of the artifact is descending order, so we need to reverse it";
    "the libraries are less important than the folder based asset sets", which follow them), so the
    list goes from the lowest priority to the highest; DataMerger.mergeData writes, for each path,
    the item found "in the data sets, starting from the end of the list", and AssetMerger's
    requiresMerge is false, so the items of the other sets are dropped without a warning or an error.
    The first library in dependency order wins a path shared by libraries, and the app beats both."""
    sets: list[dict[str, bytes]] = []
    for library in libraries:
        sets.insert(0, library)
    sets.append(app)
    paths = {path for asset_set in sets for path in asset_set}
    return {path: next(asset_set[path] for asset_set in reversed(sets) if path in asset_set) for path in paths}


def aar_assets(aar: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(aar) as archive:
        return {name.removeprefix("assets/"): archive.read(name) for name in archive.namelist()
                if name.startswith("assets/") and not name.endswith("/")}


def default_model_asset(jar: Path, class_name: str) -> str:
    """DEFAULT_MODEL_ASSET of the compiled class, the asset create() opens, as javap reads it."""
    javap = Path(find_javac()).with_name("javap")
    result = subprocess.run([str(javap), "-constants", "-cp", str(jar), class_name], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return re.search(r'String DEFAULT_MODEL_ASSET = "([^"]*)";', result.stdout).group(1)


def test_agps_asset_merge_keeps_one_file_per_path():
    merged = agp_merged_assets({"app.txt": b"app", "x": b"app x"}, [{"x": b"first", "y": b"first y"}, {"y": b"second"}])
    assert merged == {"app.txt": b"app", "x": b"app x", "y": b"first y"}


def test_two_libraries_with_the_default_model_name_each_load_their_own_model(api, tmp_path):
    """Issue 23 item 8: two libraries built for different packages with the same model name (both
    the default mnv3-small-int8) shipped assets/mnv3-small-int8.pte, and AGP's asset merge kept one
    of the two without a word (agp_merged_assets), so both libraries loaded the same model. Each
    library now keeps its model under its package, and its compiled class reads that path: merged
    in either dependency order, each path holds its own library's model."""
    libraries = {}
    for package in ("com.acme.birds", "org.example.dogs"):
        settings = AndroidSettings(package, "MobileNetV3Classifier", "mnv3-small-int8.pte", "mobilenet_v3_small", "int8")
        project = tmp_path / package
        render_project(settings, project)
        jar = compile_library(project, settings, api, tmp_path / f"{package}.jar")
        aar = tmp_path / f"{package}.aar"
        model = f"the model of {package}".encode()
        write_aar(aar, settings, jar, b"", model)
        libraries[package] = (default_model_asset(jar, f"{package}.MobileNetV3Classifier"), model, aar_assets(aar))
    for order in (["com.acme.birds", "org.example.dogs"], ["org.example.dogs", "com.acme.birds"]):
        merged = agp_merged_assets({}, [libraries[package][2] for package in order])
        for package, (path, model, _) in libraries.items():
            assert merged[path] == model, (order, package)
    assert libraries["com.acme.birds"][0] == "mnv3-sdk/com.acme.birds/mnv3-small-int8.pte"


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
    compile_kotlin([source], [*compile_classpath(api), *two_libraries.values()], out,
                   module="com.example.app", compiler=jars, stdlib=stdlib)
    assert (out / "com" / "example" / "app" / "TwoLibrariesKt.class").is_file()


def java_consumer(package: str, class_name: str) -> str:
    return f"""\
package com.example.app;

import android.content.Context;
import android.graphics.Bitmap;
import {package}.Category;
import {package}.ClassificationResult;
import {package}.InputType;
import {package}.{class_name};
import java.util.List;

/** A Java app: static factories, the Options builder, the data classes' getters, the enums. */
public final class JavaConsumer {{
    private JavaConsumer() {{}}

    public static String best(Context context, Bitmap photo) throws Exception {{
        {class_name}.Options options = {class_name}.Options.builder().setMaxResults(3).setNumThreads(2).build();
        {class_name} classifier = {class_name}.create(context, options);
        try {{
            ClassificationResult result = classifier.classify(photo);
            List<Category> categories = result.getCategories();
            boolean half = classifier.getMetadata().getInputType() == InputType.FLOAT16;
            if (categories.isEmpty()) {{
                return "nothing in " + result.getInferenceTimeMs() + " ms" + (half ? " (fp16)" : "");
            }}
            Category top = categories.get(0);
            return top.getLabel() + " " + top.getScore() + " (#" + top.getIndex() + ", "
                    + classifier.getMetadata().getQuantization().getId() + ")";
        }} finally {{
            classifier.close();
        }}
    }}

    public static {class_name} withDefaults(Context context) {{
        return {class_name}.create(context, new {class_name}.Options());
    }}
}}
"""


OPTIONS_FROM_JAVA = """\
package com.example.app;

import com.example.mnv3.MobileNetV3Classifier.Options;
import com.example.mnv3.ModelMetadata;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

/** Runs on a plain JVM: Options and ModelMetadata touch no android.* class. */
public final class OptionsFromJava {
    public static void main(String[] args) throws Exception {
        System.out.println(Options.builder().build().equals(new Options()));
        Options custom = Options.builder().setMaxResults(3).setScoreThreshold(0.25f)
                .setCategoryDenylist(List.of("cat", "cat")).setNumThreads(2).setModelAssetName("x.pte").build();
        System.out.println(custom);
        System.out.println(custom.toBuilder().setMaxResults(1).setCategoryDenylist(List.of()).build());
        try {
            Options.builder().setCategoryAllowlist(List.of("a")).setCategoryDenylist(List.of("b")).build();
        } catch (IllegalArgumentException refused) {
            System.out.println("refused: " + refused.getMessage());
        }
        ModelMetadata metadata = ModelMetadata.parse(Files.readAllBytes(Paths.get(args[0])));
        System.out.println(metadata.getQuantization() + " " + metadata.getQuantization().getId() + " "
                + metadata.getInputType() + " " + metadata.getInputType().getId());
    }
}
"""


def test_java_callers_get_a_builder_and_enums(random_build, api, tmp_path):
    """What a Java app calls, run for real on the JVM against the AAR's classes: the builder's
    defaults equal Kotlin's, its values reach the data class, validation throws, enums read back."""
    jar = classes_of_aar(random_build / "mnv3-small-fp32.aar", tmp_path / "classes.jar")
    source = tmp_path / "java" / "com" / "example" / "app" / "OptionsFromJava.java"
    source.parent.mkdir(parents=True)
    source.write_text(OPTIONS_FROM_JAVA)
    stdlib = fetch(CONSUMER_KOTLIN_STDLIB)
    compiled = subprocess.run(
        [str(find_javac()), "--release", "17", "-Werror", "-Xlint:all", "-d", str(tmp_path / "out"),
         "-cp", os.pathsep.join(map(str, [jar, stdlib])), str(source)],
        capture_output=True, text=True,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    run = subprocess.run(
        [str(find_java()), "-cp", os.pathsep.join(map(str, [tmp_path / "out", jar, stdlib, fetch(ORG_JSON)])),
         "com.example.app.OptionsFromJava", str(random_build / "metadata.json")],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "true",
        "Options(maxResults=3, scoreThreshold=0.25, categoryAllowlist=[], categoryDenylist=[cat], numThreads=2, "
        "modelAssetName=x.pte)",
        "Options(maxResults=1, scoreThreshold=0.25, categoryAllowlist=[], categoryDenylist=[], numThreads=2, "
        "modelAssetName=x.pte)",
        "refused: categoryAllowlist and categoryDenylist are mutually exclusive",
        "FP32 fp32 FLOAT32 float32",
    ]


def test_blocking_calls_are_marked_worker_thread_in_the_class_files(random_build, tmp_path):
    """The annotation lint reads is in the AAR's classes (class-file retention), on every public
    overload that loads or runs the model, @JvmOverloads' generated ones included."""
    jar = classes_of_aar(random_build / "mnv3-small-fp32.aar", tmp_path / "classes.jar")
    javap = find_javac().parent / "javap"
    listing = subprocess.run([str(javap), "-v", "-p", "-cp", str(jar), "com.example.mnv3.MobileNetV3Classifier"],
                             capture_output=True, text=True, check=True).stdout
    methods = re.split(r"\n(?=  \S)", listing)
    annotated = {method.splitlines()[0].strip() for method in methods if "androidx.annotation.WorkerThread" in method}
    public = {method.splitlines()[0].strip() for method in methods if method.strip().startswith("public ")}
    blocking = {signature for signature in public if re.search(r" (classify|create\w*)\(", signature)}
    assert blocking == annotated, blocking ^ annotated
    prefix = "public static final com.example.mnv3.MobileNetV3Classifier "
    options = "com.example.mnv3.ImageProcessingOptions"
    assert annotated == {
        "public final com.example.mnv3.ClassificationResult classify(android.graphics.Bitmap);",
        f"public final com.example.mnv3.ClassificationResult classify(android.graphics.Bitmap, {options});",
        "public final com.example.mnv3.ClassificationResult classify(int[], int, int);",
        f"public final com.example.mnv3.ClassificationResult classify(int[], int, int, {options});",
        "public final com.example.mnv3.ClassificationResult classify(android.media.Image, int);",
        f"public final com.example.mnv3.ClassificationResult classify(android.media.Image, {options});",
        "public final com.example.mnv3.ClassificationResult classify(com.example.mnv3.YuvFrame);",
        "public final com.example.mnv3.ClassificationResult classify(com.example.mnv3.CameraFrame);",
        prefix + "create(android.content.Context, com.example.mnv3.MobileNetV3Classifier$Options);",
        prefix + "create(android.content.Context);",
        prefix + "createFromFile(java.io.File, com.example.mnv3.MobileNetV3Classifier$Options);",
        prefix + "createFromFile(java.io.File);",
    }


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
    classpath = [*compile_classpath(api), jar]

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
        android_sources = android_stubs(tmp_path / "android-stubs")
        java_classpath = [*(path for path in classpath if path != android_jar()), fetch(CONSUMER_KOTLIN_STDLIB)]
    else:
        android_sources = []
        java_classpath = [*classpath, fetch(CONSUMER_KOTLIN_STDLIB)]
    result = subprocess.run(
        [str(javac), "--release", "17", "-Werror", "-Xlint:all", "-d", str(tmp_path / "java-out"),
         "-cp", os.pathsep.join(map(str, java_classpath)),
         *map(str, [*android_sources, java_source])],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "java-out" / "com" / "example" / "app" / "JavaConsumer.class").is_file()
