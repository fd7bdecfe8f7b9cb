"""Shared fixtures: the CLI run in-process, a trained digits model, and builds reused across tests."""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

# One PyTorch thread per test process, set before torch is imported (subprocesses inherit it). The
# suite runs in two pytest-xdist workers on a two-core machine; two PyTorch threads each would put
# four busy threads on two cores, and PyTorch's spinning worker threads then run small tensors 28×
# slower (benchmarks/torch_threads.py, docs/testing.md).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from digits import DigitsFixture, make_digits_fixture  # noqa: E402

from mnv3_sdk.cli import main  # noqa: E402

DATA = Path(__file__).parent / "data"


T = TypeVar("T")

# Fixtures that train a model, build one, or start Robolectric: every test using one, directly or
# through another fixture, is in the slow lane, which `make test-fast` leaves out (docs/testing.md).
SLOW_FIXTURES = frozenset({
    "digits", "digits_48", "digits_build", "digits_models", "calibrated_int8", "digits_int8_excluded",
    "weird_labels_build",
    "format_builds", "robolectric", "outcomes",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]) -> T:
    """``make(folder)``, made once per test run however many pytest-xdist workers ask for it.

    Every worker is a session of its own, so a session fixture alone would train the digits model
    and build the shared models once per worker. The first worker to ask makes the value in the
    run's shared temporary folder, under a file lock, and pickles it there; the others wait for the
    lock and read it. A failure is recorded, so the others fail at once with its message instead
    of repeating minutes of work. Without xdist the folder is the session's own.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # .../pytest-N/popen-gwK: pytest-N is this run's, shared by its workers
    folder, value_file, failure_file = root / f"shared-{name}", root / f"{name}.pickle", root / f"{name}.failed"
    asked = time.monotonic()
    with FileLock(str(root / f"{name}.lock")):
        if failure_file.is_file():
            raise RuntimeError(f"{name} failed in another worker: {failure_file.read_text()}")
        if value_file.is_file():
            _account(root, f"{name}: waited {time.monotonic() - asked:.0f} s for another worker")
            return pickle.loads(value_file.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        try:
            value = make(folder)
        except BaseException as error:
            failure_file.write_text(f"{type(error).__name__}: {error}"[:2000])
            raise
        value_file.write_bytes(pickle.dumps(value))
        _account(root, f"{name}: made in {time.monotonic() - asked:.0f} s")
        return value


_ACCOUNT = "made-once.log"


def _account(root: Path, line: str) -> None:
    """One line per shared value per worker, printed at the end of the run: a worker that waits
    minutes for another's value is a core left idle, which --durations alone does not show."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (root / _ACCOUNT).open("a", encoding="utf-8") as log:
        log.write(f"{worker} {line}\n")


