"""Rules the real tools (Gradle, AGP, KGP, Android) apply to the generated project, checked where
neither Gradle nor a phone is available. Each test names the upstream file the rule comes from."""

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from kotlin_jvm import DEFAULT_SETTINGS

from mnv3_sdk.android.project import render_project
from mnv3_sdk.android import compatibility
from mnv3_sdk.versions import AGP_VERSION, GRADLE_VERSION, KOTLIN_VERSION, MAX_JDK, MIN_JDK

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
    """The Kotlin file ``name`` of the library or the demo, from whichever source set has it."""
    folder = "classifier" if module == "library" else "demo"
    suffix = "" if module == "library" else "/demo"
    [path] = (project / folder / "src").glob(f"*/kotlin/{PACKAGE_PATH}{suffix}/{name}")
    return path.read_text(encoding="utf-8")


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


def test_wrapper_gradle_and_the_stated_jdk_range_agree_with_the_compatibility_tables(project):
    """Issue 23 item 13. AGP's table (developer.android.com/build/releases/gradle-plugin and its
    agp-8-13-0-release-notes page, "Compatibility": AGP 8.13 needs Gradle 8.13, default 8.13, and JDK
    17) and Gradle's (docs.gradle.org/current/userguide/compatibility.html, "Java Compatibility",
    "Support for running Gradle": Java 24 from 8.14, Java 25 from 9.1.0), copied with their addresses
    into mnv3_sdk/android/compatibility.py. The wrapper's Gradle must be one AGP accepts, the JDK
    range the README states must be exactly the JDKs that run it: Gradle 8.11.1 ran on Java 23 at
    most, while the README said "JDK 17 or newer", so the first ./gradlew on JDK 24 or 25 failed."""
    wrapper = properties(project / "gradle" / "wrapper" / "gradle-wrapper.properties")
    [gradle] = re.findall(r"gradle-([\d.]+)-bin\.zip$", wrapper["distributionUrl"])
    build = (project / "build.gradle.kts").read_text(encoding="utf-8")
    agps = set(re.findall(r'id\("com\.android\.(?:application|library)"\) version "([^"]+)"', build))
    assert (gradle, agps) == (GRADLE_VERSION, {AGP_VERSION})
    minimum_gradle, _, minimum_jdk = compatibility.agp_requirements(AGP_VERSION)
    assert compatibility.version_tuple(gradle) >= compatibility.version_tuple(minimum_gradle)
    # The table gives AGP 8.x no Gradle 9 (AGP 9.0 is the first whose minimum is 9.1.0).
    assert compatibility.version_tuple(gradle)[0] == compatibility.version_tuple(AGP_VERSION)[0] == 8
    jdks = compatibility.jdks_running(gradle, AGP_VERSION)
    assert jdks == list(range(MIN_JDK, MAX_JDK + 1)) and MIN_JDK == minimum_jdk
    assert MAX_JDK >= 24, "runs on a JDK released in 2025"
    readme = " ".join((project / "classifier" / "README.md").read_text(encoding="utf-8").split())
    assert f"Gradle {GRADLE_VERSION} runs on JDK {MIN_JDK} to {MAX_JDK}, not on JDK {MAX_JDK + 1} or newer" in readme
    building = readme[readme.index("## Build this project"):]
    assert "JDK 17 or newer" not in building and "JDK 17+" not in building
    # `gradle wrapper` alone writes the running Gradle's version (Gradle's Wrapper.setGradleVersion:
    # without --gradle-version the task resolves to GradleVersion.current()), so the step names it.
    assert f"gradle wrapper --gradle-version {GRADLE_VERSION} ./gradlew :demo:installDebug" in readme
    assert f"({minimum_gradle} or newer, which AGP {AGP_VERSION} needs" in readme


