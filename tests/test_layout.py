"""The package's layering: each stage imports only from the stages before it (docs/architecture.md).

Read from the source with ``ast`` (imports inside functions included), so a lazy import that
reaches back up the pipeline fails here as surely as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mnv3_sdk

PACKAGE = Path(mnv3_sdk.__file__).parent
# Top to bottom: what a package may import from is everything listed before it.
# "base" is the package's own top-level modules (errors, versions, cache, hostinfo, options, progress,
# resources); the entry points (api, cli) sit on top of everything. The package's __init__ is its
# public face: it hands out the api's functions (lazily), so it is not a layer of its own.
ORDER = ["base", "network", "imaging", "pte", "native", "export", "verify", "android", "pipeline", "bench", "profile",
         "entry points"]


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "mnv3_sdk":
        raise ValueError(module)
    if len(parts) == 1:
        return "base"
    if parts[1] in ORDER:
        return parts[1]
    return "entry points" if parts[1] in ("api", "cli", "__main__") else "base"


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mnv3_sdk"):
            for alias in node.names:
                # "from mnv3_sdk import hostinfo" imports mnv3_sdk.hostinfo; deeper "from" lines name their package.
                found.append((node.lineno, node.module if node.module.count(".") else f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("mnv3_sdk")]
    return found


def test_every_import_points_up_the_pipeline():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        if module == "mnv3_sdk" or module.startswith(("mnv3_sdk.templates", "mnv3_sdk.models")):
            continue
        here = ORDER.index(layer_of(module))
        for line, target in imports_of(path):
            there = ORDER.index(layer_of(target))
            if there > here:
                upward.append(f"{relative}:{line} imports {target}")
    assert not upward, "imports that reach down the pipeline (see docs/architecture.md, Layout):\n" + "\n".join(upward)


def test_the_layer_list_names_every_subpackage():
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")} - {"templates", "models"}
    assert subpackages <= set(ORDER), subpackages - set(ORDER)


# A function longer than a screen mixes what should be named steps (issue 25): split it by what
# it does instead of raising this.
MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
