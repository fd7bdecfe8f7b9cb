"""``mnv3-sdk bench``: measure, then report (JSON, Markdown, PNG) and compare with a baseline."""

from __future__ import annotations

import json
import os
import platform
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnv3_sdk import hostinfo as host
from mnv3_sdk.bench import instructions
from mnv3_sdk.bench import report as bench_report
from mnv3_sdk.bench.adb import Adb, find_adb, server_in_use
from mnv3_sdk.bench.config import BenchConfig, GradleProject
from mnv3_sdk.bench.device import DeviceFailure, choose_devices, on_devices, run_device
from mnv3_sdk.bench.host import CaseResult, run_host
from mnv3_sdk.bench.instructions import InstructionCount, count_instructions
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native import build_runner
from mnv3_sdk.pte.metadata import Metadata, read_from_pte
from mnv3_sdk.versions import tool_versions


@dataclass(frozen=True)
class BenchOutcome:
    """What was measured (typed), the regressions against a baseline, and what was written:
    ``report`` is bench.json's content, ``markdown`` bench.md's. ``counts`` holds the emulated
    instruction counts of ``--arch arm64`` (then ``cases`` is empty)."""

    cases: list[CaseResult]
    failures: list[DeviceFailure]
    regressions: list[bench_report.Regression]
    report: dict[str, Any]
    markdown: str
    counts: list[InstructionCount] = field(default_factory=list)


def run_bench(config: BenchConfig, command: str) -> BenchOutcome:
    """Measure ``config``'s models on this host, over adb, or count their instructions on arm64
    under qemu; write bench.json, .md and .png.

    ``command`` is recorded in bench.json: the CLI passes the command line it was given.
    """
    settings = config.host
    context: dict[str, Any] = {
        "command": command,
        "versions": tool_versions(),
        "settings": {"threads": settings.threads, "warmup": settings.warmup,
                     "iterations": settings.iterations, "min_seconds": settings.min_seconds},
        "adb": config.adb,
        "devices": [],
    }
    cases: list[CaseResult] = []
    failures: list[DeviceFailure] = []
    counts: list[InstructionCount] = []
    if config.arch == "arm64":
        counts = _count_on_arm64(config, context)
    elif config.adb:
        cases, failures = _run_on_devices(config, context)
    else:
        cases = _run_on_host(config, context)
    context["failures"] = [failure.as_dict() for failure in failures]
    report, markdown = _write_outputs(config, cases, counts, context)
    found = (bench_report.regressions(report, config.baseline, config.max_regression)
             if config.baseline is not None else [])
    return BenchOutcome(cases, failures, found, report, markdown, counts)


def _run_on_host(config: BenchConfig, context: dict[str, Any]) -> list[CaseResult]:
    facts = host.describe()
    context["devices"] = [{"serial": "host", "machine": facts["machine"], "processor": facts["processor"],
                           "cores": os.cpu_count(), "python": platform.python_version()}]
    return run_host(config.model_paths, config.host, "host")


def _count_on_arm64(config: BenchConfig, context: dict[str, Any]) -> list[InstructionCount]:
    """Emulated instructions per inference on each CPU model (bench/instructions.py): one thread."""
    metadata = {model: read_from_pte(model) for model in config.model_paths}
    context["settings"] = {"arch": "arm64", "cpu_models": list(config.cpu_model_list), "threads": 1,
                           "warmup": instructions.WARMUP, "counted": instructions.COUNTED}
    context["devices"] = [instructions.emulator_facts()]
    return count_instructions(config.model_paths, metadata, config.cpu_model_list)


def _run_on_devices(config: BenchConfig, context: dict[str, Any]) -> tuple[list[CaseResult], list[DeviceFailure]]:
    """Every chosen device in parallel; a device that fails is reported, the others go on."""
    device_settings = config.device
    assert device_settings is not None
    if config.gradle_project is not None:
        device_settings = replace(device_settings, apk=build_demo_apk(config.gradle_project))
    if device_settings.mode == "runner" and device_settings.runner is None:
        device_settings = replace(device_settings, runner_folder=build_runner("arm64").folder)
    metadata = {model: read_from_pte(model) for model in config.model_paths}
    adb = Adb(find_adb(), server=device_settings.server, interrupted=threading.Event())
    context["adb_server"] = server_in_use(device_settings.server)
    serials = choose_devices(adb, config.serial, config.all_devices)
    context["settings"]["mode"] = device_settings.mode
    if device_settings.frame:
        context["settings"]["frame"] = "{}x{}".format(*device_settings.frame)
        context["settings"]["frame_format"] = device_settings.frame_format

    def one_device(device_adb: Adb) -> tuple[dict[str, Any], list[CaseResult]]:
        return run_device(device_adb, config.model_paths, metadata, device_settings)

    cases: list[CaseResult] = []
    failures: list[DeviceFailure] = []
    for outcome, failure in on_devices(adb, serials, one_device, "benchmarking"):
        if outcome is not None:
            facts, results = outcome
            context["devices"].append(facts)
            cases += results
        if failure:
            failures.append(failure)
    return cases, failures


def _write_outputs(config: BenchConfig, cases: list[CaseResult], counts: list[InstructionCount],
                   context: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """bench.json, bench.md and (with results) bench.png; returns the report and the Markdown."""
    report = bench_report.build_report(cases, context, counts)
    markdown = bench_report.to_markdown(report, counts)
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    config.markdown_path.write_text(markdown, encoding="utf-8")
    if cases:
        bench_report.write_plot(report, config.plot_path)
    if counts:
        instructions.write_plot(counts, config.plot_path)
    return report, markdown


def build_demo_apk(project: GradleProject) -> Path:
    """Build the demo APK with the generated Gradle project (needs Google's Maven for the Android
    Gradle Plugin, so it cannot run on this project's CI)."""
    import subprocess

    result = subprocess.run([str(project.gradle), "-p", str(project.folder), ":demo:assembleDebug"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SdkError(f"building the demo APK with Gradle failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    apk = project.folder / "demo" / "build" / "outputs" / "apk" / "debug" / "demo-debug.apk"
    if not apk.is_file():
        raise SdkError(f"Gradle built the demo but {apk} is missing: pass --apk PATH")
    return apk