# --- the camera screen (CameraActivity) ----------------------------------------------------------
# What runs on Robolectric (the permission, the camera and its session opened and closed, frames
# closed, onPause's release, the rotation as the display turns) is in test_robolectric.py; what
# Robolectric cannot show (the order of release, the frames' planes, the view's size callbacks) is
# read here.

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def demo_manifest(project: Path) -> ET.Element:
    return ET.parse(project / "demo" / "src" / "main" / "AndroidManifest.xml").getroot()


def function_body(text: str, signature: str) -> str:
    """The brace-balanced body of the one function declared with ``signature`` (up to its "{")."""
    [body] = blocks(text, signature)
    return body


def test_demo_manifest_is_well_formed_xml(project):
    """XML 1.0 § 2.5: "the string '--' (double-hyphen) MUST NOT occur within comments", and AGP's
    manifest merger and aapt2 (expat) reject a manifest that is not well formed. An `am start`
    command line with its --ei options once sat in a comment here."""
    for path in project.rglob("AndroidManifest.xml"):
        ET.parse(path)
        assert all("--" not in comment for comment in re.findall(r"<!--(.*?)-->", path.read_text(), re.DOTALL))


def test_camera_is_an_optional_feature_and_its_permission_is_declared(project):
    """CAMERA is a dangerous permission (core/res/AndroidManifest.xml: protectionLevel "dangerous"),
    requested at run time but only grantable when the manifest declares it. Declaring it implies
    the camera features as *required*: aapt2's badging (tools/aapt2/dump/DumpManifest.cpp,
    addImpliedFeaturesForPermission) adds android.hardware.camera, and the <uses-feature> guide's
    table "Permissions that imply feature requirements" adds android.hardware.camera.autofocus,
    for Google Play's filtering. An explicit <uses-feature required="false"> of the same name
    replaces the implied one (CommonFeatureGroup::PrintGroup prints implied features only when not
    declared), so the app still installs without a camera, where MainActivity greys the button
    (run on Robolectric: test_robolectric.py::test_main_activity_loads_classifies_and_closes_on_its_worker_and_shows_failures)."""
    manifest = demo_manifest(project)
    permissions = [element.get(f"{ANDROID_NS}name") for element in manifest.iter("uses-permission")]
    assert "android.permission.CAMERA" in permissions
    features = {element.get(f"{ANDROID_NS}name"): element.get(f"{ANDROID_NS}required")
                for element in manifest.iter("uses-feature")}
    assert features == {"android.hardware.camera": "false", "android.hardware.camera.autofocus": "false"}
    activities = {element.get(f"{ANDROID_NS}name"): element for element in manifest.iter("activity")}
    assert activities[".CameraActivity"].get(f"{ANDROID_NS}exported") == "false"  # opened from MainActivity only


def test_camera_is_released_in_on_pause_after_the_frame_in_flight(project):
    """Everything onResume opens, onPause releases (Camera2Basic's onPause: closeCamera, then
    stopBackgroundThread). That it does, for the camera (also one that finishes opening after
    onPause), the reader, the frames' thread, the classifier and the worker, runs on Robolectric
    (test_robolectric.py's camera tests). The order is read here: ImageReader.close: "attempting
    to read from ByteBuffers returned by an earlier Plane#getBuffer call will have undefined
    behavior", so the reader is closed on the worker, after the classification still reading a
    frame, never from the main thread under it; Robolectric's Images have no planes to read."""
    activity = source(project, "demo", "CameraActivity.kt")
    pause = function_body(activity, "override fun onPause() {")
    assert pause.index("stopCamera()") < pause.index("super.onPause()")
    stop = function_body(activity, "private fun stopCamera() {")
    order = ["session?.close()", "camera?.close()", "reader?.setOnImageAvailableListener(null, null)",
             "thread.quitSafely()", "thread.join()", "stream?.close()", "worker.execute {"]
    assert [stop.index(step) for step in order] == sorted(stop.index(step) for step in order)
    [release] = blocks(stop, "worker.execute {")
    assert "reader?.close()" in release and "classifier?.close()" in release
    assert activity.count("reader?.close()") == 1 and "reader.close()" not in activity


