"""Class labels: ImageNet's shipped list, or a user's UTF-8 file with one label per line."""

from __future__ import annotations

from pathlib import Path

from mnv3_sdk.errors import SdkError
from mnv3_sdk.resources import imagenet_labels_file


def imagenet_labels() -> list[str]:
    return _parse(imagenet_labels_file().read_text(encoding="utf-8"), "ImageNet labels")


def read_labels(path: Path) -> list[str]:
    """Read a labels file; labels are data and may hold any character but a line break."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SdkError(f"labels file not found: {path}") from None
    except OSError as error:
        raise SdkError(f"cannot read labels file {path}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SdkError(f"labels file {path} is not UTF-8 (byte {error.start})") from None
    return _parse(text, f"labels file {path}")


def _parse(text: str, what: str) -> list[str]:
    # Only "\n" (or "\r\n") ends a label: str.splitlines would also split inside labels that
    # contain characters such as U+2028 or form feeds.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdkError(f"{what} is empty")
    seen: dict[str, int] = {}
    for number, label in enumerate(lines, start=1):
        if not label.strip():
            raise SdkError(f"{what}: line {number} is empty")
        if label in seen:
            raise SdkError(f"{what}: label {label!r} on line {number} repeats line {seen[label]}")
        seen[label] = number
    return lines


def placeholder_labels(num_classes: int) -> list[str]:
    """Names for a custom head whose labels were not given: 'class_0', 'class_1', …"""
    return [f"class_{index}" for index in range(num_classes)]
