"""Assembling the AAR and a local Maven repository, byte for byte reproducibly."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from mnv3_sdk.android.project import AndroidSettings
from mnv3_sdk.android.toolchain import CONSUMER_KOTLIN_STDLIB, EXECUTORCH_ANDROID
from mnv3_sdk.android.kotlin import JVM_TARGET
from mnv3_sdk.versions import (
    ANDROIDX_ANNOTATION_VERSION,
    EXECUTORCH_ABIS,
    EXECUTORCH_VERSION,
    KOTLIN_API_VERSION,
    MIN_COMPILE_SDK,
    MIN_SDK,
    OLDEST_KOTLIN_CONSUMER,
)

# Zip entries get this fixed timestamp (the earliest zip can store) so rebuilds are identical.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_deterministic_zip(target: Path, entries: dict[str, bytes], stored: tuple[str, ...] = ()) -> None:
    """A zip of ``entries`` in sorted order, fixed timestamps and permissions.

    Names ending in one of ``stored`` are not compressed (models are memory-mapped on device).
    """
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the host
            info.compress_type = zipfile.ZIP_STORED if name.endswith(stored) else zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9 if info.compress_type == zipfile.ZIP_DEFLATED else None)


def folder_jar(folder: Path, target: Path) -> None:
    """A jar of every file under ``folder`` (class files, or sources for a -sources.jar)."""
    entries = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: mnv3-sdk\r\n\r\n"}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            entries[path.relative_to(folder).as_posix()] = path.read_bytes()
    write_deterministic_zip(target, entries)


# AGP's aar-metadata.properties, which its CheckAarMetadataTask reads from every AAR an app uses.
# Keys, order, format and defaults as AGP's AarMetadataTask writes them (writeAarMetadataFile;
# AAR_FORMAT_VERSION = AAR_METADATA_VERSION = "1.0", DEFAULT_MIN_AGP_VERSION = "1.0.0",
# DEFAULT_MIN_COMPILE_SDK_EXTENSION = 0), AOSP platform/tools/base,
# build-system/gradle-core/src/main/java/com/android/build/gradle/internal/tasks/AarMetadataTask.kt.
AAR_METADATA_ENTRY = "META-INF/com/android/build/gradle/aar-metadata.properties"
AAR_FORMAT_VERSION = "1.0"
AAR_METADATA_VERSION = "1.0"
MIN_AGP_VERSION = "1.0.0"


def aar_metadata() -> bytes:
    return (
        f"aarFormatVersion={AAR_FORMAT_VERSION}\n"
        f"aarMetadataVersion={AAR_METADATA_VERSION}\n"
        f"minCompileSdk={MIN_COMPILE_SDK}\n"
        "minCompileSdkExtension=0\n"
        f"minAndroidGradlePluginVersion={MIN_AGP_VERSION}\n"
        "coreLibraryDesugaringEnabled=false\n"
    ).encode()


def aar_manifest(settings: AndroidSettings) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android"\n'
        f'    package="{settings.package}">\n\n'
        f'    <uses-sdk android:minSdkVersion="{MIN_SDK}" />\n\n'
        "</manifest>\n"
    ).encode()


def write_aar(target: Path, settings: AndroidSettings, classes: Path, consumer_rules: bytes, model: bytes) -> None:
    """An AAR as AGP lays it out: manifest, classes.jar, R.txt, proguard.txt, AAR metadata, the model."""
    write_deterministic_zip(
        target,
        {
            "AndroidManifest.xml": aar_manifest(settings),
            AAR_METADATA_ENTRY: aar_metadata(),
            "classes.jar": classes.read_bytes(),
            "R.txt": b"",
            CONSUMER_RULES_ENTRY: consumer_rules,
            f"assets/{settings.asset_path}": model,
        },
        stored=(".pte",),
    )


def pom(settings: AndroidSettings) -> str:
    """The POM, with the scopes Gradle's maven-publish writes for the generated build.gradle.kts:
    ``api`` dependencies (the runtime, kotlin-stdlib) at compile scope, ``implementation`` ones
    (androidx.annotation) at runtime scope. fbjni and nativeloader are not listed: they are
    executorch-android's own dependencies and come with it (upstream's build.gradle declares them
    ``implementation``, so its POM carries them at runtime scope)."""
    group, artifact, version = settings.maven_coordinates
    requirements = consumer_requirements()
    description = (
        f"Image classifier ({settings.arch}, {settings.quant}) on the ExecuTorch runtime "
        f"{EXECUTORCH_VERSION}. Needs minSdk {MIN_SDK}, compileSdk {MIN_COMPILE_SDK}+, ABIs "
        f"{', '.join(EXECUTORCH_ABIS)}, AndroidX; Java {JVM_TARGET} bytecode with Kotlin {KOTLIN_API_VERSION} "
        f"metadata (kotlin-stdlib {OLDEST_KOTLIN_CONSUMER}+); ships R8 consumer rules; declares no permissions."
    )
    dependencies = [
        (EXECUTORCH_ANDROID.group, EXECUTORCH_ANDROID.name, EXECUTORCH_ANDROID.version, "aar", "compile"),
        (CONSUMER_KOTLIN_STDLIB.group, CONSUMER_KOTLIN_STDLIB.name, CONSUMER_KOTLIN_STDLIB.version, "jar", "compile"),
        ("androidx.annotation", "annotation", ANDROIDX_ANNOTATION_VERSION, "jar", "runtime"),
    ]
    rendered = "".join(
        "    <dependency>\n"
        f"      <groupId>{escape(g)}</groupId>\n"
        f"      <artifactId>{escape(a)}</artifactId>\n"
        f"      <version>{escape(v)}</version>\n"
        + (f"      <type>{t}</type>\n" if t != "jar" else "")
        + f"      <scope>{scope}</scope>\n"
        "    </dependency>\n"
        for g, a, v, t, scope in dependencies
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0"\n'
        '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
        '    xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>{escape(group)}</groupId>\n"
        f"  <artifactId>{escape(artifact)}</artifactId>\n"
        f"  <version>{escape(version)}</version>\n"
        "  <packaging>aar</packaging>\n"
        f"  <name>{escape(settings.class_name)} ({escape(settings.arch)}, {escape(settings.quant)})</name>\n"
        f"  <description>{escape(description)}</description>\n"
        "  <properties>\n"
        + "".join(f"    <{key}>{escape(value)}</{key}>\n" for key, value in requirements.items())
        + "  </properties>\n"
        "  <dependencies>\n"
        f"{rendered}"
        "  </dependencies>\n"
        "</project>\n"
    )


# Consumer R8 rules: the AAR's /proguard.txt (developer.android.com/studio/projects/android-library,
# "Anatomy of an AAR file"), which the app's R8 applies.
CONSUMER_RULES_ENTRY = "proguard.txt"
# The permissions the library's manifest declares (templates/library/src/main/AndroidManifest.xml.j2).
LIBRARY_PERMISSIONS: tuple[str, ...] = ()


def consumer_requirements() -> dict[str, str]:
    """What an app using the AAR needs, as the POM's <properties> state it (and the README)."""
    return {
        "mnv3.minSdk": str(MIN_SDK),
        "mnv3.minCompileSdk": str(MIN_COMPILE_SDK),
        "mnv3.abis": ",".join(EXECUTORCH_ABIS),
        "mnv3.executorchVersion": EXECUTORCH_VERSION,
        "mnv3.androidx": "required",
        "mnv3.kotlinMetadataVersion": KOTLIN_API_VERSION,
        "mnv3.minKotlinStdlib": OLDEST_KOTLIN_CONSUMER,
        "mnv3.jvmTarget": JVM_TARGET,
        "mnv3.consumerProguardRules": CONSUMER_RULES_ENTRY,
        "mnv3.permissions": ",".join(LIBRARY_PERMISSIONS) or "none",
    }