def test_camera_frames_are_classified_off_the_main_thread(project):
    """classify is @WorkerThread in the library (lint's WrongThread flags a main-thread call): the
    one call is the LiveStream's classify, run on the activity's single worker, which also loads
    and closes the classifier, so it needs no lock (as MainActivity's worker). Frames arrive on a
    HandlerThread of their own; the main thread only gets text to show, never the classifier."""
    library = source(project, "library", f"{DEFAULT_SETTINGS.class_name}.kt")
    assert re.search(r"@WorkerThread\s+fun classify\(image: Image, rotationDegrees: Int\)", library)
    activity = source(project, "demo", "CameraActivity.kt")
    assert "private val worker: ExecutorService = Executors.newSingleThreadExecutor()" in activity
    assert len(re.findall(r"\.classify\(", activity)) == 1
    [stream] = blocks(activity, "val liveStream = LiveStream<Image>(")
    assert ".classify(image, processing)" in stream and "executor = worker," in stream
    assert re.search(r"worker\.execute \{\s*try \{\s*classifier = \w+\.create\(context, ", activity)
    assert 'HandlerThread("camera-frames")' in activity and "}, Handler(thread.looper))" in activity
    ui_blocks = blocks(activity, "runOnUiThread {")
    assert ui_blocks and not any("classifier" in block for block in ui_blocks)
    assert all("isDestroyed" in block for block in ui_blocks)
    assert activity.count("catch (error: Throwable)") == 1 and "Cannot load the model" in activity


def test_the_camera_demo_classifies_what_its_preview_shows(project):
    """Issue 23 item 7: the demo's TextureView covers the view and crops the overflow
    (configureTransform, as Camera2Basic), so on a phone held upright the screen shows a narrower
    part of the 4:3 frame than the central square the classifier takes of the whole frame. Each
    frame is classified with ImageProcessingOptions.visibleInView of the frame's size, the current
    rotation and the view's size, recomputed as the display turns (run on Robolectric:
    test_robolectric.py::test_turning_the_phone_changes_what_the_camera_demo_classifies_each_frame_with)
    and, read here because Robolectric never calls a TextureView's SurfaceTextureListener, when the
    view's size changes; handed to the worker as one volatile object."""
    activity = source(project, "demo", "CameraActivity.kt")
    assert re.search(r"@Volatile\s+private var processing = ImageProcessingOptions\.DEFAULT", activity)
    assert "updateProcessing()" in function_body(activity, "private fun configureTransform() {")
    assert "override fun onSurfaceTextureSizeChanged(surface: SurfaceTexture, width: Int, height: Int) = configureTransform()" in activity
    assert activity.count("processing = ") == 2  # its declaration and updateProcessing


