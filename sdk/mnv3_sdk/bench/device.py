"""On-device benchmarks over adb: device facts, runner mode (executor_runner), app mode (BenchmarkActivity)."""

from __future__ import annotations

import json
import re
import shlex
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from mnv3_sdk.android.project import BENCHMARK_LOG_TAG, BENCHMARK_RESULT
from mnv3_sdk.bench.adb import Adb, AdbError
from mnv3_sdk.bench.host import CaseResult, summary_of_metadata
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native import parse_output
from mnv3_sdk.pte.metadata import Metadata
from mnv3_sdk.versions import MIN_SDK

REMOTE_DIR = "/data/local/tmp/mnv3-sdk"
# mnv3-sdk's arm64 runner folder (mnv3_sdk.native: the runner, the wheel's libraries, glibc's loader
# and libraries) is pushed here, inside REMOTE_DIR, and run through that loader: Android has bionic,
# not glibc, so the folder brings its own C library and the loader finds it with --library-path.
REMOTE_RUNNER = "runner-arm64"
RUNNER_ABI = "arm64-v8a"
OUR_RUNNER = "mnv3 runner"  # the engine name of cases timed by mnv3-sdk's own runner
RUNNER_BLOCK = 10  # executions per runner invocation when it reports totals only
_ITERATION = re.compile(r"Iteration (\d+) of (\d+): ([0-9.]+) ms")
_TOTAL = re.compile(r"Model executed successfully (\d+) time\(s\) in ([0-9.]+) ms")
_THERMAL = re.compile(r"Thermal Status:\s*(\d+)")
# App mode, --frame-format: what BenchmarkActivity classifies end to end (its frame_format extra).
FRAME_FORMATS = {
    "argb": "ARGB_8888 pixels, as Bitmap.getPixels returns them",
    "yuv": "YUV_420_888 camera frames (NV21-like interleaved chroma, rotated 90°), as an ImageReader delivers them",
}


@dataclass(frozen=True)
class DeviceSettings:
    mode: str  # "runner" or "app"
    threads: list[int]
    warmup: int
    iterations: int
    cooldown: float
    runner: Path | None
    apk: Path | None
    app_package: str | None
    pin_big_cores: bool
    app_timeout: float
    frame: tuple[int, int] | None = None  # app mode: classify frames of this size, end to end
    frame_format: str = "argb"  # with frame: a FRAME_FORMATS key, the pipeline timed
    server: tuple[str, int] | None = None  # a remote adb server (--adb-server); None: as adb chooses
    # Runner mode without --runner: the folder of mnv3-sdk's arm64 runner build, pushed whole.
    runner_folder: Path | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class DeviceFailure:
    """A device whose run stopped: the others' results are still reported."""

    device: str
    step: str  # what was running, e.g. "pushing the runner", "reading the result"
    error: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def on_devices(adb: Adb, serials: list[str], work: Callable[[Adb], T],
               what: str) -> list[tuple[T | None, DeviceFailure | None]]:
    """``work`` on each device, in parallel, in ``serials``' order: its result, or the failure that
    stopped it (``what`` names the step when the error does not). On Ctrl-C, ``adb.interrupted`` is
    set: each device stops before its next adb step and removes what it pushed (``work_folder``),
    then the interrupt goes on. Shared by bench and profile --adb."""
    assert adb.interrupted is not None, "on_devices needs an Adb made with an interrupted event"

    def one(serial: str) -> tuple[T | None, DeviceFailure | None]:
        try:
            return work(adb.for_device(serial)), None
        except AdbError as error:
            return None, DeviceFailure(serial, error.step, str(error))
        except SdkError as error:
            return None, DeviceFailure(serial, what, str(error))

    with ThreadPoolExecutor(max_workers=len(serials)) as pool:
        try:
            return list(pool.map(one, serials))
        except KeyboardInterrupt:
            adb.interrupted.set()
            pool.shutdown(wait=True)  # the devices clean up, then the interrupt goes on
            raise


