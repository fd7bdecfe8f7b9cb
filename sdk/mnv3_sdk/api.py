"""The library's entry points, for notebooks and scripts: what the CLI's commands do, as calls.

    import mnv3_sdk

    result = mnv3_sdk.build_sdk(variant="small", quant="int8", weights="random", out_dir="dist/small-int8")
    print(result.pte_path, result.gate.reason, result.timings)
    outcome = mnv3_sdk.benchmark(result.out_dir, threads="1,2")
    print(mnv3_sdk.inspect_model(result.pte_path).input)
    checked = mnv3_sdk.verify_model(result.pte_path, "photos/val", weights="random")
    print(checked.accuracy.pte_top1, checked.gate)
    profiled = mnv3_sdk.profile_model(result.pte_path, runs=20)
    print(profiled.summary(), profiled.tables.modules[0])

Options are keyword arguments named as the CLI's flags with underscores (``--calibration-dir`` →
``calibration_dir``; ``--no-aar`` → ``build_aar=False``), with the CLI's defaults: one
declaration each, ``BuildConfig``, ``BenchConfig`` and ``ProfileConfig``. Every problem is an ``SdkError`` with the
CLI's one-line message; a model the accuracy gate refuses raises its subclass ``GateFailed``,
which carries the gate's figures (``.gate``) and where the reports were left (``.rejected``).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from mnv3_sdk.bench.config import BenchConfig
from mnv3_sdk.bench.run import BenchOutcome, run_bench
from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.pipeline.stages import run_build
from mnv3_sdk.pipeline.state import BuildResult
from mnv3_sdk.errors import SdkError
from mnv3_sdk.profile.config import ProfileConfig
from mnv3_sdk.profile.report import ProfileResult
from mnv3_sdk.profile.run import run_profile
from mnv3_sdk.progress import Progress, no_progress
from mnv3_sdk.pte.metadata import Metadata, read_from_pte
from mnv3_sdk.verify.existing import VerifyResult, verify_existing
from mnv3_sdk.verify.metrics import DEFAULT_MIN_ACCURACY_RATIO


def build_sdk(*, progress: Progress = no_progress, **options: Any) -> BuildResult:
    """Export, verify and package a MobileNetV3, as ``mnv3-sdk build`` does.

    ``options``: the fields of ``BuildConfig``. ``progress`` wraps each long loop (e.g. with tqdm).
    Returns the published folder and files, what the stages found (metadata, gate, agreement,
    accuracy, warnings, timings) and report.json's content.
    """
    return run_build(_config(BuildConfig, options), progress)


def benchmark(*models: str | Path, **options: Any) -> BenchOutcome:
    """Measure latency as ``mnv3-sdk bench`` does, of .pte files or build folders (none: every
    build under dist/). ``options``: the fields of ``BenchConfig``. Writes bench.json/.md/.png
    (``json_path``…) and returns the cases measured, the devices that failed and any regressions
    over ``baseline`` (typed), with bench.json's content and bench.md's text."""
    config = _config(BenchConfig, {"models": models, **options})
    arguments = [repr(str(model)) for model in models] + [f"{name}={value!r}" for name, value in options.items()]
    return run_bench(config, command=f"mnv3_sdk.benchmark({', '.join(arguments)})")


def profile_model(model: str | Path, **options: Any) -> ProfileResult:
    """Time each operator of a .pte on this host (or, with ``adb=True``, on an Android phone over adb,
    as ``profile --adb``) and name the module it ran for, as ``mnv3-sdk profile`` does. ``options``:
    the fields of ``ProfileConfig`` (threads, runs, depth, top, adb, serial, the output paths). Writes profile.json/.md/.png and the raw .etdp, and returns the typed tables
    (``result.tables.modules``, most expensive first; ``result.summary()``)."""
    config = _config(ProfileConfig, {"model": model, **options})
    if config.arch != "host":
        raise SdkError("profile_model profiles on this host; profile_model_arm64 counts instructions under qemu")
    return run_profile(config)[0]


def profile_model_arm64(model: str | Path, **options: Any) -> list[ProfileResult]:
    """Count the guest instructions of each operator of a .pte under qemu-aarch64, one result per
    CPU model (``cpu_models``, default cortex-a53 and neoverse-n1), as ``mnv3-sdk profile --arch
    arm64`` does: the same tables as ``profile_model``, in instructions (``tables.unit``), not time."""
    return run_profile(_config(ProfileConfig, {"model": model, **options, "arch": "arm64"}))


def inspect_model(path: str | Path) -> Metadata:
    """The metadata embedded in a .pte (what ``mnv3-sdk info`` prints), typed, from the file alone."""
    return read_from_pte(Path(path))


def verify_model(
    model: str | Path, val_dir: str | Path, *, weights: str | None = None,
    min_accuracy_ratio: float = DEFAULT_MIN_ACCURACY_RATIO, progress: Progress = no_progress,
) -> VerifyResult:
    """Score an existing .pte on a labelled folder, as ``mnv3-sdk verify`` does: top-1/top-5, and
    with ``weights`` (imagenet, random or a state dict path) the eager model's too, agreement on
    the verification inputs and the gate. Returns the result whether the gate passed or not
    (``result.check_gate()`` raises ``GateFailed`` as the CLI does)."""
    return verify_existing(Path(model), Path(val_dir), weights, min_accuracy_ratio, progress)


def _config(kind: type, options: dict[str, Any]) -> Any:
    accepted = [option.name for option in fields(kind) if option.init]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SdkError(f"unknown option {unknown[0]!r}; the options are: {', '.join(accepted)}")
    return kind(**options)