def test_camera_rotation_is_the_camera2_formula_for_the_display_rotation(project, tmp_path):
    """The clockwise rotation passed to classify, run on the JVM for every sensor orientation,
    lens facing and display rotation, against CameraX's CameraOrientationUtil.getRelativeImageRotation
    (destination = display rotation, source = SENSOR_ORIENTATION, opposite facing = back camera):
    (source - destination + 360) % 360 for a back camera, (source + destination) % 360 for a front
    one. Checked by hand for a phone: held upright, a back camera's frame (sensor 90) needs 90° and a
    front camera's (270) 270°; turned counter-clockwise into landscape (Display.getRotation:
    ROTATION_90, "the opposite direction of the physical rotation") both sensors' tops point up: 0."""
    from mnv3_sdk.android.kotlin import compile_kotlin
    from mnv3_sdk.android.toolchain import KOTLIN_STDLIB, fetch, find_java

    rotation = project / "demo" / "src" / "main" / "kotlin" / PACKAGE_PATH / "demo" / "CameraRotation.kt"
    assert "import android" not in rotation.read_text(encoding="utf-8")  # plain Kotlin: runs on the JVM
    table = tmp_path / "RotationTable.kt"
    table.write_text(f"package {DEFAULT_SETTINGS.package}.demo\n\n"
                     "fun main() {\n"
                     "    for (sensor in listOf(0, 90, 180, 270)) for (front in listOf(false, true))\n"
                     "        for (display in listOf(0, 90, 180, 270))\n"
                     '            println("$sensor $front $display ${CameraRotation.frameRotation(sensor, front, display)}")\n'
                     "}\n", encoding="utf-8")
    compile_kotlin([rotation, table], [], tmp_path / "classes")
    java = subprocess.run([str(find_java()), "-cp", f"{tmp_path / 'classes'}{os.pathsep}{fetch(KOTLIN_STDLIB)}",
                           f"{DEFAULT_SETTINGS.package}.demo.RotationTableKt"], capture_output=True, text=True, timeout=120)
    assert java.returncode == 0, java.stderr
    computed = {}
    for line in java.stdout.splitlines():
        sensor, front, display, degrees = line.split()
        computed[int(sensor), front == "true", int(display)] = int(degrees)

    def camerax(destination: int, source: int, opposite_facing: bool) -> int:
        return (source - destination + 360) % 360 if opposite_facing else (source + destination) % 360

    assert len(computed) == 32
    for (sensor, front, display), degrees in computed.items():
        assert degrees == camerax(display, sensor, opposite_facing=not front), (sensor, front, display)
    assert (computed[90, False, 0], computed[270, True, 0]) == (90, 270)
    assert (computed[90, False, 90], computed[270, True, 90]) == (0, 0)
    assert (computed[90, False, 270], computed[90, False, 180]) == (180, 270)


def test_demo_ships_only_to_the_abis_the_runtime_has_native_libraries_for(project):
    """executorch-android's native libraries are built for arm64-v8a and x86_64 only (upstream's
    scripts/build_android_library.sh, ANDROID_ABIS); the demo's abiFilters name the same list
    (AGP then leaves other ABIs out of the APK and stores no 32-bit variant), which is the list
    the library's UnsupportedDeviceException names (run on Robolectric in test_robolectric.py)."""
    from mnv3_sdk.versions import EXECUTORCH_ABIS

    gradle = (project / "demo" / "build.gradle.kts").read_text(encoding="utf-8")
    [filters] = re.findall(r"abiFilters \+= listOf\(([^)]*)\)", gradle)
    assert tuple(re.findall(r'"([^"]+)"', filters)) == EXECUTORCH_ABIS == ("arm64-v8a", "x86_64")
    library = source(project, "library", f"{DEFAULT_SETTINGS.class_name}.kt")
    assert 'val SUPPORTED_ABIS: List<String> = listOf("arm64-v8a", "x86_64")' in library


def merged_manifest(project: Path, build_type: str) -> ET.Element:
    """The demo's manifest for one build type as AGP's manifest merger builds it from the source
    sets: src/<build type>/AndroidManifest.xml, when present, has priority over src/main's and its
    <application> children are merged in, an element of the same tag and android:name being the
    same element (developer.android.com/build/manage-manifests, "Merge priorities": build type
    over main; "Merge policies": elements matched by android:name). No library of ours declares
    components (its manifest is empty), so the merge stops there."""
    root = demo_manifest(project)
    overlay_path = project / "demo" / "src" / build_type / "AndroidManifest.xml"
    if overlay_path.is_file():
        application = root.find("application")
        for element in ET.parse(overlay_path).getroot().find("application"):
            key = (element.tag, element.get(f"{ANDROID_NS}name"))
            same = [e for e in application if (e.tag, e.get(f"{ANDROID_NS}name")) == key]
            for old in same:
                for name, value in element.attrib.items():
                    old.set(name, value)
            if not same:
                application.append(element)
    return root


def exported(manifest: ET.Element) -> dict[str, str | None]:
    return {activity.get(f"{ANDROID_NS}name"): activity.get(f"{ANDROID_NS}permission")
            for activity in manifest.iter("activity") if activity.get(f"{ANDROID_NS}exported") == "true"}