def check_shell_protocol(adb: Adb) -> None:
    """The harness reads exit codes and stderr apart, which needs adb's shell protocol v2 (the
    ``shell_v2`` feature, Android 7+): over the old ``shell:`` service a failed command exits 0
    with its error in stdout, and would be read as a result."""
    features = adb.run("features", step="reading the device's adb features").split()
    if "shell_v2" not in features:
        raise AdbError(f"device {adb.serial} has no adb shell protocol v2 (Android 7 or newer has it): exit "
                       f"codes would be lost; the generated library needs API level {MIN_SDK} or newer",
                       adb.serial, "reading the device's adb features")


def device_facts(adb: Adb) -> dict[str, Any]:
    def prop(name: str) -> str:
        return adb.shell(f"getprop {name}", step=f"reading {name}").strip()

    possible = adb.shell("cat /sys/devices/system/cpu/possible", step="reading the core count").strip()
    first, _, last = possible.partition("-")
    cores = list(range(int(first), int(last or first) + 1))
    frequencies = []
    for core in cores:
        path = f"/sys/devices/system/cpu/cpu{core}/cpufreq/cpuinfo_max_freq"
        frequencies.append(int(adb.shell(f"cat {path}", step=f"reading core {core}'s frequency").strip() or 0))
    return {
        "serial": adb.serial,
        "model": prop("ro.product.model"),
        "manufacturer": prop("ro.product.manufacturer"),
        "soc": prop("ro.soc.model") or prop("ro.board.platform"),
        "abi": prop("ro.product.cpu.abi"),
        "android": prop("ro.build.version.release"),
        "sdk": prop("ro.build.version.sdk"),
        "cores": len(cores),
        "max_freq_khz": frequencies,
    }


def thermal_status(adb: Adb) -> int | None:
    match = _THERMAL.search(adb.shell("dumpsys thermalservice", step="reading the thermal status"))
    return int(match.group(1)) if match else None


def big_core_mask(frequencies: list[int]) -> str:
    """Hex CPU mask of the cores with the highest max frequency (taskset's argument)."""
    top = max(frequencies)
    return format(sum(1 << core for core, frequency in enumerate(frequencies) if frequency == top), "x")


def cool_down(adb: Adb, seconds: float) -> dict[str, Any]:
    """Wait until the thermal status is back to normal (0) or ``seconds`` pass."""
    started = time.monotonic()
    status = thermal_status(adb)
    while status not in (None, 0) and time.monotonic() - started < seconds:
        time.sleep(min(5.0, seconds))
        status = thermal_status(adb)
    return {"waited_s": round(time.monotonic() - started, 1), "status": status}


def parse_runner_output(output: str) -> tuple[list[float], float | None, int | None]:
    """Per-iteration times if printed, plus the total line: (samples, total ms, executions)."""
    samples = [float(match.group(3)) for match in _ITERATION.finditer(output)]
    total = _TOTAL.search(output)
    if total is None and not samples:
        raise ValueError("no 'Model executed successfully N time(s) in X ms.' line")
    return samples, float(total.group(2)) if total else None, int(total.group(1)) if total else None


