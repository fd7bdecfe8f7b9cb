"""A plain (non-editable) install carries every file the CLI needs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_non_editable_install_builds_a_model_outside_the_repo(tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(REPO)],
        check=True, cwd=tmp_path,
    )
    assert (site / "mnv3_sdk" / "models" / "imagenet_labels.txt").is_file()
    assert (site / "mnv3_sdk" / "native" / "runner.cpp").is_file()  # compiled on first use
    assert (site / "mnv3_sdk" / "native" / "plugin.c").is_file()
    # The version is written once, in mnv3_sdk.__version__; the wheel's metadata reads it from there.
    [dist_info] = site.glob("mnv3_sdk-*.dist-info")
    version = next(line for line in (dist_info / "METADATA").read_text().splitlines() if line.startswith("Version:"))
    source = (REPO / "sdk" / "mnv3_sdk" / "__init__.py").read_text()
    assert f'__version__ = "{version.split()[1]}"' in source
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import mnv3_sdk; print(mnv3_sdk.__file__)"],
        check=True, cwd=tmp_path, env=env, capture_output=True, text=True,
    ).stdout.strip()
    assert where.startswith(str(site)), where  # the installed copy, not the source tree
    result = subprocess.run(
        # At 64 px: every stage runs (the AAR from the packaged templates, the arm64 step compiling
        # the packaged runner.cpp), at a fraction of the default 224 px build's time under qemu.
        [sys.executable, "-m", "mnv3_sdk", "build", "--variant", "small", "--weights", "random",
         "--input-size", "64", "--out", "dist/smoke", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["gate"]["passed"]
    metadata = json.loads((tmp_path / "dist" / "smoke" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["labels"][:2] == ["tench", "goldfish"]
