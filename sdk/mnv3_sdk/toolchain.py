"""Finding the JDK and the jars that compile the Kotlin wrapper, fetched from Maven Central once.

Everything is resolved into the local Maven repository (``~/.m2/repository``) with ``mvn``, so a
second build, or a CI run on the same machine, downloads nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.errors import SdkError
from mnv3_sdk.versions import EXECUTORCH_VERSION

KOTLIN_VERSION = "2.2.21"
# Robolectric's android-all carries the real framework classes of one Android release; it is the
# android.jar we can get from Maven Central when no Android SDK is installed.
ANDROID_ALL_VERSION = "16-robolectric-13921718-2"
ANDROID_ALL_API = 36


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str
    packaging: str = "jar"

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.name}:{self.version}:{self.packaging}"

    def path(self, repository: Path) -> Path:
        return (repository / self.group.replace(".", "/") / self.name / self.version
                / f"{self.name}-{self.version}.{self.packaging}")


KOTLIN_STDLIB = Artifact("org.jetbrains.kotlin", "kotlin-stdlib", KOTLIN_VERSION)
KOTLIN_COMPILER = [
    Artifact("org.jetbrains.kotlin", "kotlin-compiler-embeddable", KOTLIN_VERSION),
    KOTLIN_STDLIB,
    Artifact("org.jetbrains.kotlin", "kotlin-reflect", "1.6.10"),
    Artifact("org.jetbrains.kotlinx", "kotlinx-coroutines-core-jvm", "1.8.0"),
    Artifact("org.jetbrains", "annotations", "13.0"),
]
ANDROID_ALL = Artifact("org.robolectric", "android-all", ANDROID_ALL_VERSION)
EXECUTORCH_ANDROID = Artifact("org.pytorch", "executorch-android", EXECUTORCH_VERSION, "aar")
# What the ExecuTorch Android API itself is compiled against (its POM's runtime dependencies).
FBJNI_JAVA = Artifact("com.facebook.fbjni", "fbjni-java-only", "0.7.0")
NATIVELOADER = Artifact("com.facebook.soloader", "nativeloader", "0.10.5")


def maven_repository() -> Path:
    return Path(os.environ.get("MNV3_SDK_M2", Path.home() / ".m2" / "repository"))


def find_java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def fetch(artifact: Artifact) -> Path:
    """The artifact's file in the local Maven repository, downloading it with mvn if needed."""
    repository = maven_repository()
    target = artifact.path(repository)
    if target.is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SdkError(f"{artifact.coordinates} is not in {repository} and mvn is not installed to fetch it")
    result = subprocess.run(
        [mvn, "-q", "-B", f"-Dmaven.repo.local={repository}", "dependency:get",
         f"-Dartifact={artifact.coordinates}", "-Dtransitive=false"],
        capture_output=True, text=True,
    )
    if result.returncode != 0 or not target.is_file():
        output = result.stdout + result.stderr
        if "not found" in output or "Could not find" in output or "Couldn't download" in output:
            reason = "the repository does not serve it"
        elif "Could not transfer" in output or "Unknown host" in output or "Connection" in output:
            reason = "the repository is not reachable (offline?)"
        else:
            reason = next((line for line in output.splitlines() if "ERROR" in line), "mvn failed")
            reason = reason.replace("[ERROR]", "").strip()[:160]
        raise SdkError(f"cannot fetch {artifact.coordinates} from Maven Central: {reason}")
    return target


def android_jar() -> Path:
    """``$ANDROID_HOME/platforms/android-N/android.jar`` (newest) when an SDK is present, else android-all."""
    for variable in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
        sdk = os.environ.get(variable)
        if sdk:
            jars = sorted(Path(sdk).glob("platforms/android-*/android.jar"),
                          key=lambda jar: int(jar.parent.name.split("-")[1]) if jar.parent.name.split("-")[1].isdigit() else 0)
            if jars:
                return jars[-1]
    return fetch(ANDROID_ALL)