def run_device(adb: Adb, models: list[Path], metadata: dict[Path, Metadata],
               settings: DeviceSettings) -> tuple[dict[str, Any], list[CaseResult]]:
    """Benchmark every model and thread count on one device; always removes what it pushed."""
    check_shell_protocol(adb)
    facts = device_facts(adb)
    facts["thermal_before"] = thermal_status(adb)
    results: list[CaseResult] = []
    with work_folder(adb, settings.app_package if settings.mode == "app" else None):
        if settings.mode == "app":
            adb.install(settings.apk, step="installing the demo app")
        elif settings.runner_folder is not None:
            push_runner_folder(adb, settings.runner_folder, facts["abi"])
        else:
            adb.push(settings.runner, f"{REMOTE_DIR}/executor_runner", step="pushing the runner")
            adb.shell(f"chmod 755 {REMOTE_DIR}/executor_runner", step="making the runner executable")
        for model in models:
            remote_model = f"{REMOTE_DIR}/{model.name}"
            adb.push(model, remote_model, step=f"pushing {model.name}")
            for threads in settings.threads:
                if settings.cooldown > 0:
                    facts.setdefault("cooldowns", []).append(cool_down(adb, settings.cooldown))
                run = _run_app if settings.mode == "app" else (
                    _run_our_runner if settings.runner_folder is not None else _run_runner)
                case = run(adb, model, remote_model, threads, settings, facts)
                case.metadata = summary_of_metadata(metadata[model])
                results.append(case)
        facts["thermal_after"] = thermal_status(adb)
    return facts, results


@contextmanager
def work_folder(adb: Adb, app_package: str | None = None) -> Iterator[None]:
    """REMOTE_DIR on the device for what a run pushes, removed on the way out whatever happened
    (a failure, Ctrl-C: the client made for clean-up still runs after an interrupt), with the demo
    app's result file when ``app_package`` is given. Shared by bench and profile --adb."""
    adb.shell(f"mkdir -p {REMOTE_DIR}", step="creating the work folder")
    try:
        yield
    finally:
        cleaner = adb.for_cleanup()
        try:
            cleaner.shell(f"rm -rf {REMOTE_DIR}", step="removing pushed files")
            if app_package:
                cleaner.shell(f"run-as {app_package} rm -f files/{BENCHMARK_RESULT}", step="removing the result")
        except AdbError:
            pass  # the device may be gone; the original error is the one to report


