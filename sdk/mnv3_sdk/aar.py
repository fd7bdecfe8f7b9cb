"""Assembling the AAR and a local Maven repository, byte for byte reproducibly."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from mnv3_sdk.codegen import MIN_SDK, AndroidSettings
from mnv3_sdk.toolchain import FBJNI_JAVA, KOTLIN_VERSION, NATIVELOADER
from mnv3_sdk.versions import EXECUTORCH_VERSION

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


def classes_jar(classes_dir: Path, target: Path) -> None:
    entries = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: mnv3-sdk\r\n\r\n"}
    for path in sorted(classes_dir.rglob("*")):
        if path.is_file():
            entries[path.relative_to(classes_dir).as_posix()] = path.read_bytes()
    write_deterministic_zip(target, entries)


def aar_manifest(settings: AndroidSettings) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android"\n'
        f'    package="{settings.package}">\n\n'
        f'    <uses-sdk android:minSdkVersion="{MIN_SDK}" />\n\n'
        "</manifest>\n"
    ).encode()


def write_aar(target: Path, settings: AndroidSettings, classes: Path, consumer_rules: bytes, model: bytes) -> None:
    """An AAR as AGP lays it out: manifest, classes.jar, R.txt, proguard.txt, the model asset."""
    write_deterministic_zip(
        target,
        {
            "AndroidManifest.xml": aar_manifest(settings),
            "classes.jar": classes.read_bytes(),
            "R.txt": b"",
            "proguard.txt": consumer_rules,
            f"assets/{settings.model_asset}": model,
        },
        stored=(".pte",),
    )


def pom(settings: AndroidSettings) -> str:
    group, artifact, version = settings.maven_coordinates
    dependencies = [
        ("org.pytorch", "executorch-android", EXECUTORCH_VERSION, "aar"),
        (FBJNI_JAVA.group, "fbjni", FBJNI_JAVA.version, "aar"),
        (NATIVELOADER.group, NATIVELOADER.name, NATIVELOADER.version, "jar"),
        ("org.jetbrains.kotlin", "kotlin-stdlib", KOTLIN_VERSION, "jar"),
    ]
    rendered = "".join(
        "    <dependency>\n"
        f"      <groupId>{escape(g)}</groupId>\n"
        f"      <artifactId>{escape(a)}</artifactId>\n"
        f"      <version>{escape(v)}</version>\n"
        + (f"      <type>{t}</type>\n" if t != "jar" else "")
        + "      <scope>compile</scope>\n"
        "    </dependency>\n"
        for g, a, v, t in dependencies
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
        "  <dependencies>\n"
        f"{rendered}"
        "  </dependencies>\n"
        "</project>\n"
    )


def write_maven_repository(root: Path, settings: AndroidSettings, aar: Path) -> Path:
    """``root/<group path>/<artifact>/<version>/`` with the AAR, its POM and their checksums."""
    group, artifact, version = settings.maven_coordinates
    folder = root / group.replace(".", "/") / artifact / version
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        f"{artifact}-{version}.aar": aar.read_bytes(),
        f"{artifact}-{version}.pom": pom(settings).encode(),
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
