"""All validation of user input, into one immutable build config, before any heavy work."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


from mnv3_sdk import options
from mnv3_sdk.options import option
from mnv3_sdk.android.project import DEFAULT_CLASS_NAME, DEFAULT_PACKAGE, validate_class_name, validate_package
from mnv3_sdk.errors import SdkError
from mnv3_sdk.network.mobilenetv3 import VARIANTS
from mnv3_sdk.verify.metrics import DEFAULT_MIN_ACCURACY_RATIO

QUANTS = ("fp32", "fp16", "int8")
INPUT_FORMATS = ("pixels", "normalized")
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 32, 1024
MIN_WIDTH, MAX_WIDTH = 0.1, 2.0


@dataclass(frozen=True)
class BuildConfig:
    """Every build option, with its default, validated on construction (``SdkError`` with a one-line
    message naming the CLI flag) before any heavy work starts.

    The one declaration of the build's options: the CLI's options are made from these fields
    (default, help, flag: ``options.option``) and ``mnv3_sdk.build_sdk(**options)`` takes them as
    keywords.
    """

    variant: str = option("small", "MobileNetV3 size (paper tables 1 and 2).", choices=VARIANTS)
    width_mult: float = option(1.0, "Width multiplier, e.g. 0.75 (ImageNet weights exist for 1.0 only).", name="--width")
    quant: str = option("fp32", "Numeric format of the exported model (XNNPACK kernels).", choices=QUANTS)
    weights: str = option(
        "imagenet", "torchvision's ImageNet checkpoint (downloaded once into the torch hub cache), seeded random "
        "weights (smoke tests only), or a state dict file (.pth/.pt).", metavar="imagenet|random|PATH")
    labels_path: Path | None = option(
        None, "UTF-8 file, one label per line, for a custom head. Default: ImageNet's 1000 classes.", name="--labels")
    input_size: int = option(224, "Square input side in pixels.")
    input_format: str = option(
        "pixels", "pixels: RGB values 0-255 as floats, NCHW, normalized inside the graph. normalized: "
        "mean/std-normalized floats, NCHW, for callers who normalize themselves.", choices=INPUT_FORMATS)
    crop_fraction: float | None = option(
        None, "Central crop kept before resizing, recorded for the wrappers. Default: what the weights were "
        "evaluated with (0.875 for most).")
    val_dir: Path | None = option(
        None, "Labelled images, one sub-folder per class named by its label: measures top-1/top-5 of eager and "
        "exported models and gates the build on them.")
    min_accuracy_ratio: float = option(
        DEFAULT_MIN_ACCURACY_RATIO, "Fail the build when the .pte's top-1 is below this fraction of eager fp32's.")
    calibration_dir: Path | None = option(
        None, "int8: images (searched recursively) to calibrate activation ranges; a quarter of them (up to 64) is "
        "held out to judge the model on, and flat, duplicate or unrepresentative images are refused. Without it, "
        "calibration images are synthesized from the network's BatchNorm statistics.")
    calibration_samples: int | None = option(
        None, "int8: how many images to calibrate with (default 128 from a folder, 32 data-free).")
    quant_exclude: str | None = option(
        None, "int8: comma-separated layers kept in fp32: first, last, or names such as features.0.0.", metavar="LAYERS")
    allow_portable_ops: bool = option(
        False, "Build even when operators over whole tensors are left outside XNNPACK (listed in the report as a "
        "warning); by default such a model is refused as needlessly slow.")
    per_tensor: bool = option(False, "int8: one weight scale per tensor instead of per channel.")
    sensitivity: bool = option(
        False, "int8: report each layer's SQNR against fp32, worst first (always done when the gate fails on real "
        "images).")
    etrecord: bool = option(
        False, "Also write ExecuTorch's ETRecord (<name>.etrecord, tens of MB) for its Inspector; mnv3-sdk profile "
        "needs only the small <name>.debug-handles.json every build writes.")
    package: str = option(DEFAULT_PACKAGE, "Kotlin package (and Android namespace) of the generated library.")
    class_name: str = option(DEFAULT_CLASS_NAME, "Name of the generated classifier class.")
    build_aar: bool = option(
        True, "Write the Gradle project but skip compiling the Kotlin and packaging the AAR.", name="--no-aar",
        negate=True)
    # skipped, with a warning, where qemu-aarch64 or the arm64 cross compiler is missing
    arm64_check: bool = option(
        True, "Skip running the model on ExecuTorch's arm64 kernels under qemu-aarch64 (done by default when "
        "qemu-aarch64 and the arm64 cross compiler are installed; a failure refuses the build).",
        name="--no-arm64-check", negate=True)
    # None: dist/mnv3-<variant>-<quant>; always a Path once constructed
    out_dir: Path | None = option(None, "Output folder. Default: dist/mnv3-<variant>-<quant>.", name="--out")
    force: bool = option(False, "Replace the output folder if it exists.")

    def __post_init__(self) -> None:
        options.normalize_option_types(self)
        _validate(self)
        if self.out_dir is None:
            object.__setattr__(self, "out_dir", default_out_dir(self.variant, self.quant))
        _check_output_dir(self.out_dir, self.force)

    @property
    def name(self) -> str:
        """The build's name: the output folder's name, also the .pte's file name."""
        return self.out_dir.name



