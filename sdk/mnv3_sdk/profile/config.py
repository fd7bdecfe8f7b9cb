"""Every profile option, with its default, validated on construction before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mnv3_sdk import options
from mnv3_sdk.bench.adb import parse_server
from mnv3_sdk.native import ARCHES, DEFAULT_CPU_MODELS, arch_cpu_models
from mnv3_sdk.errors import SdkError
from mnv3_sdk.options import option

MAX_RUNS = 100_000


@dataclass(frozen=True)
class ProfileConfig:
    """The one declaration of ``profile``'s options: the CLI's options are made from these fields
    (default, help, flag: ``options.option``) and ``mnv3_sdk.profile_model(model, **options)``
    takes them as keywords."""

    model: Path  # the .pte, with its debug-handle sidecar beside it
    arch: str = option(
        "host", "arm64: instead of timing on this host, count the guest instructions of each operator of "
        "ExecuTorch's arm64 kernels under qemu-aarch64, per --cpu-models entry (instructions, not time).",
        choices=ARCHES)
    cpu_models: str = option(
        ",".join(DEFAULT_CPU_MODELS), "With --arch arm64: qemu CPU models, comma-separated (cortex-a53: no dot "
        "product; neoverse-n1: dot product and fp16 arithmetic). With several, each output's name gets -MODEL.")
    adb: bool = option(
        False, "Profile on an Android phone over adb instead: mnv3-sdk's arm64 runner with the event tracer, pushed "
        "as bench --adb --mode runner pushes it and removed after; the phone's own times (untested on a physical "
        "phone).")
    serial: str | None = option(None, "With --adb: the device to use when several are connected.")
    adb_server: str | None = option(
        None, "With --adb: use the adb server at HOST:PORT, as adb -H HOST -P PORT (as bench --adb-server).",
        metavar="HOST:PORT")
    threads: int = option(1, "Threads of the runtime's thread pool.")
    runs: int = option(20, "Measured inferences, after one warm-up; each time is the median over them.")
    top: int = option(10, "Operators and modules in the printed tables (the JSON holds them all).")
    depth: int = option(
        2, "Module path parts the per-module table groups by: 2 gives features.3, 4 gives features.3.block.1.")
    json_path: Path = option(Path("profile.json"), "Where to write the tables as JSON.", name="--json")
    markdown_path: Path = option(Path("profile.md"), "Where to write the tables as Markdown.", name="--markdown")
    plot_path: Path = option(Path("profile.png"), "Where to draw the per-module chart.", name="--plot")
    etdump_path: Path = option(
        Path("profile.etdp"), "Where to keep the raw ETDump, for ExecuTorch's Inspector.", name="--etdump")
    cpu_model_list: tuple[str, ...] = field(init=False)  # arm64: the parsed cpu_models; host: ()

    def __post_init__(self) -> None:
        from mnv3_sdk.pte.runtime import check_pte_file

        options.normalize_option_types(self)
        object.__setattr__(self, "model", Path(self.model))
        for flag, value, low, high in (("--threads", self.threads, 1, 256), ("--runs", self.runs, 1, MAX_RUNS),
                                       ("--top", self.top, 1, MAX_RUNS), ("--depth", self.depth, 1, 32)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SdkError(f"{flag} takes a whole number from {low} to {high} (got {value!r})")
        check_pte_file(self.model)
        object.__setattr__(self, "cpu_model_list", _check_arch(self))
        _check_adb(self)
        outputs = [path for paths in self.outputs().values() for path in paths]
        if len({path.resolve() for path in outputs}) < len(outputs):
            raise SdkError("--json, --markdown, --plot and --etdump must name four different files")
        if self.model.resolve() in {path.resolve() for path in outputs}:
            raise SdkError(f"an output path names the model itself ({self.model})")
        for path in outputs:
            _check_writable(path)

    def outputs(self) -> dict[str, tuple[Path, Path, Path, Path]]:
        """Per CPU model ("" on the host), its JSON, Markdown, chart and ETDump paths: the given ones,
        or with several CPU models, the given ones with -MODEL before the suffix."""
        given = (self.json_path, self.markdown_path, self.plot_path, self.etdump_path)
        if len(self.cpu_model_list) <= 1:
            return {(self.cpu_model_list or ("",))[0]: given}
        return {cpu: tuple(path.with_name(f"{path.stem}-{cpu}{path.suffix}") for path in given)  # type: ignore[misc]
                for cpu in self.cpu_model_list}


def _check_arch(config: ProfileConfig) -> tuple[str, ...]:
    if config.arch == "arm64" and config.threads != 1:
        # The plugin's one counter is shared by every vCPU thread, added to without atomics.
        raise SdkError("--arch arm64 counts instructions with one thread only: leave out --threads")
    return arch_cpu_models(config.arch, config.cpu_models, "profile --arch arm64")


def _check_adb(config: ProfileConfig) -> None:
    if config.adb and config.arch != "host":
        raise SdkError("--adb profiles on a phone's own cores: it takes no --arch arm64 (which counts instructions "
                       "under qemu on this host)")
    if not config.adb and (config.serial is not None or config.adb_server is not None):
        raise SdkError("--serial and --adb-server only apply with --adb")
    if config.adb_server is not None:
        parse_server(config.adb_server)


def _check_writable(path: Path) -> None:
    """Refuse an output that cannot be written before minutes of profiling, not after writing the others."""
    if path.is_dir():
        raise SdkError(f"cannot write {path}: it is a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SdkError(f"cannot write {path}: {ancestor} is not a folder")
