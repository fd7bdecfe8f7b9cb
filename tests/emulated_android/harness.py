"""Starting the real adb server on a private loopback port and emulated phones connected to it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emulated_android.phone import files_of

ADBD = Path(__file__).with_name("adbd.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AdbServer:
    """Debian's adb server, ``adb -P PORT server nodaemon`` as our child process: loopback only
    (no ``-a``), never the default 5037, with its own key folder so the user's ~/.android is not
    touched, and killed by ``stop`` whatever state it is in."""

    def __init__(self, folder: Path) -> None:
        found = shutil.which("adb")
        if found is None:
            raise RuntimeError("adb is not installed: `make test` installs it (Debian: apt-get install adb)")
        self.executable = Path(found)
        self.port = free_port()
        self.home = folder / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([str(self.executable), "-P", str(self.port), "server", "nodaemon"],
                                        env=self.environment, stdout=subprocess.DEVNULL,
                                        stderr=(folder / "server.log").open("wb"))
        # No client command before the port answers: a client finding no server starts its own.
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"adb server did not start: {(folder / 'server.log').read_text()}") from None
                time.sleep(0.05)

    @property
    def environment(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "ANDROID_ADB_SERVER_PORT": str(self.port)}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.executable), "-P", str(self.port), *args], capture_output=True, text=True,
                              env=self.environment, timeout=60, check=check)

    def states(self) -> dict[str, str]:
        lines = self.run("devices").stdout.splitlines()[1:]
        return dict(line.split()[:2] for line in lines if line.strip())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class EmulatedPhone:
    serial: str  # what adb calls it: 127.0.0.1:PORT
    root: Path  # its files are under root/fs
    process: subprocess.Popen

    def path(self, remote: str) -> Path:
        return files_of(self.root, remote)

    @property
    def logcat(self) -> str:
        log = self.root / "logcat"
        return log.read_text() if log.exists() else ""


def start_phone(server: AdbServer, spec: dict, root: Path) -> EmulatedPhone:
    """An adbd.py process for ``spec``, connected to ``server`` and seen by it in the spec's state."""
    root.mkdir(parents=True)
    (root / "spec.json").write_text(json.dumps(spec))
    process = subprocess.Popen([sys.executable, str(ADBD), str(root / "spec.json"), str(root)],
                               stdout=subprocess.PIPE, stderr=(root / "adbd.stderr").open("wb"), text=True)
    port = int(process.stdout.readline().split()[1])
    serial = f"127.0.0.1:{port}"
    server.run("connect", serial)
    wanted = spec.get("state", "device")
    deadline = time.monotonic() + 20
    while server.states().get(serial) != wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{serial} did not show as {wanted}: {server.states()}")
        time.sleep(0.05)
    return EmulatedPhone(serial, root, process)


def stop_phone(server: AdbServer, phone: EmulatedPhone) -> None:
    server.run("disconnect", phone.serial, check=False)
    phone.process.kill()
    phone.process.wait()
