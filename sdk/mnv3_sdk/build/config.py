"""All validation of user input, into one immutable build config, before any heavy work."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mnv3_sdk.android.project import DEFAULT_CLASS_NAME, DEFAULT_PACKAGE, validate_class_name, validate_package
from mnv3_sdk.errors import SdkError
from mnv3_sdk.network.mobilenetv3 import VARIANTS

QUANTS = ("fp32", "fp16", "int8")
INPUT_FORMATS = ("pixels", "normalized")
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 32, 1024
MIN_WIDTH, MAX_WIDTH = 0.1, 2.0


@dataclass(frozen=True)
class BuildConfig:
    variant: str
    width_mult: float
    quant: str
    input_size: int
    input_format: str
    crop_fraction: float | None  # None: the weights' recommended fraction
    weights: str  # "imagenet", "random" or a file path
    labels_path: Path | None
    val_dir: Path | None
    min_accuracy_ratio: float
    out_dir: Path
    force: bool
    calibration_dir: Path | None = None
    calibration_samples: int | None = None  # None: 128 from a folder, 32 synthesized data-free
    quant_exclude: str | None = None  # "first,last" or layer names, kept in fp32
    per_tensor: bool = False
    sensitivity: bool = False
    package: str = DEFAULT_PACKAGE
    class_name: str = DEFAULT_CLASS_NAME
    build_aar: bool = True
    allow_portable_ops: bool = False  # warn instead of failing on tensor-sized portable operators

    @property
    def name(self) -> str:
        """The build's name: the output folder's name, also the .pte's file name."""
        return self.out_dir.name


def default_out_dir(variant: str, quant: str) -> Path:
    return Path("dist") / f"mnv3-{variant}-{quant}"


def make_build_config(
    *,
    variant: str,
    width_mult: float = 1.0,
    quant: str = "fp32",
    input_size: int = 224,
    input_format: str = "pixels",
    crop_fraction: float | None = None,
    weights: str = "imagenet",
    labels_path: Path | None = None,
    val_dir: Path | None = None,
    min_accuracy_ratio: float = 0.98,
    out_dir: Path | None = None,
    force: bool = False,
    calibration_dir: Path | None = None,
    calibration_samples: int | None = None,
    quant_exclude: str | None = None,
    per_tensor: bool = False,
    sensitivity: bool = False,
    package: str = DEFAULT_PACKAGE,
    class_name: str = DEFAULT_CLASS_NAME,
    build_aar: bool = True,
    allow_portable_ops: bool = False,
) -> BuildConfig:
    if variant not in VARIANTS:
        raise SdkError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if not MIN_WIDTH <= width_mult <= MAX_WIDTH:
        raise SdkError(f"width multiplier {width_mult:g} is out of range ({MIN_WIDTH:g} to {MAX_WIDTH:g}, e.g. 0.75)")
    if quant not in QUANTS:
        raise SdkError(f"unknown quantization {quant!r}: choose one of {', '.join(QUANTS)}")
    int8_only = {
        "--calibration-dir": calibration_dir is not None,
        "--calibration-samples": calibration_samples is not None,
        "--quant-exclude": bool(quant_exclude),
        "--per-tensor": per_tensor,
        "--sensitivity": sensitivity,
    }
    if quant != "int8" and any(int8_only.values()):
        given = ", ".join(flag for flag, used in int8_only.items() if used)
        raise SdkError(f"{given} only applies to --quant int8 (this build is {quant})")
    if calibration_samples is not None and not 1 <= calibration_samples <= 100_000:
        raise SdkError(f"calibration samples {calibration_samples} must be between 1 and 100000")
    if calibration_dir is not None and not calibration_dir.is_dir():
        raise SdkError(f"calibration folder not found: {calibration_dir}")
    if not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
        raise SdkError(f"input size {input_size} is out of range ({MIN_INPUT_SIZE} to {MAX_INPUT_SIZE} pixels)")
    if input_format not in INPUT_FORMATS:
        raise SdkError(f"unknown input format {input_format!r}: choose one of {', '.join(INPUT_FORMATS)}")
    if crop_fraction is not None and not 0.0 < crop_fraction <= 1.0:
        raise SdkError(f"crop fraction {crop_fraction:g} must be in (0, 1], e.g. 0.875")
    if not 0.0 <= min_accuracy_ratio <= 1.0:
        raise SdkError(f"minimum accuracy ratio {min_accuracy_ratio:g} must be between 0 and 1")
    if weights not in ("imagenet", "random") and not Path(weights).is_file():
        raise SdkError(
            f"weights file not found: {weights} (give a .pth/.pt state dict, 'imagenet' or 'random')"
        )
    if labels_path is not None and not labels_path.is_file():
        raise SdkError(f"labels file not found: {labels_path}")
    if val_dir is not None and not val_dir.is_dir():
        raise SdkError(f"validation folder not found: {val_dir}")
    validate_package(package)
    validate_class_name(class_name)
    out_dir = out_dir if out_dir is not None else default_out_dir(variant, quant)
    _check_output_dir(out_dir, force)
    return BuildConfig(
        variant=variant,
        width_mult=width_mult,
        quant=quant,
        input_size=input_size,
        input_format=input_format,
        crop_fraction=crop_fraction,
        weights=weights,
        labels_path=labels_path,
        val_dir=val_dir,
        min_accuracy_ratio=min_accuracy_ratio,
        out_dir=out_dir,
        force=force,
        calibration_dir=calibration_dir,
        calibration_samples=calibration_samples,
        quant_exclude=quant_exclude,
        per_tensor=per_tensor,
        sensitivity=sensitivity,
        package=package,
        class_name=class_name,
        build_aar=build_aar,
        allow_portable_ops=allow_portable_ops,
    )


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