def default_out_dir(variant: str, quant: str) -> Path:
    return Path("dist") / f"mnv3-{variant}-{quant}"


def _validate(config: BuildConfig) -> None:
    if config.variant not in VARIANTS:
        raise SdkError(f"unknown variant {config.variant!r}: choose one of {', '.join(VARIANTS)}")
    if not MIN_WIDTH <= config.width_mult <= MAX_WIDTH:
        raise SdkError(f"width multiplier {config.width_mult:g} is out of range ({MIN_WIDTH:g} to {MAX_WIDTH:g}, e.g. 0.75)")
    if config.quant not in QUANTS:
        raise SdkError(f"unknown quantization {config.quant!r}: choose one of {', '.join(QUANTS)}")
    int8_only = {
        "--calibration-dir": config.calibration_dir is not None,
        "--calibration-samples": config.calibration_samples is not None,
        "--quant-exclude": bool(config.quant_exclude),
        "--per-tensor": config.per_tensor,
        "--sensitivity": config.sensitivity,
    }
    if config.quant != "int8" and any(int8_only.values()):
        given = ", ".join(flag for flag, used in int8_only.items() if used)
        raise SdkError(f"{given} only applies to --quant int8 (this build is {config.quant})")
    if config.calibration_samples is not None and not 1 <= config.calibration_samples <= 100_000:
        raise SdkError(f"calibration samples {config.calibration_samples} must be between 1 and 100000")
    if config.calibration_dir is not None and not config.calibration_dir.is_dir():
        raise SdkError(f"calibration folder not found: {config.calibration_dir}")
    if not MIN_INPUT_SIZE <= config.input_size <= MAX_INPUT_SIZE:
        raise SdkError(f"input size {config.input_size} is out of range ({MIN_INPUT_SIZE} to {MAX_INPUT_SIZE} pixels)")
    if config.input_format not in INPUT_FORMATS:
        raise SdkError(f"unknown input format {config.input_format!r}: choose one of {', '.join(INPUT_FORMATS)}")
    if config.crop_fraction is not None and not 0.0 < config.crop_fraction <= 1.0:
        raise SdkError(f"crop fraction {config.crop_fraction:g} must be in (0, 1], e.g. 0.875")
    if not 0.0 <= config.min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {config.min_accuracy_ratio:g} must be between 0 and 1")
    if config.weights not in ("imagenet", "random") and not Path(config.weights).is_file():
        raise SdkError(
            f"config.weights file not found: {config.weights} (give a .pth/.pt state dict, 'imagenet' or 'random')"
        )
    if config.labels_path is not None and not config.labels_path.is_file():
        raise SdkError(f"labels file not found: {config.labels_path}")
    if config.val_dir is not None and not config.val_dir.is_dir():
        raise SdkError(f"validation folder not found: {config.val_dir}")
    validate_package(config.package)
    validate_class_name(config.class_name)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_output_dir(out_dir: Path, force: bool) -> None:
    if not _SAFE_NAME.match(out_dir.name):
        raise SdkError(
            f"output folder name {out_dir.name!r} must start with a letter or digit and use only "
            "letters, digits, '.', '_' and '-' (it names the model file)"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise SdkError(f"output path {out_dir} exists and is not a folder")
    if out_dir.exists() and not force:
        raise SdkError(f"output folder {out_dir} already exists: pass --force to replace it")
    ancestor = out_dir.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise SdkError(f"cannot write the output folder {out_dir}: {ancestor} is not writable")
    # os.access answers for permission bits only: root passes it on read-only mounts and in /proc
    # or /sys, where the build would fail only after minutes of export. Ask the file system itself.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mnv3-sdk-probe-", dir=ancestor))
    except OSError as error:
        raise SdkError(f"cannot write the output folder {out_dir}: {ancestor}: {error.strerror}") from None
