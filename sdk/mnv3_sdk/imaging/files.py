"""Reading images from disk: labelled validation folders and plain image folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mnv3_sdk.errors import SdkError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


# What Pillow raises for a file it cannot open or decode.
_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file into H×W×3 uint8 RGB (alpha dropped, like the Android wrapper)."""
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except _UNREADABLE as error:
        raise _cannot_read(path, error) from None


def check_headers(paths: list[Path]) -> None:
    """Raise read_rgb's error for the first file that does not even open as an image.

    Pillow reads only the header here (well under a millisecond a file), so a file that is not an
    image stops the build in its first seconds rather than after the minute-long export; decoding
    errors deeper in a file still surface when the image is read."""
    for path in paths:
        try:
            with Image.open(path):
                pass
        except _UNREADABLE as error:
            raise _cannot_read(path, error) from None


def _cannot_read(path: Path, error: Exception) -> SdkError:
    return SdkError(f"cannot read image {path}: {type(error).__name__}: {str(error)[:120]}")


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class LabelledImages:
    """A validation set: image paths and their label indices, plus files that were skipped."""

    paths: list[Path]
    label_indices: list[int]
    skipped_files: int


def find_labelled_images(folder: Path, labels: list[str]) -> LabelledImages:
    """``folder/<label>/<image>``: one sub-folder per class, folder names are labels."""
    if not folder.is_dir():
        raise SdkError(f"validation folder not found: {folder}")
    index_of = {label: index for index, label in enumerate(labels)}
    paths: list[Path] = []
    label_indices: list[int] = []
    skipped = 0
    class_folders = sorted(entry for entry in folder.iterdir() if entry.is_dir())
    if not class_folders:
        raise SdkError(f"validation folder {folder} has no class sub-folders (expected {folder}/<label>/<image>)")
    for class_folder in class_folders:
        if class_folder.name not in index_of:
            raise SdkError(
                f"validation folder {folder}: sub-folder {class_folder.name!r} is not one of the model's labels"
            )
        for path in sorted(class_folder.rglob("*")):
            if is_image_file(path):
                paths.append(path)
                label_indices.append(index_of[class_folder.name])
            elif path.is_file():
                skipped += 1
    if not paths:
        raise SdkError(f"validation folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    check_headers(paths)
    return LabelledImages(paths, label_indices, skipped)