def pytest_terminal_summary(terminalreporter, config) -> None:
    factory = getattr(config, "_tmp_path_factory", None)
    log = factory.getbasetemp() / _ACCOUNT if factory else None
    if log and log.is_file():
        terminalreporter.write_sep("-", "values made once (tests/conftest.py made_once)")
        terminalreporter.write(log.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def harness(tmp_path_factory):
    """The generated plain Kotlin and tests/kotlin/JvmHarness.kt, compiled once for every JVM test."""
    from kotlin_jvm import JvmHarness

    return made_once(tmp_path_factory, "kotlin-harness", JvmHarness)


@pytest.fixture
def run_cli(capsys):
    """Run ``mnv3-sdk ARGS`` in this process (the real entry point, minus interpreter start-up)."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_cli_once(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> DigitsFixture:
    """A MobileNetV3-Small ×0.5 trained on scikit-learn's digits (about 97% top-1)."""
    return made_once(tmp_path_factory, "digits", make_digits_fixture)


def digits_build_args(digits: DigitsFixture, out: Path, *extra: str, aar: bool = False, arm64: bool = False) -> list[str]:
    """CLI arguments building the digits model; the Kotlin/AAR stage and the arm64 step (a few
    seconds of qemu per build on this host) only when a test needs them."""
    return [
        "build", "--variant", "small", "--width", "0.5",
        "--weights", str(digits.weights_path), "--labels", str(digits.labels_path),
        "--input-size", "32", "--crop-fraction", "1.0",
        "--val-dir", str(digits.val_dir), "--out", str(out), *extra, *([] if aar else ["--no-aar"]),
        *([] if arm64 else ["--no-arm64-check"]),
    ]


@pytest.fixture(scope="session")
def digits_build(digits, tmp_path_factory) -> Path:
    """The digits model built to fp32 with its validation folder, the arm64 step included (as a
    user's build runs it); returns the output folder."""

    def make(folder: Path) -> Path:
        out = folder / "digits-fp32"
        assert run_cli_once(*digits_build_args(digits, out, aar=True, arm64=True)) == 0
        return out

    return made_once(tmp_path_factory, "digits-build", make)


@pytest.fixture(scope="session")
def digits_models(digits, digits_build, tmp_path_factory) -> dict[str, Path]:
    """The digits network as fp32 (the session's shared build), int8 (calibrated on its own images,
    the arm64 step included, without --val-dir: judged on held-out calibration images) and fp16
    (judged on --val-dir: test_formats' fp16/pixels build) .pte files."""

    def make(folder: Path) -> dict[str, Path]:
        paths = {"fp32": digits_build / f"{digits_build.name}.pte"}
        for quant, extra in [("int8", ["--calibration-dir", str(digits.calibration_dir)]), ("fp16", [])]:
            # Named as calibrated_int8's folder is: the model's name is in the .pte, and
            # test_same_calibration_gives_byte_identical_int8 compares the two builds' bytes.
            out = folder / f"digits-{quant}"
            args = digits_build_args(digits, out, "--quant", quant, *extra, arm64=quant == "int8")
            if quant == "int8":
                at = args.index("--val-dir")
                del args[at:at + 2]
            assert run_cli_once(*args) == 0
            paths[quant] = out / f"{out.name}.pte"
        return paths

    return made_once(tmp_path_factory, "digits-models", make)


@pytest.fixture(scope="session")
def random_build_result(tmp_path_factory):
    """The README's offline smoke build, Small fp32 with random weights and the AAR, made through
    the Python API (tests/test_api.py reads its typed result; the CLI is the same call)."""
    import mnv3_sdk

    # Without the arm64 step: Small at 224 px under qemu would add minutes to every session (the
    # digits int8 build of digits_models runs it).
    return made_once(tmp_path_factory, "random-build", lambda folder: mnv3_sdk.build_sdk(
        variant="small", weights="random", arm64_check=False, out_dir=folder / "mnv3-small-fp32"))


@pytest.fixture(scope="session")
def random_build(random_build_result) -> Path:
    """The smoke build's folder."""
    return random_build_result.out_dir


@pytest.fixture(scope="session")
def calibrated_int8(digits, tmp_path_factory) -> Path:
    """The digits model in int8, calibrated on its folder (128 of 300 images), judged on its
    validation folder, with the per-layer sensitivity table: shared by the int8 and format tests."""

    def make(folder: Path) -> Path:
        out = folder / "digits-int8"
        assert run_cli_once(*digits_build_args(digits, out, "--quant", "int8", "--calibration-dir",
                                               str(digits.calibration_dir), "--sensitivity")) == 0
        return out

    return made_once(tmp_path_factory, "calibrated-int8", make)


@pytest.fixture(scope="session")
def digits_int8_excluded(digits, tmp_path_factory) -> Path:
    """The digits model in int8 with its first and last layers and the squeeze-excite block
    features.4 kept in fp32 (`--quant-exclude first,last,features.4`), taking normalized input
    (`--input-format normalized`): the int8, profile and input-format tests."""

    def make(folder: Path) -> Path:
        out = folder / "digits-int8-exclude"
        assert run_cli_once(*digits_build_args(digits, out, "--quant", "int8", "--calibration-dir",
                                               str(digits.calibration_dir), "--quant-exclude",
                                               "first,last,features.4", "--input-format", "normalized")) == 0
        return out

    return made_once(tmp_path_factory, "digits-int8-excluded", make)


@pytest.fixture(scope="session")
def adb_server(tmp_path_factory):
    """Debian's adb server on a free loopback port for the whole session, killed at its end
    (tests/emulated_android/harness.py); the device tests connect emulated phones to it."""
    from emulated_android.harness import AdbServer

    server = AdbServer(tmp_path_factory.mktemp("adb-server"))
    yield server
    server.stop()
