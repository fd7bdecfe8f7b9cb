"""The instruction-counting qemu plugin (plugin.c), compiled with the host's gcc into the user cache."""

from __future__ import annotations

import hashlib
import re
import subprocess
from importlib import resources
from pathlib import Path

from mnv3_sdk.cache import entry_writer, user_cache_dir
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native.toolchain import compiler_version, host_c_compiler

_TOTAL = re.compile(r"^total: (\d+)$", re.MULTILINE)
_INTERVAL = re.compile(r"^interval (\d+): (\d+)$", re.MULTILINE)
_READS = re.compile(r"^reads (\d+):((?: \d+)+)$", re.MULTILINE)


def build_plugin(cache: Path | None = None) -> Path:
    """The plugin's shared object, compiled now or found in the cache (keyed by source and gcc)."""
    compiler = host_c_compiler().require()
    source = resources.files("mnv3_sdk.native").joinpath("plugin.c").read_bytes()
    key = hashlib.sha256(source + compiler_version(compiler).encode()).hexdigest()[:20]
    path = (cache or user_cache_dir()) / "native" / f"insn_count-{key}.so"
    if path.is_file():
        return path
    with entry_writer(path, suffix=".so") as partial:
        # -fvisibility=hidden: only qemu_plugin_install and qemu_plugin_version are exported (marked
        # in plugin.c); the qemu_plugin_* calls resolve against qemu-aarch64's own exported symbols.
        result = subprocess.run([str(compiler), "-shared", "-fPIC", "-O2", "-Wall", "-fvisibility=hidden", "-x", "c",
                                 "-", "-o", str(partial)], input=source, capture_output=True)
        if result.returncode != 0:
            lines = result.stderr.decode(errors="replace").splitlines()
            raise SdkError(f"compiling the qemu instruction-counting plugin failed: {lines[0] if lines else 'no output'}")
    return path


def read_counts(path: Path) -> tuple[int, list[int]]:
    """(instructions of the whole process, instructions of each marked interval) from the plugin's file."""
    text = path.read_text() if path.is_file() else ""
    total = _TOTAL.search(text)
    if total is None:
        raise SdkError(f"the qemu instruction-counting plugin wrote no result to {path}")
    if "overflow" in text:
        raise SdkError("the qemu instruction-counting plugin ran out of interval slots: time fewer iterations")
    return int(total.group(1)), [int(count) for _, count in _INTERVAL.findall(text)]


def read_clock_reads(path: Path, intervals: int) -> list[list[int]]:
    """For each of the first ``intervals`` marked intervals, the instructions counted (from its
    begin) at each clock_gettime call inside it: empty where it made none."""
    reads: list[list[int]] = [[] for _ in range(intervals)]
    for number, values in _READS.findall(path.read_text() if path.is_file() else ""):
        if 1 <= int(number) <= intervals:
            reads[int(number) - 1] = [int(value) for value in values.split()]
    return reads