def test_the_benchmark_entry_point_is_in_debug_builds_only(project):
    """Issue 23 item 4: BenchmarkActivity loads any model path an intent names, and an exported
    activity without a permission can be started by any app on the phone. It lives in the debug
    source set (manifest and Kotlin), which AGP builds into the debug variant alone: the release
    build exports the launcher activity and nothing else, the debug build (what `mnv3-sdk bench
    --adb` installs: bench/run.py runs :demo:assembleDebug) also exports BenchmarkActivity."""
    release = merged_manifest(project, "release")
    debug = merged_manifest(project, "debug")
    assert exported(release) == {".MainActivity": None}
    assert exported(debug) == {".MainActivity": None, ".BenchmarkActivity": None}
    main_sources = {p.name for p in (project / "demo" / "src" / "main").rglob("*.kt")}
    assert "BenchmarkActivity.kt" not in main_sources and "BenchmarkResult.kt" not in main_sources
    assert {p.name for p in (project / "demo" / "src" / "debug").rglob("*.kt")} == {"BenchmarkActivity.kt", "BenchmarkResult.kt"}


def test_readme_and_pom_state_what_a_consuming_app_needs(project):
    """Issue 23 item 15: minSdk, compileSdk, ABIs, the ExecuTorch runtime and its version, AndroidX,
    Kotlin metadata and stdlib, Java bytecode level, R8 consumer rules and permissions, in the
    library README and in the AAR's POM (<description> and <properties>), with the values the
    build files, manifests and versions.py actually use."""
    from mnv3_sdk.android.aar import CONSUMER_RULES_ENTRY, aar_manifest, consumer_requirements, pom
    from mnv3_sdk.android.kotlin import JVM_TARGET
    from mnv3_sdk.versions import (EXECUTORCH_ABIS, EXECUTORCH_VERSION, KOTLIN_API_VERSION, MIN_COMPILE_SDK,
                                   MIN_SDK, OLDEST_KOTLIN_CONSUMER)

    readme = (project / "classifier" / "README.md").read_text(encoding="utf-8")
    needs = " ".join(readme[readme.index("## What an app needs"):readme.index("## Add it to an app")].split())
    gradle = (project / "classifier" / "build.gradle.kts").read_text(encoding="utf-8")
    assert int(re.search(r"minSdk = (\d+)", gradle).group(1)) == MIN_SDK
    assert re.search(r"jvmTarget\.set\(JvmTarget\.JVM_(\d+)\)", gradle).group(1) == JVM_TARGET
    assert f"`minSdk` {MIN_SDK} or higher" in needs and f"`compileSdk` {MIN_COMPILE_SDK} or higher" in needs
    assert f"ABIs {', '.join(EXECUTORCH_ABIS)}:" in needs
    assert f"`org.pytorch:executorch-android:{EXECUTORCH_VERSION}`" in needs
    assert f'api("org.pytorch:executorch-android:{EXECUTORCH_VERSION}")' in gradle
    assert "`android.useAndroidX=true`" in needs
    assert f"Kotlin {KOTLIN_API_VERSION} metadata" in needs and f"`kotlin-stdlib` {OLDEST_KOTLIN_CONSUMER} or newer" in needs
    assert f"Java {JVM_TARGET} bytecode" in needs
    rules = (project / "classifier" / "consumer-rules.pro").read_text(encoding="utf-8")
    assert 'consumerProguardFiles("consumer-rules.pro")' in gradle
    for kept in ("org.pytorch.executorch.**", "com.facebook.jni.**"):
        assert f"-keep class {kept}" in rules and f"`{kept}`" in needs
    assert f"(`{CONSUMER_RULES_ENTRY}`, from `consumer-rules.pro`)" in needs
    # Permissions: the library's manifest declares none, the demo's are the ones the README names.
    library_manifest = ET.parse(project / "classifier" / "src" / "main" / "AndroidManifest.xml").getroot()
    assert not list(library_manifest.iter("uses-permission"))
    demo = [e.get(f"{ANDROID_NS}name") for path in (project / "demo" / "src").glob("*/AndroidManifest.xml")
            for e in ET.parse(path).getroot().iter("uses-permission")]
    assert demo == ["android.permission.CAMERA"] and "Permissions: none." in needs
    assert all(f"`{permission}`" in needs for permission in demo)

    xml = ET.fromstring(pom(DEFAULT_SETTINGS))
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    stated = {child.tag.split("}")[1]: child.text for child in xml.find("m:properties", ns)}
    assert stated == consumer_requirements()
    aar_min_sdk = re.search(r'android:minSdkVersion="(\d+)"', aar_manifest(DEFAULT_SETTINGS).decode()).group(1)
    assert stated["mnv3.minSdk"] == aar_min_sdk == str(MIN_SDK)
    assert stated["mnv3.abis"].split(",") == list(EXECUTORCH_ABIS)
    [runtime] = [d for d in xml.iter("{http://maven.apache.org/POM/4.0.0}dependency")
                 if d.find("m:artifactId", ns).text == "executorch-android"]
    assert stated["mnv3.executorchVersion"] == runtime.find("m:version", ns).text == EXECUTORCH_VERSION
    assert (stated["mnv3.jvmTarget"], stated["mnv3.kotlinMetadataVersion"]) == (JVM_TARGET, KOTLIN_API_VERSION)
    assert stated["mnv3.permissions"] == "none" and stated["mnv3.consumerProguardRules"] == CONSUMER_RULES_ENTRY
    description = xml.find("m:description", ns).text
    assert f"minSdk {MIN_SDK}" in description and EXECUTORCH_VERSION in description
    assert ", ".join(EXECUTORCH_ABIS) in description and "no permissions" in description


