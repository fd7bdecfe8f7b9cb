"""``profile --adb``: mnv3-sdk's arm64 runner with the event tracer on a phone, through bench's
push and clean-up path (bench/device.py: the work folder, the runner folder, the devices' pool
that cleans up on Ctrl-C); the ETDump is pulled back and mapped on this host.

On a phone the ETDump holds the device's own clock (microseconds per operator, as on the host);
there is no instruction count there. A device that says it is an emulator (``ro.kernel.qemu`` or
``ro.boot.qemu`` set to 1, as Android's emulator and this project's emulated phones do) gets its
times labelled as emulated.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.bench.adb import Adb, AdbError, find_adb
from mnv3_sdk.bench.device import (
    REMOTE_DIR,
    check_shell_protocol,
    choose_devices,
    device_facts,
    on_devices,
    our_runner_command,
    push_runner_folder,
    work_folder,
)
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native import parse_output

# As the host profile: one warm-up inference, dropped when reading the ETDump.
WARMUP = 1
REMOTE_ETDUMP = "profile.etdp"
EMULATOR_PROPERTIES = ("ro.kernel.qemu", "ro.boot.qemu")


@dataclass(frozen=True)
class DeviceInfo:
    """The phone a profile ran on: its times are that device's."""

    serial: str
    model: str
    manufacturer: str
    soc: str
    abi: str
    android: str
    emulator: bool  # the device says it is emulated: its times are emulated, not a phone's

    def describe(self) -> str:
        name = " ".join(part for part in (self.manufacturer, self.model) if part) or "unnamed device"
        return f"{name} ({self.soc or 'SoC unknown'}, Android {self.android or '?'}), serial {self.serial}"


def record(model: Path, threads: int, runs: int, etdump: Path, serial: str | None,
           server: tuple[str, int] | None) -> DeviceInfo:
    """Run ``model`` once to warm up and ``runs`` times more with the event tracer on, on the chosen
    device, and pull the ETDump to ``etdump``; nothing of ours is left on the device."""
    from mnv3_sdk.native import build_runner

    folder = build_runner("arm64").folder  # before touching a device: no cross compiler, no profile
    adb = Adb(find_adb(), server=server, interrupted=threading.Event())
    serials = choose_devices(adb, serial, all_devices=False)
    [(info, failure)] = on_devices(adb, serials[:1], lambda device: _on_device(device, folder, model, threads, runs,
                                                                              etdump), "profiling")
    if failure is not None or info is None:
        raise SdkError(failure.error if failure else f"device {serials[0]}: profiling failed")
    return info


def _on_device(adb: Adb, runner: Path, model: Path, threads: int, runs: int, etdump: Path) -> DeviceInfo:
    check_shell_protocol(adb)
    facts = device_facts(adb)
    emulator = any(adb.shell(f"getprop {name}", step=f"reading {name}").strip() == "1" for name in EMULATOR_PROPERTIES)
    remote_model, remote_etdump = f"{REMOTE_DIR}/{model.name}", f"{REMOTE_DIR}/{REMOTE_ETDUMP}"
    with work_folder(adb):
        push_runner_folder(adb, runner, facts["abi"])
        adb.push(model, remote_model, step=f"pushing {model.name}")
        # Generous: emulated phones run it under qemu, about 200 times slower than a phone.
        output = adb.shell(our_runner_command(remote_model, threads, WARMUP, runs, etdump=remote_etdump),
                           step=f"profiling {model.name}", timeout=max(120.0, (WARMUP + runs) * 10.0))
        try:
            parse_output(output)
        except ValueError as error:
            raise AdbError(f"device {adb.serial}: cannot parse the runner's output for {model.name}: {error}",
                           adb.serial, f"reading the runner's output for {model.name}", output) from None
        if "wrote etdump to " not in output:
            raise AdbError(f"device {adb.serial}: the runner wrote no ETDump for {model.name}", adb.serial,
                           f"profiling {model.name}", output)
        adb.pull(remote_etdump, etdump, step="pulling the ETDump")
    return DeviceInfo(adb.serial or "", facts["model"], facts["manufacturer"], facts["soc"], facts["abi"],
                      facts["android"], emulator)
