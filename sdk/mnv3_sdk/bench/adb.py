"""A small adb client: find adb, list devices, run shell commands, push/pull/install."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from mnv3_sdk.errors import SdkError
from mnv3_sdk.hostinfo import android_sdk_roots


class AdbError(SdkError):
    """An adb step failed. ``device`` (None before one is chosen) and ``step`` say where, for the
    report's failure list; ``output`` is what adb or the device said, if anything."""

    def __init__(self, message: str, device: str | None, step: str, output: str = "") -> None:
        super().__init__(message)
        self.device = device
        self.step = step
        self.output = output


def find_adb() -> Path:
    """``$ANDROID_HOME/platform-tools/adb`` first, then ``adb`` on PATH."""
    for sdk in android_sdk_roots():
        if (sdk / "platform-tools" / "adb").is_file():
            return sdk / "platform-tools" / "adb"
    found = shutil.which("adb")
    if found is None:
        raise SdkError("adb not found: install Android platform-tools (Debian: apt-get install adb) "
                       "or set ANDROID_HOME")
    return Path(found)


DEFAULT_SERVER_PORT = 5037


def parse_server(text: str) -> tuple[str, int]:
    """``--adb-server HOST:PORT`` (IPv6 in brackets: ``[::1]:5037``) → (host, port)."""
    host, separator, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SdkError(f"--adb-server takes HOST:PORT, e.g. lab-host:5037 (got {text!r})")
    return host, int(port)


def server_in_use(server: tuple[str, int] | None, environ: Mapping[str, str] = os.environ) -> str:
    """The adb server that adb will talk to, as adb resolves it (client/commandline.cpp): -H/-P
    (our --adb-server) first, then $ADB_SERVER_SOCKET, then $ANDROID_ADB_SERVER_ADDRESS and
    $ANDROID_ADB_SERVER_PORT, else the local server on 5037. As a socket spec: ``tcp:HOST:PORT``."""
    if server is not None:
        return f"tcp:{server[0]}:{server[1]}"
    if environ.get("ADB_SERVER_SOCKET"):
        return environ["ADB_SERVER_SOCKET"]
    port = environ.get("ANDROID_ADB_SERVER_PORT") or str(DEFAULT_SERVER_PORT)
    host = environ.get("ANDROID_ADB_SERVER_ADDRESS")
    return f"tcp:{host}:{port}" if host else f"tcp:{port}"


@dataclass(frozen=True)
class DeviceEntry:
    serial: str
    state: str  # "device", "unauthorized", "offline", …
    details: dict[str, str]


def parse_devices(output: str) -> list[DeviceEntry]:
    """Parse ``adb devices -l``."""
    entries = []
    for line in output.splitlines():
        if not line.strip() or line.startswith(("List of devices", "*")):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        details = dict(part.split(":", 1) for part in parts[2:] if ":" in part)
        entries.append(DeviceEntry(parts[0], parts[1], details))
    return entries


class Adb:
    """The adb client, talking to the local adb server or, with ``server``, to the one at that
    host and port (a device lab's machine running ``adb -a -P 5037 server nodaemon``)."""

    def __init__(self, executable: Path, serial: str | None = None, timeout: float = 120.0,
                 server: tuple[str, int] | None = None, interrupted: threading.Event | None = None) -> None:
        self.executable = executable
        self.serial = serial
        self.timeout = timeout
        self.server = server
        self.interrupted = interrupted  # once set, every step but cleanup raises AdbError

    def for_device(self, serial: str) -> Adb:
        return Adb(self.executable, serial, self.timeout, self.server, self.interrupted)

    def for_cleanup(self) -> Adb:
        """This client, still allowed to run after an interrupt: for removing what was pushed."""
        return Adb(self.executable, self.serial, self.timeout, self.server)

    def run(self, *args: str, step: str, timeout: float | None = None, with_stderr: bool = False) -> str:
        if self.interrupted is not None and self.interrupted.is_set():
            raise AdbError(f"{self._who()}: interrupted before {step}", self.serial, step)
        server = ["-H", self.server[0], "-P", str(self.server[1])] if self.server else []
        command = [str(self.executable), *server, *(["-s", self.serial] if self.serial else []), *args]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise AdbError(f"{self._who()}: {step} timed out after {timeout or self.timeout:g} s",
                           self.serial, step) from None
        if result.returncode != 0:
            message = (result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}")
            raise AdbError(f"{self._who()}: {step} failed: {message.splitlines()[-1][:200]}", self.serial, step, message)
        # adb's shell protocol v2 keeps the device's stderr apart; ExecuTorch logs go there.
        return result.stdout + result.stderr if with_stderr else result.stdout

    def devices(self) -> list[DeviceEntry]:
        return parse_devices(self.run("devices", "-l", step="listing devices"))

    def shell(self, command: str, step: str, timeout: float | None = None, with_stderr: bool = False) -> str:
        return self.run("shell", command, step=step, timeout=timeout, with_stderr=with_stderr)

    def push(self, local: Path, remote: str, step: str) -> None:
        self.run("push", str(local), remote, step=step)

    def pull(self, remote: str, local: Path, step: str) -> None:
        self.run("pull", remote, str(local), step=step)

    def install(self, apk: Path, step: str) -> None:
        output = self.run("install", "-r", "-g", str(apk), step=step)
        if "Success" not in output:
            raise AdbError(f"{self._who()}: {step} failed: {output.strip()[:200]}", self.serial, step, output)

    def _who(self) -> str:
        return f"device {self.serial}" if self.serial else "adb"
