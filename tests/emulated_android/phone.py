"""What an emulated phone does behind adbd: the shell commands, installs and files that mnv3-sdk's
device harness uses, answered as Android answers them (same output shapes, error texts, exit codes).

The phone's files live under ``root/fs`` (``/data/local/tmp/x`` is ``root/fs/data/local/tmp/x``).
It *runs* what a phone would run, as an arm64 phone: a pushed aarch64 ELF file is executed under
``qemu-aarch64 -cpu CPU`` (the phone's ``cpu``, a named qemu CPU model: qemu 7.2's default enables
SME, whose int8 kernels are wrong there), so mnv3-sdk's own runner, pushed as a folder and started
through its glibc loader, runs the real arm64 kernels; an ELF file for another machine is refused
as Android's sh refuses it (``not executable: 64-bit ELF file``, exit 126); a script runs with its
interpreter, on this host (the tests push scripts that print what ExecuTorch's executor_runner
prints). ``am start … .BenchmarkActivity`` runs the demo app's measurement on the pushed .pte with
the host's ExecuTorch runtime (``app.py``, in a process of its own as an app is) and writes its
JSON where the app would, plus its logcat line.

``spec`` (JSON, from the test): ``props`` (getprop), ``cpu`` (the qemu CPU model its arm64 code
runs on; default cortex-a76, a phone core with dot product), ``max_freq_khz`` (one per core), ``thermal``
(statuses read in turn), ``app_package`` (what an install of any APK installs), ``app_lacks``
(extras the installed APK predates, see ``app.py``), ``fail`` (``app_crash``, ``app_timeout``,
``runner_exit``). Timings are host timings: on-device figures
need a real device.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RESULT_FILE = "mnv3_benchmark.json"
ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183  # e_machine of arm64 code (elf.h)
DEFAULT_CPU = "cortex-a76"
LOG_TAG = "mnv3-sdk-bench"
APP = Path(__file__).with_name("app.py")


def files_of(root: Path, remote: str) -> Path:
    """Where the phone kept under ``root`` holds its file ``remote`` (an absolute device path)."""
    return root / "fs" / remote.lstrip("/")


def without_host_libraries() -> dict[str, str]:
    """This process's environment minus LD_*: those name x86_64 libraries, which arm64 code run
    under qemu-aarch64 must not be pointed at."""
    return {name: value for name, value in os.environ.items() if not name.startswith("LD_")}


@dataclass
class Output:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


class ShellExit(Exception):
    """A command failed: what it printed on stderr, and the exit code /system/bin/sh returns."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Phone:
    def __init__(self, root: Path, spec: dict) -> None:
        self.root = root
        self.spec = spec
        self.thermal_reads = 0
        (root / "fs" / "data" / "local" / "tmp").mkdir(parents=True, exist_ok=True)

    # --- files -------------------------------------------------------------------------------

    def path(self, remote: str) -> Path:
        return files_of(self.root, remote)

    @property
    def installed(self) -> str | None:
        marker = self.root / "installed"
        return marker.read_text() if marker.exists() else None

    # --- the package manager (adb install streams into `cmd package install -S SIZE`) ---------

    def install(self, apk: bytes) -> str:
        if not apk.startswith(b"PK\x03\x04"):
            return "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse /data/app/vmdl.tmp/base.apk]\n"
        (self.root / "installed").write_text(self.spec.get("app_package", ""))
        return "Success\n"

    # --- /system/bin/sh -c COMMAND ------------------------------------------------------------

    def shell(self, command: str) -> Output:
        stdout: list[str] = []
        stderr: list[str] = []
        try:
            self._run(command, stdout, stderr)
            code = 0
        except ShellExit as failure:
            stderr.append(str(failure) + "\n")
            code = failure.exit_code
        return Output("".join(stdout).encode(), "".join(stderr).encode(), code)

    def _run(self, line: str, out: list[str], err: list[str]) -> None:
        # `export NAME=VALUE; exec COMMAND` (adb logcat) and `cd DIR && COMMAND` (the runner).
        if line.startswith("export ") and "; exec " in line:
            line = line.split("; exec ", 1)[1]
        words = shlex.split(line)
        if not words:
            return
        if words[0] == "cd" and "&&" in words:
            return self._runner(words[1], words[words.index("&&") + 1:], out, err)
        program, arguments = words[0], words[1:]
        if program == "getprop":
            out.append(self.spec["props"].get(arguments[0], "") + "\n")
        elif program == "cat":
            out.append(self._cat(arguments[0]))
        elif program == "dumpsys" and arguments == ["thermalservice"]:
            statuses = self.spec.get("thermal", [0])
            status = statuses[min(self.thermal_reads, len(statuses) - 1)]
            self.thermal_reads += 1
            out.append(f"IsStatusOverride: false\nThermal Status: {status}\n")
        elif program == "mkdir" and arguments[:1] == ["-p"]:
            self.path(arguments[1]).mkdir(parents=True, exist_ok=True)
        elif program == "rm" and arguments[:1] in (["-rf"], ["-f"]):
            target = self.path(arguments[1])
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        elif program == "chmod":
            target = self.path(arguments[1])
            if not target.exists():
                raise ShellExit(f"chmod: {arguments[1]}: No such file or directory")
            target.chmod(int(arguments[0], 8))
        elif program == "run-as":
            self._run_as(arguments[0], arguments[1:], out)
        elif program == "am" and arguments[:1] == ["start"]:
            self._am_start(arguments[1:], out)
        elif program == "logcat":
            log = self.root / "logcat"
            out.append(log.read_text() if log.exists() else "")
        else:
            raise ShellExit(f"/system/bin/sh: {program}: inaccessible or not found", 127)

    def _cat(self, remote: str) -> str:
        if remote == "/sys/devices/system/cpu/possible":
            return f"0-{len(self.spec['max_freq_khz']) - 1}\n"
        match = re.fullmatch(r"/sys/devices/system/cpu/cpu(\d+)/cpufreq/cpuinfo_max_freq", remote)
        if match and int(match.group(1)) < len(self.spec["max_freq_khz"]):
            return f"{self.spec['max_freq_khz'][int(match.group(1))]}\n"
        target = self.path(remote)
        if not target.is_file():
            raise ShellExit(f"cat: {remote}: No such file or directory")
        return target.read_text()

    def _runner(self, folder: str, command: list[str], out: list[str], err: list[str]) -> None:
        if command[0] == "taskset":
            mask, command = command[1], command[2:]
            if int(mask, 16) >= 1 << len(self.spec["max_freq_khz"]):
                raise ShellExit("taskset: failed to set pid's affinity: Invalid argument")
        program = self.path(folder) / command[0].removeprefix("./")
        if not program.is_file() or not os.access(program, os.X_OK):
            raise ShellExit(f"/system/bin/sh: {command[0]}: inaccessible or not found", 127)
        arguments = [self.path(value).as_posix() if value.startswith("/data/") else value for value in command[1:]]
        argv = self._executable(program, command[0]) + arguments
        with (self.root / "executed").open("a") as log:  # for the tests: what was started, and how
            log.write(" ".join(argv) + "\n")
        result = subprocess.run(argv, capture_output=True, text=True, cwd=self.path(folder), env=without_host_libraries())
        out.append(result.stdout)
        err.append(result.stderr)
        exit_code = self.spec.get("fail", {}).get("runner_exit", result.returncode)
        if exit_code:
            raise ShellExit("Aborted", exit_code)

    def _executable(self, program: Path, name: str) -> list[str]:
        """How this arm64 phone starts ``program``: an aarch64 ELF under qemu-aarch64 with the phone's
        CPU model; any other ELF is refused as Android's sh refuses it; a script runs as it is."""
        with program.open("rb") as stream:
            header = stream.read(20)
        if header[:4] != ELF_MAGIC:
            return [str(program)]
        if int.from_bytes(header[18:20], "little") != EM_AARCH64:
            raise ShellExit(f"/system/bin/sh: {name}: not executable: {32 if header[4] == 1 else 64}-bit ELF file", 126)
        qemu = shutil.which("qemu-aarch64")
        if qemu is None:
            raise RuntimeError("qemu-aarch64 is not installed: `make test` installs it (apt-get install qemu-user)")
        return [qemu, "-cpu", self.spec.get("cpu", DEFAULT_CPU), str(program)]

    def _run_as(self, package: str, command: list[str], out: list[str]) -> None:
        if self.installed != package:
            raise ShellExit(f"run-as: unknown package: {package}")
        target = self.path(f"/data/data/{package}/files") / command[-1].removeprefix("files/")
        if command[0] == "cat":
            if not target.is_file():
                raise ShellExit(f"cat: {command[-1]}: No such file or directory")
            out.append(target.read_text())
        elif command[:2] == ["rm", "-f"]:
            target.unlink(missing_ok=True)
        else:
            raise ShellExit(f"run-as: exec failed for {command[0]}")

    def _am_start(self, arguments: list[str], out: list[str]) -> None:
        component = arguments[arguments.index("-n") + 1]
        package, activity = component.split("/")
        out.append(f"Starting: Intent {{ cmp={component} }}\n")
        if self.installed != package or activity != ".BenchmarkActivity":
            raise ShellExit(f"Error type 3\nError: Activity class {{{component}}} does not exist.")
        extras = {}
        for index, word in enumerate(arguments):
            if word in ("--ei", "--es"):
                extras[arguments[index + 1]] = arguments[index + 2]
        out.append(f"Status: ok\nLaunchState: COLD\nActivity: {component}\nTotalTime: 180\nWaitTime: 185\nComplete\n")
        log = self.root / "logcat"
        failures = self.spec.get("fail", {})
        if failures.get("app_crash"):
            with log.open("a") as stream:
                stream.write(f"E AndroidRuntime: FATAL EXCEPTION: Thread-2\nE AndroidRuntime: Process: {package}, "
                             "PID: 4242\nE AndroidRuntime: java.lang.UnsatisfiedLinkError: dlopen failed: library "
                             "\"libexecutorch.so\" not found\n")
            return
        if failures.get("app_timeout"):
            return
        files = self.path(f"/data/data/{package}/files")
        files.mkdir(parents=True, exist_ok=True)
        request = {"model": str(self.path(extras["model"])), "extras": extras, "spec": self.spec,
                   "result": str(files / RESULT_FILE), "logcat": str(log), "tag": LOG_TAG}
        # The app runs in a process of its own and `am start -W` returns once it is launched, as on a
        # phone: the harness polls for the result file, which the app writes atomically.
        subprocess.Popen([sys.executable, str(APP), json.dumps(request)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=(self.root / "app.stderr").open("ab"))
