"""``mnv3-sdk bench``: measure, then report (JSON, Markdown, PNG) and compare with a baseline."""

from __future__ import annotations

import json
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnv3_sdk import hostinfo as host
from mnv3_sdk.bench import report as bench_report
from mnv3_sdk.bench.adb import Adb, AdbError, find_adb
from mnv3_sdk.bench.device import DeviceSettings, choose_devices, run_device
from mnv3_sdk.bench.host import CaseResult, HostSettings, run_host
from mnv3_sdk.errors import SdkError
from mnv3_sdk.pte.metadata import read_from_pte
from mnv3_sdk.versions import tool_versions


@dataclass(frozen=True)
class BenchOutputs:
    json_path: Path
    markdown_path: Path
    plot_path: Path


@dataclass(frozen=True)
class BenchOutcome:
    report: dict[str, Any]
    markdown: str
    regressions: list[bench_report.Regression]


def app_package_for(models: list[Path]) -> str | None:
    """The demo app's id from the build's report (``<package>.demo``)."""
    for model in models:
        report = model.parent / "report.json"
        if report.is_file():
            android = json.loads(report.read_text(encoding="utf-8")).get("android") or {}
            if android.get("package"):
                return f"{android['package']}.demo"
    return None


def make_bench_settings(
    models: list[Path], *, use_adb: bool, serial: str | None, all_devices: bool, mode: str | None,
    runner: Path | None, apk: Path | None, app_package: str | None, pin_big_cores: bool, threads: str,
    warmup: int, iterations: int, min_seconds: float, mlperf: bool, cooldown: float, app_timeout: float | None,
    eager: bool, frame: str | None = None,
) -> tuple[HostSettings, DeviceSettings | None]:
    """Validate the bench options (before anything is measured) into settings."""
    try:
        thread_counts = [int(value) for value in threads.split(",") if value.strip()]
    except ValueError:
        raise SdkError(f"--threads takes comma-separated whole numbers, e.g. 1,2,4 (got {threads!r})") from None
    if not thread_counts or min(thread_counts) < 1:
        raise SdkError(f"--threads needs positive thread counts (got {threads!r})")
    if warmup < 0 or iterations < 1 or min_seconds < 0:
        raise SdkError("--warmup must be ≥ 0, --iterations ≥ 1 and --min-seconds ≥ 0")
    if mlperf:
        iterations, min_seconds = max(iterations, 1024), max(min_seconds, 60.0)
    host_settings = HostSettings(thread_counts, warmup, iterations, min_seconds, eager)
    frame_size = parse_frame(frame) if frame is not None else None
    if not use_adb:
        if serial or all_devices or mode or runner or apk or frame:
            raise SdkError("--serial, --all-devices, --mode, --runner, --apk and --frame only apply with --adb")
        return host_settings, None
    if apk is None and runner is None and mode != "runner":
        apk = build_demo_apk(models)  # only where Gradle and an Android SDK are installed
    if mode is None:
        mode = "app" if apk else ("runner" if runner else None)
    if mode is None:
        raise SdkError("--adb needs a way to run the model: --apk DEMO.apk (in-app timing, built from the "
                       "generated android/ project) or --runner executor_runner (ExecuTorch's runner binary)")
    if mode == "app" and (apk is None or not apk.is_file()):
        raise SdkError(f"--mode app needs the demo APK: --apk PATH ({apk} not found)" if apk else
                       "--mode app needs the demo APK: --apk PATH")
    if frame_size and mode != "app":
        raise SdkError("--frame needs app mode (--apk): executor_runner times the forward pass only")
    if mode == "runner" and (runner is None or not runner.is_file()):
        raise SdkError("--mode runner needs an executor_runner binary for the device: --runner PATH")
    package = app_package or app_package_for(models)
    if mode == "app" and package is None:
        raise SdkError("cannot tell the demo app's id: pass --app-package (e.g. com.example.mnv3.demo)")
    return host_settings, DeviceSettings(mode, thread_counts, warmup, iterations, cooldown, runner, apk, package,
                                         pin_big_cores, app_timeout=app_timeout or max(60.0, iterations * 2.0),
                                         frame=frame_size)


