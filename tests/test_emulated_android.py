"""The emulated phones themselves, through Debian's real adb client and server: each protocol
feature the device tests rely on, checked against what the real client makes of it."""

import subprocess

import pytest
from emulated_android.harness import start_phone, stop_phone

PHONE = {"props": {"ro.product.model": "Pixel Emu", "ro.product.manufacturer": "EmuCorp"},
         "max_freq_khz": [1800000, 2400000], "app_package": "com.example.mnv3.demo"}


@pytest.fixture
def server(adb_server):
    return adb_server


@pytest.fixture
def phone(server, tmp_path):
    started = start_phone(server, PHONE, tmp_path / "phone")
    yield started
    stop_phone(server, started)


def adb(server, phone, *args, stdin=None):
    return subprocess.run([str(server.executable), "-P", str(server.port), "-s", phone.serial, *args],
                          capture_output=True, env=server.environment, timeout=60, input=stdin)


def test_devices_lists_the_banner_properties(server, phone):
    listing = server.run("devices", "-l").stdout
    line = next(line for line in listing.splitlines() if line.startswith(phone.serial))
    assert line.split()[1] == "device" and "product:emulated model:Pixel_Emu device:emu" in line


def test_shell_v2_keeps_stdout_stderr_and_the_exit_code_apart(server, phone):
    found = adb(server, phone, "shell", "getprop ro.product.model")
    assert (found.returncode, found.stdout, found.stderr) == (0, b"Pixel Emu\n", b"")
    missing = adb(server, phone, "shell", "frobnicate --now")
    assert missing.returncode == 127 and missing.stdout == b""
    assert missing.stderr == b"/system/bin/sh: frobnicate: inaccessible or not found\n"


@pytest.mark.parametrize("features", [None, "shell_v2,cmd"], ids=["stat_v2 and ls_v2", "STAT and LIST v1"])
def test_push_pull_and_ls_keep_bytes_modes_and_sizes(server, tmp_path, features):
    spec = PHONE if features is None else {**PHONE, "features": features}
    phone = start_phone(server, spec, tmp_path / "phone")
    try:
        check_push_pull_and_ls(server, phone, tmp_path)
    finally:
        stop_phone(server, phone)


def check_push_pull_and_ls(server, phone, tmp_path):
    data = bytes(range(256)) * 1000  # 256 kB: several DATA chunks of at most 64 KiB
    local = tmp_path / "blob.bin"
    local.write_bytes(data)
    local.chmod(0o750)
    assert adb(server, phone, "push", str(local), "/data/local/tmp/deep/er/blob.bin").returncode == 0
    assert phone.path("/data/local/tmp/deep/er/blob.bin").read_bytes() == data
    assert phone.path("/data/local/tmp/deep/er/blob.bin").stat().st_mode & 0o777 == 0o750
    back = tmp_path / "back.bin"
    assert adb(server, phone, "pull", "/data/local/tmp/deep/er/blob.bin", str(back)).returncode == 0
    assert back.read_bytes() == data
    listing = adb(server, phone, "ls", "/data/local/tmp/deep/er").stdout.decode().splitlines()
    mode, size, _mtime, name = listing[-1].split()
    assert name == "blob.bin" and int(size, 16) == len(data) and int(mode, 16) & 0o777 == 0o750
    # adb 29 prints sync errors on stdout: from STA2's error field (ENOENT), or from STAT's zero mode.
    missing = adb(server, phone, "pull", "/data/local/tmp/nothing", str(tmp_path / "x"))
    assert missing.returncode == 1 and b"remote object '/data/local/tmp/nothing'" in missing.stdout, missing


def test_streamed_install_reports_the_package_managers_line(server, phone, tmp_path):
    good, bad = tmp_path / "good.apk", tmp_path / "bad.apk"
    good.write_bytes(b"PK\x03\x04" + bytes(100_000))
    bad.write_bytes(b"not a zip")
    installed = adb(server, phone, "install", "-r", "-g", str(good))
    assert installed.returncode == 0 and installed.stdout.splitlines() == [b"Performing Streamed Install", b"Success"]
    assert (phone.root / "installed").read_text() == "com.example.mnv3.demo"
    refused = adb(server, phone, "install", str(bad))
    assert refused.returncode == 1 and b"INSTALL_PARSE_FAILED_NOT_APK" in refused.stderr


@pytest.mark.parametrize("state, listed, message", [
    ("unauthorized", "unauthorized", b"device unauthorized"),
    ("offline", "offline", b"device offline"),
])
def test_devices_that_cannot_be_used_say_so_through_the_client(server, tmp_path, state, listed, message):
    phone = start_phone(server, {**PHONE, "state": state}, tmp_path / "phone")
    try:
        assert server.states()[phone.serial] == listed
        refused = adb(server, phone, "shell", "getprop ro.product.model")
        assert refused.returncode == 1 and message in refused.stderr
    finally:
        stop_phone(server, phone)


def test_a_vanished_phone_is_gone_for_the_client(server, tmp_path):
    phone = start_phone(server, {**PHONE, "fail": {"disconnect_after": 2}}, tmp_path / "phone")
    try:
        assert adb(server, phone, "shell", "getprop ro.product.model").returncode == 0
        gone = adb(server, phone, "shell", "getprop ro.product.model")
        assert gone.returncode != 0
        again = adb(server, phone, "shell", "getprop ro.product.model")
        assert again.returncode == 1 and (b"not found" in again.stderr or b"offline" in again.stderr), again.stderr
    finally:
        stop_phone(server, phone)


def test_the_phone_runs_aarch64_code_under_qemu_and_refuses_other_machines(server, phone):
    """An arm64 phone: mnv3-sdk's arm64 runner folder, pushed whole, starts through its glibc loader
    (under qemu-aarch64 here); an x86-64 program is refused with the line Android's sh prints."""
    from mnv3_sdk.native import build_runner

    folder = build_runner("arm64").folder
    assert adb(server, phone, "push", str(folder), "/data/local/tmp/r").returncode == 0
    assert phone.path("/data/local/tmp/r/runner").read_bytes() == (folder / "runner").read_bytes()
    ran = adb(server, phone, "shell", "cd /data/local/tmp/r && ./ld-linux-aarch64.so.1 --library-path . ./runner --help")
    assert ran.returncode == 0 and ran.stdout.startswith(b"usage: runner --model PATH"), ran
    assert adb(server, phone, "push", "/bin/true", "/data/local/tmp/r/true").returncode == 0
    refused = adb(server, phone, "shell", "cd /data/local/tmp/r && ./true")
    assert refused.returncode == 126 and refused.stderr == b"/system/bin/sh: ./true: not executable: 64-bit ELF file\n"
