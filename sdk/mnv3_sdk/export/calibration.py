"""Calibration inputs for int8: the user's images, or images synthesized from BatchNorm statistics."""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mnv3_sdk.cache import entry_writer, user_cache_dir
from mnv3_sdk.errors import SdkError
from mnv3_sdk.imaging.files import IMAGE_SUFFIXES, is_image_file, read_rgb
from mnv3_sdk.imaging.model_input import normalized_to_rgb
from mnv3_sdk.imaging.preprocess import center_crop_box, preprocess_rgb, resize_square
from mnv3_sdk.progress import Progress

# Data-free synthesis: small enough to run on a laptop CPU in about a minute, cached afterwards.
DATA_FREE_DEFAULT_SAMPLES = 32
DATA_FREE_STEPS = 60
DATA_FREE_MAX_RESOLUTION = 112
DATA_FREE_SEED = 0


@dataclass(frozen=True)
class CalibrationSet:
    """Preprocessed size×size×3 RGB images and where they came from."""

    images: list[np.ndarray]
    source: str  # the folder's name, or "data-free"
    skipped_files: int
    seconds: float
    cached: bool = False
    # The folder's images that were not chosen: the accuracy gate's held-out candidates.
    unused: tuple[Path, ...] = ()


def find_calibration_images(folder: Path) -> tuple[list[Path], int]:
    """Image files under ``folder`` (recursively, sorted) and the count of other files skipped."""
    if not folder.is_dir():
        raise SdkError(f"calibration folder not found: {folder}")
    images: list[Path] = []
    skipped = 0
    for path in sorted(folder.rglob("*")):
        if is_image_file(path):
            images.append(path)
        elif path.is_file():
            skipped += 1
    if not images:
        raise SdkError(
            f"calibration folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}; {skipped} other files)"
        )
    return images, skipped


def choose_samples(paths: list[Path], count: int) -> list[Path]:
    """A deterministic, evenly mixed choice of ``count`` paths (all of them if there are fewer)."""
    if len(paths) <= count:
        return list(paths)
    chosen = random.Random(0).sample(range(len(paths)), count)
    return [paths[index] for index in sorted(chosen)]


def held_out_share(found: int, most: int) -> int:
    """How many of a folder's ``found`` images calibration leaves out, so that the int8 model can
    be judged on real images it was not calibrated with: a quarter of the folder, up to ``most``."""
    return min(most, found // 4)


def load_calibration_folder(
    folder: Path, count: int, input_size: int, crop_fraction: float, progress: Progress, hold_out: int = 0
) -> CalibrationSet:
    """Up to ``count`` of the folder's images, preprocessed; at least ``held_out_share(found,
    hold_out)`` images stay unused (``CalibrationSet.unused``) whatever ``count`` asks."""
    started = time.perf_counter()
    paths, skipped = find_calibration_images(folder)
    chosen = choose_samples(paths, min(count, len(paths) - held_out_share(len(paths), hold_out)))
    images = [preprocess_rgb(read_rgb(path), input_size, crop_fraction) for path in progress(chosen, "calibrating")]
    calibrated = set(chosen)
    unused = tuple(path for path in paths if path not in calibrated)
    return CalibrationSet(images, folder.name, skipped, time.perf_counter() - started, unused=unused)


def load_held_out_images(
    calibration: CalibrationSet, count: int, input_size: int, crop_fraction: float, progress: Progress
) -> list[np.ndarray]:
    """Up to ``count`` images of a calibration folder that ``calibration`` did not use."""
    return [
        preprocess_rgb(read_rgb(path), input_size, crop_fraction)
        for path in progress(choose_samples(list(calibration.unused), count), "reading held-out images")
    ]


def data_free_cache_dir() -> Path:
    return user_cache_dir() / "data-free"


def synthesize_from_batchnorm(
    network: nn.Module, weights_sha256: str, count: int, input_size: int, progress: Progress,
    seed: int = DATA_FREE_SEED, purpose: str = "calibration",
) -> CalibrationSet:
    """ZeroQ-style data-free calibration images, cached per weights and settings.

    Random images are optimised so that, at every BatchNorm layer, the batch mean and standard
    deviation of its input match the layer's running statistics: the network's own memory of
    what real activations look like. They are synthesized at up to 112 pixels (BatchNorm
    statistics are averages over positions, nearly independent of resolution) and resized.
    Another ``seed`` gives other images from the same distribution: the accuracy gate's held-out
    inputs (``purpose`` names them in the progress bar).
    """
    resolution = min(input_size, DATA_FREE_MAX_RESOLUTION)
    key = hashlib.sha256(
        f"{weights_sha256}|{count}|{resolution}|{input_size}|{DATA_FREE_STEPS}|{seed}|v1".encode()
    ).hexdigest()[:24]
    cache_file = data_free_cache_dir() / f"{key}.npy"
    if cache_file.is_file():
        try:
            images = np.load(cache_file)
            return CalibrationSet(list(images), "data-free", 0, 0.0, cached=True)
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt below
    started = time.perf_counter()
    synthesized = _optimise_images(network, count, resolution, seed, f"synthesizing {purpose} images (data-free)", progress)
    images = [
        resize_square(image, center_crop_box(resolution, resolution, 1.0), input_size) for image in synthesized
    ]
    try:
        with entry_writer(cache_file, suffix=".tmp.npy") as partial:
            np.save(partial, np.stack(images))
    except OSError:
        pass  # caching is an optimisation; an unwritable cache only costs time
    return CalibrationSet(images, "data-free", 0, time.perf_counter() - started)


def _optimise_images(
    network: nn.Module, count: int, resolution: int, seed: int, label: str, progress: Progress
) -> list[np.ndarray]:
    network = network.eval()
    norms = [module for module in network.modules() if isinstance(module, nn.BatchNorm2d)]
    batch_inputs: list[torch.Tensor] = []
    hooks = [norm.register_forward_hook(lambda _m, args, _out: batch_inputs.append(args[0])) for norm in norms]
    requires_grad = [parameter.requires_grad for parameter in network.parameters()]
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    batch_size = 16
    images: list[np.ndarray] = []
    try:
        batches = [(start, min(batch_size, count - start)) for start in range(0, count, batch_size)]
        for _start, size in progress(batches, label):
            pixels = torch.randn(size, 3, resolution, resolution, generator=generator).requires_grad_(True)
            optimiser = torch.optim.Adam([pixels], lr=0.2)
            for _ in range(DATA_FREE_STEPS):
                batch_inputs.clear()
                optimiser.zero_grad()
                network(pixels)
                loss = sum(
                    (activations.mean((0, 2, 3)) - norm.running_mean).pow(2).mean()
                    + (activations.var((0, 2, 3), unbiased=False).add(norm.eps).sqrt()
                       - norm.running_var.add(norm.eps).sqrt()).pow(2).mean()
                    for activations, norm in zip(batch_inputs, norms)
                )
                loss.backward()
                optimiser.step()
            images += normalized_to_rgb(pixels.detach())
    finally:
        for hook in hooks:
            hook.remove()
        for parameter, flag in zip(network.parameters(), requires_grad):
            parameter.requires_grad_(flag)
    return images
