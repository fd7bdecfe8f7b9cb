"""Which Gradle each AGP needs, and which Java runs which Gradle: the two upstream tables the
generated project's pins (versions.py: AGP_VERSION, GRADLE_VERSION, MIN_JDK, MAX_JDK) must satisfy.

Neither Gradle nor Google's Maven is reachable here, so the rows are copied from the pages, read on
2026-12-05; tests/test_generated_project.py derives the JDK range from them and compares.
"""

from __future__ import annotations

# docs.gradle.org/current/userguide/compatibility.html, "Java Runtime", table "Java Compatibility",
# column "Support for running Gradle": the first Gradle that runs on each Java (the 9.9.0 page lists
# the same rows and adds 26 -> 9.4.0). Java 8-16 run Gradle only up to 8.14.x; Gradle 9 needs 17+.
GRADLE_PAGE = "https://docs.gradle.org/current/userguide/compatibility.html"
FIRST_GRADLE_RUNNING_ON_JAVA: dict[int, str] = {
    17: "7.3",
    18: "7.5",
    19: "7.6",
    20: "8.3",
    21: "8.5",
    22: "8.8",
    23: "8.10",
    24: "8.14",
    25: "9.1.0",
    26: "9.4.0",
}

# developer.android.com/build/releases/gradle-plugin (the per-release pages it links,
# developer.android.com/build/releases/agp-<x>-<y>-0-release-notes, section "Compatibility"): the
# minimum and the default Gradle, and the minimum JDK. The tables give no upper bound; AGP 9.0 is the first whose minimum is a Gradle 9.
AGP_PAGE = "https://developer.android.com/build/releases/gradle-plugin"
# AGP major.minor: (minimum Gradle, default Gradle, minimum JDK)
AGP_REQUIREMENTS: dict[str, tuple[str, str, int]] = {
    "8.7": ("8.9", "8.9", 17),
    "8.11": ("8.13", "8.13", 17),
    "8.12": ("8.13", "8.13", 17),
    "8.13": ("8.13", "8.13", 17),
    "9.0": ("9.1.0", "9.1.0", 17),
}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def agp_requirements(agp: str) -> tuple[str, str, int]:
    """(minimum Gradle, default Gradle, minimum JDK) of an AGP version such as "8.13.2"."""
    return AGP_REQUIREMENTS[".".join(agp.split(".")[:2])]


def jdks_running(gradle: str, agp: str) -> list[int]:
    """The Java versions in the table that run ``gradle`` and that ``agp`` accepts."""
    minimum_jdk = agp_requirements(agp)[2]
    return [java for java, first in sorted(FIRST_GRADLE_RUNNING_ON_JAVA.items())
            if java >= minimum_jdk and version_tuple(gradle) >= version_tuple(first)]
