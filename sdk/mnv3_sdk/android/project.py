"""Rendering the Android Gradle project (library module + demo app) from the Jinja templates.

Templates only lay out code; every value (package, class name, versions) comes from
``AndroidSettings``, and model data such as labels never enters source code: the wrapper reads
them from the model's embedded metadata at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.abc import Traversable
from pathlib import Path

import jinja2

from mnv3_sdk import __version__
from mnv3_sdk.android.compatibility import agp_requirements
from mnv3_sdk.android.kotlin import JVM_TARGET, module_name
from mnv3_sdk.errors import SdkError
from mnv3_sdk.resources import templates_dir
from mnv3_sdk.versions import (
    AGP_VERSION,
    ANDROIDX_ANNOTATION_VERSION,
    COMPILE_SDK,
    EXECUTORCH_ABIS,
    EXECUTORCH_VERSION,
    GRADLE_VERSION,
    KOTLIN_API_VERSION,
    KOTLIN_VERSION,
    MAX_JDK,
    MIN_COMPILE_SDK,
    MIN_JDK,
    MIN_SDK,
    OLDEST_KOTLIN_CONSUMER,
)

DEFAULT_PACKAGE = "com.example.mnv3"
# The package the plain Kotlin sources in templates/ are written in (render_project moves them).
SOURCE_PACKAGE = DEFAULT_PACKAGE
DEFAULT_CLASS_NAME = "MobileNetV3Classifier"
LIBRARY_MODULE = "classifier"
BENCHMARK_RESULT = "mnv3_benchmark.json"
BENCHMARK_LOG_TAG = "mnv3-sdk-bench"

# Java and Kotlin hard keywords: neither may be a package segment.
_RESERVED = {
    "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
    "continue", "default", "do", "double", "else", "enum", "extends", "false", "final", "finally",
    "float", "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long",
    "native", "new", "null", "package", "private", "protected", "public", "return", "short",
    "static", "strictfp", "super", "switch", "synchronized", "this", "throw", "throws",
    "transient", "true", "try", "void", "volatile", "while", "as", "fun", "in", "is", "object",
    "typealias", "typeof", "val", "var", "when",
}
_SEGMENT = re.compile(r"^[a-z][a-z0-9_]*$")
_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class AndroidSettings:
    package: str
    class_name: str
    model_asset: str  # the .pte's file name inside the library's assets
    arch: str
    quant: str

    @property
    def asset_path(self) -> str:
        """Where the library keeps its model among the app's assets: under its package, because AGP
        merges the assets of all libraries into one folder and keeps one file per path without a
        word (two libraries built with the default model name would otherwise ship the same path)."""
        return f"mnv3-sdk/{self.package}/{self.model_asset}"

    @property
    def maven_coordinates(self) -> tuple[str, str, str]:
        """(group, artifact, version) of the library in the local Maven repository."""
        return self.package, self.model_asset.removesuffix(".pte"), "1.0.0"

    def template_values(self) -> dict[str, object]:
        return {
            "package": self.package,
            "class_name": self.class_name,
            "model_asset": self.model_asset,
            "model_asset_path": self.asset_path,
            "arch": self.arch,
            "quant": self.quant,
            "library_module": LIBRARY_MODULE,
            "project_name": self.model_asset.removesuffix(".pte"),
            "min_sdk": MIN_SDK,
            "min_compile_sdk": MIN_COMPILE_SDK,
            "compile_sdk": COMPILE_SDK,
            "agp_version": AGP_VERSION,
            "gradle_version": GRADLE_VERSION,
            "agp_min_gradle": agp_requirements(AGP_VERSION)[0],
            "min_jdk": MIN_JDK,
            "max_jdk": MAX_JDK,
            "kotlin_version": KOTLIN_VERSION,
            "kotlin_api_version": KOTLIN_API_VERSION,
            "jvm_target": JVM_TARGET,
            "executorch_abi_list": ", ".join(EXECUTORCH_ABIS),
            "kotlin_stdlib_version": OLDEST_KOTLIN_CONSUMER,
            "kotlin_module_name": module_name(*self.maven_coordinates[:2]),
            "executorch_version": EXECUTORCH_VERSION,
            "executorch_abis": ", ".join(f'"{abi}"' for abi in EXECUTORCH_ABIS),
            "androidx_annotation_version": ANDROIDX_ANNOTATION_VERSION,
            "mnv3_sdk_version": __version__,
            "benchmark_result": BENCHMARK_RESULT,
            "benchmark_log_tag": BENCHMARK_LOG_TAG,
            "maven_group": self.maven_coordinates[0],
            "maven_artifact": self.maven_coordinates[1],
            "maven_version": self.maven_coordinates[2],
        }


def validate_package(package: str) -> str:
    segments = package.split(".")
    if len(segments) < 2:
        raise SdkError(f"package {package!r} needs at least two segments, e.g. com.example.mnv3")
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise SdkError(
                f"package {package!r}: segment {segment!r} must be lowercase letters, digits or '_', "
                "starting with a letter"
            )
        if segment in _RESERVED:
            raise SdkError(f"package {package!r}: {segment!r} is a Java/Kotlin keyword")
    return package


def validate_class_name(name: str) -> str:
    if not _CLASS.match(name) or name in _RESERVED:
        raise SdkError(f"class name {name!r} must be a Kotlin class name such as MobileNetV3Classifier")
    return name


def render_project(settings: AndroidSettings, out_dir: Path, committed_demo: bool = False) -> list[Path]:
    """Render the Gradle project into ``out_dir``; returns the written files, sorted.

    ``committed_demo``: the copy committed as ``android-demo/``, whose README says how to add the
    model git does not keep (``make android-demo-model``).

    Kotlin that does not depend on the model is kept as plain ``.kt`` files in the package
    ``SOURCE_PACKAGE`` (``templates/*/src/main/kotlin/com/example/mnv3/``), which IDEs, linters and
    kotlinc read as they are; they are copied into the library's package with their ``package`` and
    ``import`` lines retargeted (``retarget_package``). Only ``.j2`` files are rendered with Jinja.
    """
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    values = {**settings.template_values(), "committed_demo": committed_demo}
    package_path = settings.package.replace(".", "/")
    layout = {
        "project": "",
        "library": f"{LIBRARY_MODULE}/",
        "demo": "demo/",
    }
    # src/<source set>/kotlin/com/example/mnv3/... → src/<source set>/kotlin/<package path>/...
    source_root = re.compile(rf"^(src/\w+/kotlin/){re.escape(SOURCE_PACKAGE.replace('.', '/'))}/")
    written: list[Path] = []
    root = templates_dir()
    for part, prefix in layout.items():
        for relative, template in _walk(root / part, ""):
            target = relative.removesuffix(".j2").replace("__ClassName__", settings.class_name)
            target = source_root.sub(rf"\g<1>{package_path}/", target)
            path = out_dir / (prefix + target)
            path.parent.mkdir(parents=True, exist_ok=True)
            if relative.endswith(".j2"):
                text = environment.from_string(template.read_text(encoding="utf-8")).render(values)
                path.write_text(text, encoding="utf-8")
            elif relative.endswith(".kt"):
                path.write_text(retarget_package(template.read_text(encoding="utf-8"), settings.package, relative),
                                encoding="utf-8")
            else:
                path.write_bytes(template.read_bytes())
            written.append(path)
    return sorted(written)


_SOURCE_PACKAGE_LINE = re.compile(rf"^(package|import) {re.escape(SOURCE_PACKAGE)}(?=[.\s])", re.MULTILINE)


def retarget_package(text: str, package: str, name: str = "source") -> str:
    """A plain source of ``SOURCE_PACKAGE`` (or a subpackage such as ``.demo``) moved to ``package``.

    Only ``package`` and ``import`` lines name the package; anything else naming it would be left
    pointing at the default library, so it is refused (a bug in the templates, caught by every build).
    """
    moved = _SOURCE_PACKAGE_LINE.sub(rf"\1 {package}", text)
    if SOURCE_PACKAGE in _SOURCE_PACKAGE_LINE.sub("", text):
        raise SdkError(f"template {name} names {SOURCE_PACKAGE} outside its package and import lines")
    return moved


def _walk(folder: Traversable, prefix: str):
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.startswith((".", "__pycache__")) or entry.name == "__init__.py":
            continue
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry


def default_demo_settings() -> AndroidSettings:
    """What README command 1 builds (Small, int8): the project committed in android-demo/."""
    return AndroidSettings(DEFAULT_PACKAGE, DEFAULT_CLASS_NAME, "mnv3-small-int8.pte", "mobilenet_v3_small", "int8")
