"""Every profile option, with its default, validated on construction before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk import options
from mnv3_sdk.errors import SdkError
from mnv3_sdk.options import option

MAX_RUNS = 100_000


@dataclass(frozen=True)
class ProfileConfig:
    """The one declaration of ``profile``'s options: the CLI's options are made from these fields
    (default, help, flag: ``options.option``) and ``mnv3_sdk.profile_model(model, **options)``
    takes them as keywords."""

    model: Path  # the .pte, with its debug-handle sidecar beside it
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

    def __post_init__(self) -> None:
        from mnv3_sdk.pte.runtime import check_pte_file

        options.normalize_option_types(self)
        object.__setattr__(self, "model", Path(self.model))
        for flag, value, low, high in (("--threads", self.threads, 1, 256), ("--runs", self.runs, 1, MAX_RUNS),
                                       ("--top", self.top, 1, MAX_RUNS), ("--depth", self.depth, 1, 32)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SdkError(f"{flag} takes a whole number from {low} to {high} (got {value!r})")
        check_pte_file(self.model)
        outputs = [self.json_path, self.markdown_path, self.plot_path, self.etdump_path]
        if len({path.resolve() for path in outputs}) < len(outputs):
            raise SdkError("--json, --markdown, --plot and --etdump must name four different files")
        if self.model.resolve() in {path.resolve() for path in outputs}:
            raise SdkError(f"an output path names the model itself ({self.model})")
        for path in outputs:
            _check_writable(path)


def _check_writable(path: Path) -> None:
    """Refuse an output that cannot be written before minutes of profiling, not after writing the others."""
    if path.is_dir():
        raise SdkError(f"cannot write {path}: it is a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SdkError(f"cannot write {path}: {ancestor} is not a folder")