def write_maven_repository(root: Path, settings: AndroidSettings, aar: Path, sources: Path) -> Path:
    """``root/<group path>/<artifact>/<version>/``: the AAR, its POM, ``-sources.jar`` (the Kotlin
    under ``sources``, so IDEs show the KDoc) and their checksums."""
    group, artifact, version = settings.maven_coordinates
    folder = root / group.replace(".", "/") / artifact / version
    folder.mkdir(parents=True, exist_ok=True)
    sources_jar = folder / f"{artifact}-{version}-sources.jar"
    folder_jar(sources, sources_jar)
    files = {
        f"{artifact}-{version}.aar": aar.read_bytes(),
        f"{artifact}-{version}.pom": pom(settings).encode(),
        sources_jar.name: sources_jar.read_bytes(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / f"{name}.sha1").write_text(hashlib.sha1(data).hexdigest())
        (folder / f"{name}.md5").write_text(hashlib.md5(data).hexdigest())
    metadata = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n'
        f"  <groupId>{escape(group)}</groupId>\n  <artifactId>{escape(artifact)}</artifactId>\n"
        f"  <versioning>\n    <release>{escape(version)}</release>\n"
        f"    <versions>\n      <version>{escape(version)}</version>\n    </versions>\n"
        "  </versioning>\n</metadata>\n"
    )
    (folder.parent / "maven-metadata.xml").write_text(metadata)
    return folder