def _run_runner(adb: Adb, model: Path, remote_model: str, threads: int, settings: DeviceSettings,
                facts: dict[str, Any]) -> CaseResult:
    pin = f"taskset {big_core_mask(facts['max_freq_khz'])} " if settings.pin_big_cores else ""

    def invoke(executions: int, step: str) -> str:
        command = (f"cd {REMOTE_DIR} && {pin}./executor_runner --model_path {shlex.quote(remote_model)} "
                   f"--num_executions {executions} --cpu_threads {threads}")
        return adb.shell(command, step=step, timeout=max(120.0, executions * 5.0), with_stderr=True)

    if settings.warmup:
        invoke(settings.warmup, f"warming up {model.name}")
    output = invoke(settings.iterations, f"running {model.name} with {threads} thread(s)")
    try:
        samples, total_ms, executions = parse_runner_output(output)
    except ValueError as error:
        raise AdbError(f"device {adb.serial}: cannot parse the runner's output for {model.name}: {error}",
                       adb.serial, f"reading the runner's output for {model.name}", output) from None
    notes = "per-iteration times from the runner"
    if not samples:
        # Upstream executor_runner prints only a total: time blocks of executions and keep each mean.
        samples = []
        for block in range(max(1, settings.iterations // RUNNER_BLOCK)):
            _, block_ms, block_runs = parse_runner_output(invoke(RUNNER_BLOCK, f"running {model.name} block {block}"))
            samples.append(block_ms / block_runs)
        notes = f"runner reports totals only: samples are means of blocks of {RUNNER_BLOCK} executions"
    return CaseResult(model=model.stem, engine="executor_runner", threads=threads, device=adb.serial,
                      load_ms=None, first_inference_ms=None, samples_ms=samples,
                      notes=notes + (f"; pinned to cores mask {pin.split()[1]}" if pin else ""))


def push_runner_folder(adb: Adb, folder: Path, abi: str) -> None:
    """Push mnv3-sdk's arm64 runner build (about 17 MB) to REMOTE_DIR/REMOTE_RUNNER, after checking
    the device runs arm64 code."""
    if abi != RUNNER_ABI:
        raise AdbError(f"device {adb.serial} reports ABI {abi or 'none'}; mnv3-sdk's runner is built for {RUNNER_ABI}: "
                       "pass --runner with an executor_runner built for this device", adb.serial, "checking the ABI")
    # The folder does not exist on the device yet, so adb creates it with the folder's files inside.
    adb.push(folder, f"{REMOTE_DIR}/{REMOTE_RUNNER}", step="pushing mnv3-sdk's arm64 runner")


def our_runner_command(remote_model: str, threads: int, warmup: int, iterations: int, pin: str = "",
                       etdump: str | None = None) -> str:
    """The shell command that starts mnv3-sdk's pushed runner through its own glibc loader; with
    ``etdump`` (a device path) it records ExecuTorch's event tracer there."""
    folder = f"./{REMOTE_RUNNER}"
    # --etdump PATH as two words: the emulated phones map device paths given as whole arguments.
    trace = f" --etdump {shlex.quote(etdump)}" if etdump else ""
    return (f"cd {REMOTE_DIR} && {pin}{folder}/ld-linux-aarch64.so.1 --library-path {folder} {folder}/runner "
            f"--model {shlex.quote(remote_model)} --threads {threads} --warmup {warmup} --iterations {iterations}"
            f"{trace}")


def _run_our_runner(adb: Adb, model: Path, remote_model: str, threads: int, settings: DeviceSettings,
                    facts: dict[str, Any]) -> CaseResult:
    """mnv3-sdk's runner, through the pushed glibc loader: warm-up and every iteration's time in one run."""
    pin = f"taskset {big_core_mask(facts['max_freq_khz'])} " if settings.pin_big_cores else ""
    command = our_runner_command(remote_model, threads, settings.warmup, settings.iterations, pin)
    # Generous: emulated phones run it under qemu, about 200 times slower than a phone.
    timeout = max(120.0, (settings.warmup + settings.iterations) * 5.0)
    output = adb.shell(command, step=f"running {model.name} with {threads} thread(s)", timeout=timeout)
    try:
        parsed = parse_output(output)
    except ValueError as error:
        raise AdbError(f"device {adb.serial}: cannot parse the runner's output for {model.name}: {error}",
                       adb.serial, f"reading the runner's output for {model.name}", output) from None
    if len(parsed.samples_ms) != settings.iterations:
        raise AdbError(f"device {adb.serial}: the runner printed {len(parsed.samples_ms)} of {settings.iterations} "
                       f"iterations for {model.name}", adb.serial, f"reading the runner's output for {model.name}", output)
    return CaseResult(model=model.stem, engine=OUR_RUNNER, threads=parsed.threads, device=adb.serial,
                      load_ms=parsed.load_ms, first_inference_ms=None, samples_ms=parsed.samples_ms,
                      notes="per-iteration times from mnv3-sdk's arm64 runner, run through its own glibc loader"
                      + (f"; pinned to cores mask {pin.split()[1]}" if pin else ""))


def _run_app(adb: Adb, model: Path, remote_model: str, threads: int, settings: DeviceSettings,
             facts: dict[str, Any]) -> CaseResult:
    package = settings.app_package
    adb.shell(f"run-as {package} rm -f files/{BENCHMARK_RESULT}", step="clearing the previous result")
    frame = (f" --ei frame_width {settings.frame[0]} --ei frame_height {settings.frame[1]} "
             f"--es frame_format {settings.frame_format}") if settings.frame else ""
    adb.shell(
        f"am start -W -S -n {package}/.BenchmarkActivity --ei warmup {settings.warmup} "
        f"--ei iterations {settings.iterations} --ei threads {threads} --es model {shlex.quote(remote_model)}{frame}",
        step=f"starting BenchmarkActivity for {model.name}",
    )
    deadline = time.monotonic() + settings.app_timeout
    text = None
    while time.monotonic() < deadline:
        try:
            text = adb.shell(f"run-as {package} cat files/{BENCHMARK_RESULT}", step="reading the result")
            break
        except AdbError as error:
            if "No such file" not in error.output:  # the app has not written it yet
                raise
            time.sleep(0.5)
    if text is None:
        crash = adb.run("logcat", "-d", "-s", "AndroidRuntime:E", step="reading logcat")
        reason = "the app crashed" if "FATAL EXCEPTION" in crash else f"no result after {settings.app_timeout:g} s"
        raise AdbError(f"device {adb.serial}: BenchmarkActivity for {model.name}: {reason}",
                       adb.serial, f"running BenchmarkActivity for {model.name}", crash)
    try:
        result = json.loads(text)
    except ValueError:
        raise AdbError(f"device {adb.serial}: BenchmarkActivity wrote an unreadable result for {model.name}",
                       adb.serial, "reading the result", text) from None
    if "error" in result:
        raise AdbError(f"device {adb.serial}: BenchmarkActivity failed on {model.name}: {result['error']}",
                       adb.serial, f"running BenchmarkActivity for {model.name}", str(result["error"]))
    if settings.frame and "preprocessing_ms" not in result:
        raise AdbError(f"device {adb.serial}: the installed demo app has no end-to-end mode (--frame): "
                       "rebuild it from this mnv3-sdk's android/ project", adb.serial, "reading the result")
    # An app built before frame_format existed ignores the extra and times ARGB pixels.
    frame_format = result.get("frame_format", "argb") if settings.frame else None
    if settings.frame and frame_format != settings.frame_format:
        raise AdbError(f"device {adb.serial}: the installed demo app has no {settings.frame_format} mode "
                       f"(--frame-format {settings.frame_format}): rebuild it from this mnv3-sdk's android/ project",
                       adb.serial, "reading the result")
    frame = f"{result['frame_width']}x{result['frame_height']}" if settings.frame else None
    engine = "app" if not frame else ("app end-to-end" if frame_format == "argb" else f"app end-to-end {frame_format}")
    return CaseResult(model=model.stem, engine=engine, threads=threads,
                      device=adb.serial, load_ms=result["load_ms"], first_inference_ms=result["first_inference_ms"],
                      samples_ms=list(result["iterations_ms"]), pss_kb=result.get("pss_kb"), frame=frame,
                      frame_format=frame_format, frame_rotation=result.get("frame_rotation", 0) if frame else None,
                      preprocessing_ms=list(result["preprocessing_ms"]) if frame else None,
                      notes=f"timed inside the app; logcat tag {BENCHMARK_LOG_TAG}"
                      + (f"; samples are the forward pass, preprocessing of {frame} {FRAME_FORMATS[frame_format]} apart"
                         if frame else ""))


def choose_devices(adb: Adb, serial: str | None, all_devices: bool) -> list[str]:
    entries = adb.devices()
    if serial is not None:
        entry = next((entry for entry in entries if entry.serial == serial), None)
        if entry is None:
            raise SdkError(f"device {serial} is not connected (adb devices lists: "
                           f"{', '.join(e.serial for e in entries) or 'none'})")
        _check_usable(entry.serial, entry.state)
        return [serial]
    usable = [entry.serial for entry in entries if entry.state == "device"]
    unusable = [entry for entry in entries if entry.state != "device"]
    if not usable:
        if unusable:
            _check_usable(unusable[0].serial, unusable[0].state)
        raise SdkError("no Android device connected (adb devices lists none): connect one with USB debugging on")
    if len(usable) > 1 and not all_devices:
        raise SdkError(f"{len(usable)} devices connected ({', '.join(usable)}): pick one with --serial or use --all-devices")
    return usable


def _check_usable(serial: str, state: str) -> None:
    if state == "unauthorized":
        raise SdkError(f"device {serial} is unauthorized: unlock it and accept the USB debugging prompt")
    if state == "offline":
        raise SdkError(f"device {serial} is offline: reconnect it (or run adb kill-server)")
    if state != "device":
        raise SdkError(f"device {serial} is {state}, not ready for adb")
