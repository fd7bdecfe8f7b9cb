"""Every version pin in one place: the exporter and the Android runtime that must match it, the
Kotlin toolchain, the Android SDK levels and build tools of the generated project.

The Python packages (torch, executorch, torchao) are pinned in pyproject.toml, where pip reads
them; ``EXECUTORCH_VERSION`` must equal executorch's there (tests/test_android.py checks it).
"""

from __future__ import annotations

from importlib import metadata

from mnv3_sdk import __version__

# The Android runtime must not be older than the exporter that wrote the .pte (docs/toolchain.md, "Android runtime").
EXECUTORCH_VERSION = "1.5.1"
# 2: float NCHW input (RGB 0-255 or normalized; float16 for fp16 models). 1 had uint8 NHWC bytes.
METADATA_FORMAT = "mnv3-sdk/2"


# Kotlin (android/toolchain.py fetches the compiler; android/kotlin.py runs it).
KOTLIN_VERSION = "2.2.21"
# Everything we compile targets this Kotlin language and API level (-language-version/-api-version),
# so the classes carry metadata version 2.0 (it equals the language version: kotlinlang.org,
# kotlin-metadata-jvm JvmMetadataVersion) and a consumer's compiler N reads metadata up to N+1:
# Kotlin 1.9.x and newer can compile against the library (tested: 2.0.21; checked once by hand:
# 1.9.25, against an SDK-style android.jar, not android-all, whose bundled Kotlin 2.1 module files
# 1.9 cannot read). 2.0 is the lowest level kotlinc 2.2.21 accepts without a warning (1.9: "language
# version 1.9 is deprecated", an error under -Werror; 1.6/1.7 were dropped in 2.2, 1.8/1.9 in 2.3:
# kotlinlang.org/docs/compatibility-guide-22.html, -23.html). Kotlin 2.3 deprecates 2.0 in turn.
KOTLIN_API_VERSION = "2.0"
# The oldest Kotlin whose compiler the consumer tests run (tests/test_consumers.py), and the
# kotlin-stdlib the POM declares: matching the API level, never newer, so Gradle's "highest version
# wins" cannot hand a Kotlin 2.0 consumer a stdlib whose metadata its compiler cannot read.
OLDEST_KOTLIN_CONSUMER = "2.0.21"
# Robolectric's android-all carries the real framework classes of one Android release; it is the
# android.jar we can get from Maven Central when no Android SDK is installed.
ANDROID_ALL_VERSION = "16-robolectric-13921718-2"


# The generated Gradle project and AAR (android/project.py, android/aar.py).
# ExecuTorch's Android native libraries are built for API 26: scripts/build_android_library.sh
# passes -DANDROID_PLATFORM=android-26 to CMake (pytorch/executorch v1.4.1 and main), so they may
# use bionic symbols that older devices lack, although its build.gradle still says minSdk = 23.
# A lower minSdk here would let apps install on phones where loading the runtime can fail.
MIN_SDK = 26
# The ABIs executorch-android ships native libraries for: upstream's scripts/build_android_library.sh
# builds ANDROID_ABIS=("arm64-v8a" "x86_64") unless told otherwise (v1.4.1 and main). The library
# names them in UnsupportedDeviceException and the demo sets them as its abiFilters.
EXECUTORCH_ABIS = ("arm64-v8a", "x86_64")
# aar-metadata.properties' minCompileSdk: compiling against less than minSdk makes no sense.
MIN_COMPILE_SDK = MIN_SDK
COMPILE_SDK = 35
# androidx.annotation for @WorkerThread: the oldest release that has it, as for kotlin-stdlib,
# so Gradle's "highest version wins" never moves an app (whose androidx.core brings a newer one) to
# another version because of us.
ANDROIDX_ANNOTATION_VERSION = "1.0.0"
# AGP and the Gradle its wrapper pins, and the JDKs that can run that Gradle: checked against the
# compatibility tables in android/compatibility.py (tests/test_generated_project.py). AGP 8.13
# needs Gradle 8.13 or newer; Gradle 8.14 is the newest 8.x and the first that runs on Java 24; no
# Gradle 8 runs on Java 25 (that takes Gradle 9.1.0, which AGP 9 requires along with its built-in
# Kotlin, a migration of the build files not made here).
AGP_VERSION = "8.13.2"
GRADLE_VERSION = "8.14.3"
# The JDKs that can run the generated project's Gradle (and compile its Kotlin, JVM target 17).
MIN_JDK = 17
MAX_JDK = 24


# The tests' Android runtime on the JVM (tests/robolectric.py): Robolectric runs the library's own
# compiled classes with the real framework classes of one SDK level, from an instrumented
# android-all jar. Robolectric 4.17's DefaultSdkProvider names, per SDK, the jar's version and the
# Java it needs: SDK 36 (16-robolectric-13921718-i7) needs Java 21, SDK 35 runs on the JDK 17 this
# project targets, so the tests use 35.
ROBOLECTRIC_VERSION = "4.17"
ROBOLECTRIC_SDK = 35
ANDROID_ALL_INSTRUMENTED_VERSION = "15-robolectric-13954326-i7"
JUNIT_VERSION = "4.13.2"


def tool_versions() -> dict[str, str]:
    return {
        "mnv3_sdk": __version__,
        "torch": metadata.version("torch"),
        "executorch": metadata.version("executorch"),
    }

