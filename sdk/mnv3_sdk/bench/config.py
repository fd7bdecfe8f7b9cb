"""Every bench option, with its default, validated on construction before anything is measured."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path


from mnv3_sdk import hostinfo, options
from mnv3_sdk.options import option
from mnv3_sdk.bench.adb import parse_server
from mnv3_sdk.bench.device import FRAME_FORMATS, DeviceSettings
from mnv3_sdk.bench.host import HostSettings, resolve_models
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native import ARCHES, DEFAULT_CPU_MODELS, arch_cpu_models

# A 200-megapixel sensor's frame is 16384 pixels wide; anything larger is a typo.
MAX_FRAME_SIDE = 16384


@dataclass(frozen=True)
class GradleProject:
    """A generated android/ project that this machine can build the demo APK from (Gradle + SDK found)."""

    folder: Path
    gradle: Path


@dataclass(frozen=True)
class BenchConfig:
    """The one declaration of ``bench``'s options: the CLI's options are made from these fields
    (default, help, flag: ``options.option``) and ``mnv3_sdk.benchmark(**options)`` takes them as
    keywords.

    Construction validates (``SdkError`` naming the CLI flag) and derives the settings the
    measuring code takes (``model_paths``, ``host``, ``device``); it never runs Gradle: an APK
    that must be built first is built when the run starts (``gradle_project``).
    """

    models: tuple[Path, ...] = ()  # .pte files or build folders; none: every build under dist/
    # "arm64": count guest instructions per inference under qemu-aarch64 instead of timing
    # (bench/instructions.py), on each of cpu_models.
    arch: str = option(
        "host", "arm64: instead of timing, count the guest instructions per inference of ExecuTorch's arm64 kernels "
        "under qemu-aarch64, per --cpu-models entry (emulated, deterministic: not time).", choices=ARCHES)
    cpu_models: str = option(
        ",".join(DEFAULT_CPU_MODELS), "With --arch arm64: qemu CPU models, comma-separated (cortex-a53: no dot "
        "product; neoverse-n1: dot product and fp16 arithmetic).")
    adb: bool = option(False, "Run on Android devices over adb instead of this host.")
    adb_server: str | None = option(
        None, "adb: use the adb server at HOST:PORT (a device lab's `adb -a server`), as adb -H HOST -P PORT; "
        "default: as adb chooses ($ADB_SERVER_SOCKET, $ANDROID_ADB_SERVER_ADDRESS/PORT, else local).",
        metavar="HOST:PORT")
    serial: str | None = option(None, "adb: the device to use when several are connected.")
    all_devices: bool = option(False, "adb: run on every connected device, in parallel.")
    # None: app with an APK, else runner
    mode: str | None = option(
        None, "adb: in-app BenchmarkActivity (needs --apk) or a runner binary: --runner PATH, or mnv3-sdk's own arm64 "
        "runner pushed with its libraries (the default without an APK).",
        choices=("app", "runner"))
    runner: Path | None = option(
        None, "adb runner mode: an executor_runner binary built for the device's ABI (default: mnv3-sdk's own arm64 "
        "runner).")
    apk: Path | None = option(None, "adb app mode: the demo app's APK (built from the generated Gradle project).")
    app_package: str | None = option(None, "adb app mode: the demo app's id (default: from the build's report).")
    pin_big_cores: bool = option(False, "adb runner mode: taskset the runner to the fastest cores.")
    frame: str | None = option(
        None, "adb app mode: classify synthetic WxH frames end to end and report preprocessing and inference apart "
        "(e.g. 1920x1080).", metavar="WxH")
    frame_format: str | None = option(
        None, "With --frame: classify ARGB_8888 pixels (argb, default) or YUV_420_888 camera frames as an "
        "ImageReader delivers them (yuv: NV21-like chroma, rotated 90°).", choices=tuple(FRAME_FORMATS))
    threads: str = option("1,2", "Thread counts, comma-separated.")
    warmup: int = option(5, "Untimed runs before measuring.")
    iterations: int = option(50, "Measured runs, at least.")
    min_seconds: float = option(1.0, "Keep measuring until this much time was spent too (MLPerf-style).")
    mlperf: bool = option(False, "MLPerf Mobile's minimum: at least 1024 queries and 60 s per case.")
    cooldown: float = option(
        0.0, "adb: wait up to S seconds for normal thermal status before each run.", show_default=False)
    app_timeout: float | None = option(
        None, "adb app mode: seconds to wait for each in-app result (default: 60, or 2 s per iteration).",
        name="--timeout")
    eager: bool = option(False, "Host: also time eager PyTorch for the same weights.")
    json_path: Path = option(Path("bench.json"), "Where to write the results as JSON.", name="--json")
    markdown_path: Path = option(Path("bench.md"), "Where to write the results as Markdown.", name="--markdown")
    plot_path: Path = option(Path("bench.png"), "Where to draw the latency chart.", name="--plot")
    baseline: Path | None = option(None, "An earlier bench.json to compare with.")
    max_regression: float = option(
        10.0, "With --baseline: fail when a p50 (with --arch arm64: an instruction count) grew by more than this "
        "many percent.")
    model_paths: list[Path] = field(init=False)
    cpu_model_list: tuple[str, ...] = field(init=False)  # arm64: the parsed cpu_models
    host: HostSettings = field(init=False)
    device: DeviceSettings | None = field(init=False)
    gradle_project: GradleProject | None = field(init=False)

    def __post_init__(self) -> None:
        options.normalize_option_types(self)
        object.__setattr__(self, "models", tuple(Path(model) for model in self.models))
        object.__setattr__(self, "model_paths", resolve_models(list(self.models)))
        object.__setattr__(self, "cpu_model_list", _check_arch(self))
        host, device, gradle_project = _settings(self)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "gradle_project", gradle_project)



def _check_arch(config: BenchConfig) -> tuple[str, ...]:
    """--arch arm64 counts instructions under qemu on this host: no device, no eager PyTorch."""
    if config.arch == "arm64" and (config.adb or config.eager or config.mlperf):
        raise SdkError("--arch arm64 counts emulated instructions on this host: it takes no --adb, --eager or --mlperf "
                       "(bench --adb times a real arm64 phone)")
    return arch_cpu_models(config.arch, config.cpu_models, "--arch arm64")


def _settings(config: BenchConfig) -> tuple[HostSettings, DeviceSettings | None, GradleProject | None]:
    threads = config.threads
    try:
        thread_counts = [int(value) for value in threads.split(",") if value.strip()]
    except ValueError:
        raise SdkError(f"--threads takes comma-separated whole numbers, e.g. 1,2,4 (got {threads!r})") from None
    if not thread_counts or min(thread_counts) < 1:
        raise SdkError(f"--threads needs positive thread counts (got {threads!r})")
    iterations, min_seconds = config.iterations, config.min_seconds
    if config.warmup < 0 or iterations < 1 or min_seconds < 0:
        raise SdkError("--warmup must be ≥ 0, --iterations ≥ 1 and --min-seconds ≥ 0")
    if config.mlperf:
        iterations, min_seconds = max(iterations, 1024), max(min_seconds, 60.0)
    host_settings = HostSettings(thread_counts, config.warmup, iterations, min_seconds, config.eager)
    frame_size = parse_frame(config.frame) if config.frame is not None else None
    frame_format = config.frame_format
    if frame_format is not None and frame_format not in FRAME_FORMATS:
        raise SdkError(f"--frame-format takes {' or '.join(FRAME_FORMATS)} (got {frame_format!r})")
    mode, runner, apk = config.mode, config.runner, config.apk
    if not config.adb:
        if (config.serial or config.all_devices or mode or runner or apk or config.frame or frame_format
                or config.adb_server):
            raise SdkError("--serial, --all-devices, --adb-server, --mode, --runner, --apk, --frame and --frame-format "
                           "only apply with --adb")
        return host_settings, None, None
    if frame_format is not None and frame_size is None:
        raise SdkError("--frame-format needs --frame WxH: it says which frames are classified end to end")
    gradle_project = None
    if apk is None and runner is None and mode != "runner":
        gradle_project = find_gradle_project(config.model_paths)  # only where Gradle and an Android SDK exist
    if mode is None:
        # Without an app to install, mnv3-sdk's own arm64 runner times the model (pushed with its libraries).
        mode = "app" if apk or gradle_project else "runner"
    if mode == "app" and gradle_project is None and (apk is None or not apk.is_file()):
        raise SdkError(f"--mode app needs the demo APK: --apk PATH ({apk} not found)" if apk else
                       "--mode app needs the demo APK: --apk PATH")
    if frame_size and mode != "app":
        raise SdkError("--frame needs app mode (--apk): the runners time the forward pass only")
    if mode == "runner" and runner is not None and not runner.is_file():
        raise SdkError(f"--runner {runner}: no such file (give an executor_runner built for the device, or leave "
                       "--runner out to use mnv3-sdk's own arm64 runner)")
    package = config.app_package or app_package_for(config.model_paths)
    if mode == "app" and package is None:
        raise SdkError("cannot tell the demo app's id: pass --app-package (e.g. com.example.mnv3.demo)")
    device = DeviceSettings(mode, thread_counts, config.warmup, iterations, config.cooldown, runner, apk, package,
                            config.pin_big_cores, app_timeout=config.app_timeout or max(60.0, iterations * 2.0),
                            frame=frame_size, frame_format=frame_format or "argb",
                            server=parse_server(config.adb_server) if config.adb_server is not None else None)
    return host_settings, device, gradle_project


def parse_frame(text: str) -> tuple[int, int]:
    """"1920x1080" → (1920, 1080)."""
    width, separator, height = text.lower().partition("x")
    if not separator or not width.isdigit() or not height.isdigit():
        raise SdkError(f"--frame takes WIDTHxHEIGHT in pixels, e.g. 1920x1080 (got {text!r})")
    if not (1 <= int(width) <= MAX_FRAME_SIDE and 1 <= int(height) <= MAX_FRAME_SIDE):
        raise SdkError(f"--frame sides must be 1 to {MAX_FRAME_SIDE} pixels (got {text!r})")
    return int(width), int(height)


def app_package_for(models: list[Path]) -> str | None:
    """The demo app's id from the build's report (``<package>.demo``)."""
    for model in models:
        report = model.parent / "report.json"
        if report.is_file():
            android = json.loads(report.read_text(encoding="utf-8")).get("android") or {}
            if android.get("package"):
                return f"{android['package']}.demo"
    return None


def find_gradle_project(models: list[Path]) -> GradleProject | None:
    """The first build's android/ project, when Gradle and an Android SDK are installed to build it."""
    if not hostinfo.android_sdk_roots():
        return None
    for model in models:
        folder = model.parent / "android"
        gradle = folder / "gradlew" if (folder / "gradlew").is_file() else shutil.which("gradle")
        if gradle is not None and (folder / "settings.gradle.kts").is_file():
            return GradleProject(folder, Path(gradle))
    return None