def test_hardware_bitmaps_cost_one_whole_copy_which_is_documented_and_released(project):
    """Issue 23 item 12. A Bitmap.Config.HARDWARE bitmap (ImageDecoder's default allocator,
    ALLOCATOR_DEFAULT) cannot be read in part: getPixels on it throws, a software Canvas refuses to
    draw it, and Bitmap.copy / Bitmap.createBitmap copy it whole (frameworks/base
    graphics/java/android/graphics/Bitmap.java). So the library makes one whole ARGB_8888 copy of a
    bitmap of another configuration, says what it costs (KDoc and README, with the way around it:
    ImageDecoder.ALLOCATOR_SOFTWARE) and recycles the copy when the input is filled instead of
    leaving width x height x 4 bytes to the garbage collector; an ARGB_8888 bitmap is never copied."""
    library = source(project, "library", f"{DEFAULT_SETTINGS.class_name}.kt")
    body = function_body(library, "fun classify(bitmap: Bitmap, options: ImageProcessingOptions): ClassificationResult {")
    assert "val copied = bitmap.config != Bitmap.Config.ARGB_8888" in body
    assert "if (copied) bitmap.copy(Bitmap.Config.ARGB_8888, false) else bitmap" in body
    assert re.search(r"finally \{\s*if \(copied\) argb\.recycle\(\)\s*\}", body)
    assert body.count(".copy(") == 1 and "createBitmap" not in body
    kdoc = library[:library.index("fun classify(bitmap: Bitmap): ClassificationResult")]
    kdoc = " ".join(kdoc[kdoc.rindex("/**"):].replace("*", " ").split())
    assert "Bitmap.Config.HARDWARE" in kdoc and "width × height × 4 bytes" in kdoc and "ALLOCATOR_SOFTWARE" in kdoc
    readme = " ".join((project / "classifier" / "README.md").read_text(encoding="utf-8").split())
    assert "`Bitmap.Config.HARDWARE`" in readme and "(width × height × 4 bytes per call," in readme
    assert "decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE" in readme
