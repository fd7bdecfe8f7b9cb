"""The Android side: the Gradle project from templates, the Kotlin compiler, the AAR, the toolchain."""