# A 200-megapixel sensor's frame is 16384 pixels wide; anything larger is a typo.
MAX_FRAME_SIDE = 16384


def parse_frame(text: str) -> tuple[int, int]:
    """"1920x1080" → (1920, 1080)."""
    width, separator, height = text.lower().partition("x")
    if not separator or not width.isdigit() or not height.isdigit():
        raise SdkError(f"--frame takes WIDTHxHEIGHT in pixels, e.g. 1920x1080 (got {text!r})")
    if not (1 <= int(width) <= MAX_FRAME_SIDE and 1 <= int(height) <= MAX_FRAME_SIDE):
        raise SdkError(f"--frame sides must be 1 to {MAX_FRAME_SIDE} pixels (got {text!r})")
    return int(width), int(height)


def run_bench(command: str, models: list[Path], use_adb: bool, host_settings: HostSettings, device_settings: DeviceSettings | None,
              serial: str | None, all_devices: bool, outputs: BenchOutputs,
              baseline: Path | None, max_regression: float) -> BenchOutcome:
    metadata = {model: read_from_pte(model) for model in models}
    context: dict[str, Any] = {
        "command": command,
        "versions": tool_versions(),
        "settings": {"threads": host_settings.threads, "warmup": host_settings.warmup,
                     "iterations": host_settings.iterations, "min_seconds": host_settings.min_seconds},
        "adb": use_adb,
        "devices": [],
        "failures": [],
    }
    cases: list[CaseResult] = []
    if not use_adb:
        facts = host.describe()
        context["devices"] = [{"serial": "host", "machine": facts["machine"], "processor": facts["processor"],
                               "cores": os.cpu_count(), "python": platform.python_version()}]
        cases = run_host(models, host_settings, "host")
    else:
        assert device_settings is not None
        adb = Adb(find_adb())
        serials = choose_devices(adb, serial, all_devices)
        context["settings"]["mode"] = device_settings.mode
        if device_settings.frame:
            context["settings"]["frame"] = "{}x{}".format(*device_settings.frame)

        def one_device(device: str) -> tuple[dict[str, Any] | None, list[CaseResult], dict[str, str] | None]:
            try:
                facts, results = run_device(adb.for_device(device), models, metadata, device_settings)
                return facts, results, None
            except AdbError as error:
                return None, [], {"device": device, "step": error.step, "error": str(error)}
            except SdkError as error:
                return None, [], {"device": device, "step": "benchmarking", "error": str(error)}

        with ThreadPoolExecutor(max_workers=len(serials)) as pool:
            for facts, results, failure in pool.map(one_device, serials):
                if facts:
                    context["devices"].append(facts)
                if failure:
                    context["failures"].append(failure)
                cases += results
    report = bench_report.build_report(cases, context)
    markdown = bench_report.to_markdown(report)
    outputs.json_path.parent.mkdir(parents=True, exist_ok=True)
    outputs.json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    outputs.markdown_path.write_text(markdown, encoding="utf-8")
    if cases:
        bench_report.write_plot(report, outputs.plot_path)
    found = bench_report.regressions(report, baseline, max_regression) if baseline is not None else []
    return BenchOutcome(report, markdown, found)


def build_demo_apk(models: list[Path]) -> Path | None:
    """Build the demo APK with the generated Gradle project when Gradle and an Android SDK exist.

    Returns None when either is missing (the caller then asks for --apk). This path needs
    Google's Maven for the Android Gradle Plugin, so it cannot run on this project's CI.
    """
    import shutil
    import subprocess

    has_sdk = bool(host.android_sdk_roots())
    for model in models:
        project = model.parent / "android"
        gradle = project / "gradlew" if (project / "gradlew").is_file() else shutil.which("gradle")
        if not has_sdk or gradle is None or not (project / "settings.gradle.kts").is_file():
            continue
        result = subprocess.run([str(gradle), "-p", str(project), ":demo:assembleDebug"], capture_output=True, text=True)
        if result.returncode != 0:
            raise SdkError(f"building the demo APK with Gradle failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
        apk = project / "demo" / "build" / "outputs" / "apk" / "debug" / "demo-debug.apk"
        if apk.is_file():
            return apk
    return None
