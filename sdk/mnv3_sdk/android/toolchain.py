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
from mnv3_sdk.hostinfo import android_sdk_roots
from mnv3_sdk.versions import (
    ANDROID_ALL_VERSION,
    EXECUTORCH_VERSION,
    KOTLIN_VERSION,
    OLDEST_KOTLIN_CONSUMER,
)


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


def kotlin_compiler(version: str, coroutines: str, *more: Artifact) -> list[Artifact]:
    """kotlin-compiler-embeddable ``version`` and the runtime jars (from its POM) that its
    command-line compiler loads; kotlin-script-runtime and kotlin-daemon-embeddable it does not."""
    return [
        Artifact("org.jetbrains.kotlin", "kotlin-compiler-embeddable", version),
        Artifact("org.jetbrains.kotlin", "kotlin-stdlib", version),
        Artifact("org.jetbrains.kotlin", "kotlin-reflect", "1.6.10"),
        Artifact("org.jetbrains.kotlinx", "kotlinx-coroutines-core-jvm", coroutines),
        Artifact("org.jetbrains", "annotations", "13.0"),
        *more,
    ]


KOTLIN_COMPILER = kotlin_compiler(KOTLIN_VERSION, "1.8.0")
KOTLIN_STDLIB = KOTLIN_COMPILER[1]
# 2.0.21's POM asks for kotlinx-coroutines-core-jvm 1.6.4 and trove4j (its K1 parts still use it).
OLDEST_CONSUMER_KOTLIN_COMPILER = kotlin_compiler(
    OLDEST_KOTLIN_CONSUMER, "1.6.4", Artifact("org.jetbrains.intellij.deps", "trove4j", "1.0.20200330"))
CONSUMER_KOTLIN_STDLIB = OLDEST_CONSUMER_KOTLIN_COMPILER[1]
ANDROID_ALL = Artifact("org.robolectric", "android-all", ANDROID_ALL_VERSION)
EXECUTORCH_ANDROID = Artifact("org.pytorch", "executorch-android", EXECUTORCH_VERSION, "aar")


def maven_repository() -> Path:
    return Path(os.environ.get("MNV3_SDK_M2", Path.home() / ".m2" / "repository"))


def find_java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def find_javac() -> Path | None:
    """The JDK's javac beside find_java() (through symlinks such as /usr/bin/java)."""
    java = find_java()
    if java is None:
        return None
    javac = java.resolve().parent / "javac"
    return javac if javac.is_file() else None


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
    for sdk in android_sdk_roots():
        jars = sorted(sdk.glob("platforms/android-*/android.jar"),
                      key=lambda jar: int(jar.parent.name.split("-")[1]) if jar.parent.name.split("-")[1].isdigit() else 0)
        if jars:
            return jars[-1]
    return fetch(ANDROID_ALL)
