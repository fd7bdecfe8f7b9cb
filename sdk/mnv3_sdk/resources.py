"""Data files shipped inside the installed package (label lists, templates)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable


def imagenet_labels_file() -> Traversable:
    return resources.files("mnv3_sdk.models") / "imagenet_labels.txt"


def templates_dir() -> Traversable:
    return resources.files("mnv3_sdk.templates")
