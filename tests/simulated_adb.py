"""SimulatedAdb: a stand-in for the `adb` client and the Android devices behind it (no phone here).

Installed by the tests as an `adb` executable first on PATH. Devices are described in
``$MNV3_SIM_ADB_STATE/devices.json``; each has a filesystem under ``$MNV3_SIM_ADB_STATE/<serial>/``.
It answers the commands mnv3-sdk's harness sends the way real adb and Android do (same output
shapes, same error texts, same exit codes), and it *runs* what a device would run:

* a pushed runner binary is executed (the tests push a host script that prints what ExecuTorch's
  executor_runner prints);
* ``am start … .BenchmarkActivity`` runs the same measurement as the demo app's BenchmarkActivity
  on the pushed .pte with the host's ExecuTorch runtime and writes the same JSON where the app
  would (``/data/data/<pkg>/files/``), plus its logcat line.

Failure switches per device (``"fail"``): ``disconnect_after`` (shell commands before the device
vanishes), ``app_crash``, ``app_timeout``, and ``runner_exit`` (exit code of the runner).
The devices' timings are host timings: on-device figures need a real device.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("MNV3_SIM_ADB_STATE", "/nonexistent"))
RESULT_FILE = "mnv3_benchmark.json"
LOG_TAG = "mnv3-sdk-bench"


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def load_devices() -> list[dict]:
    return json.loads((STATE / "devices.json").read_text())["devices"]


def write_atomically(path: Path, text: str) -> None:
    # Other adb invocations (for other devices, in parallel) read these files: never let them
    # see a truncated one.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def counter(serial: str) -> int:
    path = STATE / serial / "commands"
    count = int(path.read_text()) + 1 if path.exists() else 1
    write_atomically(path, str(count))
    return count


def vanished(device: dict) -> bool:
    limit = device.get("fail", {}).get("disconnect_after")
    path = STATE / device["serial"] / "commands"
    return limit is not None and path.exists() and int(path.read_text()) >= limit


def device_path(device: dict, remote: str) -> Path:
    return STATE / device["serial"] / "fs" / remote.lstrip("/")


def main(argv: list[str]) -> None:
    devices = load_devices()
    serial = None
    if argv[:1] == ["-s"]:
        serial, argv = argv[1], argv[2:]
    if argv[:1] == ["devices"]:
        print("List of devices attached")
        for device in devices:
            if vanished(device):
                continue
            extra = (f" product:{device['props'].get('ro.product.name', 'sim')} model:{device['props']['ro.product.model'].replace(' ', '_')}"
                     f" device:sim transport_id:{devices.index(device) + 1}") if device["state"] == "device" else \
                f" transport_id:{devices.index(device) + 1}"
            print(f"{device['serial']:<22}{device['state']}{extra}")
        print()
        return
    present = [device for device in devices if not vanished(device)]
    if serial is None:
        if len(present) > 1:
            fail("error: more than one device/emulator")
        if not present:
            fail("error: no devices/emulators found")
        device = present[0]
    else:
        device = next((d for d in present if d["serial"] == serial), None)
        if device is None:
            fail(f"error: device '{serial}' not found")
    if device["state"] == "unauthorized":
        fail("error: device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\n"
             "Try 'adb kill-server' if that seems wrong.\nOtherwise check for a confirmation dialog on your device.")
    if device["state"] == "offline":
        fail("error: device offline")
    command, arguments = argv[0], argv[1:]
    if command == "push":
        local, remote = Path(arguments[0]), arguments[1]
        target = device_path(device, remote)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)
        size = local.stat().st_size
        print(f"{local}: 1 file pushed, 0 skipped. 42.0 MB/s ({size} bytes in 0.010s)")
    elif command == "install":
        apk = Path(arguments[-1])
        if not apk.is_file() or apk.suffix != ".apk":
            fail("adb: failed to install: Failure [INSTALL_FAILED_INVALID_APK]")
        installed = STATE / device["serial"] / "installed"
        installed.write_text(device.get("app_package", ""))
        print("Performing Streamed Install\nSuccess")
    elif command == "logcat":
        log = STATE / device["serial"] / "logcat"
        print(log.read_text() if log.exists() else "", end="")
    elif command == "shell":
        if counter(device["serial"]) and vanished(device):
            fail(f"error: device '{device['serial']}' not found")
        shell(device, " ".join(arguments))
    else:
        fail(f"adb: unknown command {command}")


def shell(device: dict, line: str) -> None:
    props = device["props"]
    words = shlex.split(line)
    if words[0] == "getprop":
        print(props.get(words[1], ""))
    elif words[:2] == ["cat", "/sys/devices/system/cpu/possible"]:
        print(f"0-{len(device['max_freq_khz']) - 1}")
    elif words[0] == "cat" and words[1].endswith("/cpufreq/cpuinfo_max_freq"):
        core = int(re.search(r"/cpu(\d+)/cpufreq/", words[1]).group(1))
        print(device["max_freq_khz"][core])
    elif words[:2] == ["dumpsys", "thermalservice"]:
        statuses = device.get("thermal", [0])
        path = STATE / device["serial"] / "thermal_reads"
        reads = int(path.read_text()) if path.exists() else 0
        write_atomically(path, str(reads + 1))
        print(f"IsStatusOverride: false\nThermal Status: {statuses[min(reads, len(statuses) - 1)]}")
    elif words[:2] == ["mkdir", "-p"]:
        device_path(device, words[2]).mkdir(parents=True, exist_ok=True)
    elif words[:2] == ["rm", "-rf"]:
        shutil.rmtree(device_path(device, words[2]), ignore_errors=True)
    elif words[0] == "chmod":
        target = device_path(device, words[2])
        if not target.exists():
            fail(f"chmod: {words[2]}: No such file or directory")
        target.chmod(int(words[1], 8))
    elif words[0] == "cd" and "&&" in words:
        run_runner(device, words[0:2], words[words.index("&&") + 1:])
    elif words[0] == "run-as":
        run_as(device, words[1], words[2:])
    elif words[:2] == ["am", "start"]:
        am_start(device, words[2:])
    else:
        fail(f"/system/bin/sh: {words[0]}: inaccessible or not found", 127)


def run_runner(device: dict, cd: list[str], command: list[str]) -> None:
    if command[0] == "taskset":
        mask, command = command[1], command[2:]
        if int(mask, 16) >= 1 << len(device["max_freq_khz"]):
            fail("taskset: failed to set pid's affinity: Invalid argument")
    program = device_path(device, cd[1]) / command[0]
    if not program.is_file() or not os.access(program, os.X_OK):
        fail(f"/system/bin/sh: {command[0]}: inaccessible or not found", 127)
    arguments = [device_path(device, value).as_posix() if value.startswith("/data/") else value for value in command[1:]]
    result = subprocess.run([str(program), *arguments], capture_output=True, text=True)
    exit_code = device.get("fail", {}).get("runner_exit", result.returncode)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if exit_code:
        sys.stderr.write("Aborted\n")
        sys.exit(exit_code)


def app_files(device: dict, package: str) -> Path:
    return device_path(device, f"/data/data/{package}/files")


def run_as(device: dict, package: str, command: list[str]) -> None:
    installed = STATE / device["serial"] / "installed"
    if not installed.exists() or installed.read_text() != package:
        fail(f"run-as: unknown package: {package}")
    target = app_files(device, package) / command[-1].removeprefix("files/")
    if command[0] == "cat":
        if not target.is_file():
            fail(f"cat: {command[-1]}: No such file or directory")
        print(target.read_text(), end="")
    elif command[:2] == ["rm", "-f"]:
        target.unlink(missing_ok=True)
    else:
        fail(f"run-as: exec failed for {command[0]}")


def am_start(device: dict, arguments: list[str]) -> None:
    component = arguments[arguments.index("-n") + 1]
    package, activity = component.split("/")
    installed = STATE / device["serial"] / "installed"
    if not installed.exists() or installed.read_text() != package or activity != ".BenchmarkActivity":
        print(f"Starting: Intent {{ cmp={component} }}")
        fail(f"Error type 3\nError: Activity class {{{component}}} does not exist.")
    extras = {}
    for flag in ("--ei", "--es"):
        for index, word in enumerate(arguments):
            if word == flag:
                extras[arguments[index + 1]] = arguments[index + 2]
    print(f"Starting: Intent {{ cmp={component} }}\nStatus: ok\nLaunchState: COLD\nActivity: {component}\nTotalTime: 180\nWaitTime: 185\nComplete")
    log = STATE / device["serial"] / "logcat"
    failures = device.get("fail", {})
    if failures.get("app_crash"):
        with log.open("a") as stream:
            stream.write(f"E AndroidRuntime: FATAL EXCEPTION: Thread-2\nE AndroidRuntime: Process: {package}, PID: 4242\n"
                         "E AndroidRuntime: java.lang.UnsatisfiedLinkError: dlopen failed: library \"libexecutorch.so\" not found\n")
        return
    if failures.get("app_timeout"):
        return
    frame = (int(extras["frame_width"]), int(extras["frame_height"])) if "frame_width" in extras else None
    result = benchmark_in_app(device_path(device, extras["model"]), int(extras.get("warmup", 10)),
                              int(extras.get("iterations", 50)), int(extras.get("threads", 0)), device, frame)
    files = app_files(device, package)
    files.mkdir(parents=True, exist_ok=True)
    (files / RESULT_FILE).write_text(json.dumps(result))
    times = sorted(result["iterations_ms"])
    with log.open("a") as stream:
        stream.write(f"I {LOG_TAG}: load_ms={result['load_ms']:.2f} first_ms={result['first_inference_ms']:.2f} "
                     f"median_ms={times[len(times) // 2]:.2f} iterations={len(times)} threads={result['threads']} "
                     f"pss_kb={result['pss_kb']}\n")


def benchmark_in_app(model: Path, warmup: int, iterations: int, threads: int, device: dict,
                     frame: tuple[int, int] | None) -> dict:
    """What BenchmarkActivity measures, on the host runtime: load, first inference, iterations, and
    with a frame size, each iteration's preprocessing of such a frame (the Python reference of the
    Kotlin pipeline) beside its forward pass."""
    import resource

    import numpy as np
    import torch
    from executorch.runtime import Runtime

    from mnv3_sdk.imaging.model_input import to_model_input
    from mnv3_sdk.imaging.preprocess import preprocess_rgb

    started = time.perf_counter()
    program = Runtime.get().load_program(model)
    method = program.load_method("forward")
    load_ms = (time.perf_counter() - started) * 1000
    metadata = json.loads(bytes(program.load_method("metadata").execute([])[0].numpy().tobytes()))
    spec = metadata["input"]
    width, height = frame or (spec["shape"][2], spec["shape"][2])
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    input_format = "pixels" if spec["normalized_in_graph"] else "normalized"
    dtype = getattr(torch, spec["dtype"])

    def timed() -> tuple[float, float]:
        begin = time.perf_counter()
        image = to_model_input(preprocess_rgb(pixels, spec["shape"][2], spec["crop_fraction"]), input_format).to(dtype)
        middle = time.perf_counter()
        method.execute([image])
        return (middle - begin) * 1000, (time.perf_counter() - middle) * 1000

    first = timed()[1]
    for _ in range(warmup):
        timed()
    pairs = [timed() for _ in range(iterations)]
    result = {"model": str(model), "device": f"{device['props']['ro.product.manufacturer']} {device['props']['ro.product.model']}",
              "threads": threads, "warmup": warmup, "load_ms": load_ms, "first_inference_ms": first,
              "iterations_ms": [forward for _, forward in pairs],
              "pss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    if frame:
        result.update(frame_width=width, frame_height=height, preprocessing_ms=[pre for pre, _ in pairs])
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
