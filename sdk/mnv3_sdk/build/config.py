"""All validation of user input, into one immutable build config, before any heavy work."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnv3_sdk import options
from mnv3_sdk.android.project import DEFAULT_CLASS_NAME, DEFAULT_PACKAGE, validate_class_name, validate_package
from mnv3_sdk.errors import SdkError
from mnv3_sdk.network.mobilenetv3 import VARIANTS

QUANTS = ("fp32", "fp16", "int8")
INPUT_FORMATS = ("pixels", "normalized")
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 32, 1024
MIN_WIDTH, MAX_WIDTH = 0.1, 2.0


@dataclass(frozen=True)
class BuildConfig:
    """Every build option, with its default, validated on construction (``SdkError`` with a one-line
    message naming the CLI flag) before any heavy work starts.

    The one declaration of the build's options: the CLI's defaults are read from here
    (``option_default``) and ``mnv3_sdk.build_sdk(**options)`` takes these fields as keywords.
    """

    variant: str = "small"
    width_mult: float = 1.0
    quant: str = "fp32"
    input_size: int = 224
    input_format: str = "pixels"
    crop_fraction: float | None = None  # None: the weights' recommended fraction
    weights: str = "imagenet"  # "imagenet", "random" or a file path
    labels_path: Path | None = None
    val_dir: Path | None = None
    min_accuracy_ratio: float = 0.98
    out_dir: Path | None = None  # None: dist/mnv3-<variant>-<quant>; always a Path once constructed
    force: bool = False
    calibration_dir: Path | None = None
    calibration_samples: int | None = None  # None: 128 from a folder, 32 synthesized data-free
    quant_exclude: str | None = None  # "first,last" or layer names, kept in fp32
    per_tensor: bool = False
    sensitivity: bool = False
    package: str = DEFAULT_PACKAGE
    class_name: str = DEFAULT_CLASS_NAME
    build_aar: bool = True
    allow_portable_ops: bool = False  # warn instead of failing on tensor-sized portable operators
    # Run the model on arm64 kernels under qemu-aarch64 and gate on it (verify/arm64.py); skipped,
    # with a warning, where qemu-aarch64 or the arm64 cross compiler is missing.
    arm64_check: bool = True

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


def option_default(name: str) -> Any:
    """The default of the build option ``name`` (a BuildConfig field), for the CLI's declarations."""
    return options.option_default(BuildConfig, name)


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
