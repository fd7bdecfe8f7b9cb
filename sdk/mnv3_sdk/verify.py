"""Check an exported .pte against eager PyTorch: agreement, error, SQNR, accuracy, the gate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from mnv3_sdk.export import IMAGENET_MEAN, IMAGENET_STD
from mnv3_sdk.images import LabelledImages, read_rgb
from mnv3_sdk.preprocess import center_crop_box, preprocess_rgb, resize_square

Classifier = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Agreement:
    """How closely the .pte's logits follow the eager model's on the same inputs."""

    samples: int
    top1_agreement: float
    max_abs_error: float
    max_relative_error: float  # max |pte - eager| / max |eager|
    sqnr_db: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Accuracy:
    samples: int
    eager_top1: float
    eager_top5: float
    pte_top1: float
    pte_top5: float
    skipped_files: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    passed: bool
    basis: str  # "val-dir top-1" or "top-1 agreement"
    measured: float
    required: float
    reason: str


def verification_images(input_size: int, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Deterministic test images: half white noise, half smooth colour fields (photo-like spectra)."""
    generator = np.random.default_rng(seed)
    images = []
    for index in range(count):
        if index % 2 == 0:
            image = generator.integers(0, 256, size=(input_size, input_size, 3), dtype=np.uint8)
        else:
            coarse = generator.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
            image = resize_square(coarse, center_crop_box(8, 8, 1.0), input_size)
        images.append(image)
    return images


def to_model_input(rgb: np.ndarray, input_format: str) -> torch.Tensor:
    """The tensor the exported graph takes for a preprocessed size×size×3 RGB image."""
    batch = torch.from_numpy(np.ascontiguousarray(rgb)).unsqueeze(0)
    if input_format == "uint8":
        return batch
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((batch.permute(0, 3, 1, 2).float() / 255.0 - mean) / std).contiguous()


def sqnr_db(reference: torch.Tensor, test: torch.Tensor) -> float:
    signal = reference.double().pow(2).sum().item()
    noise = (reference.double() - test.double()).pow(2).sum().item()
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def compare(eager: nn.Module, pte: Classifier, inputs: Iterable[torch.Tensor]) -> Agreement:
    eager_logits, pte_logits = [], []
    with torch.no_grad():
        for batch in inputs:
            eager_logits.append(eager(batch).float())
            pte_logits.append(pte(batch).float())
    reference = torch.cat(eager_logits)
    test = torch.cat(pte_logits)
    max_abs = (reference - test).abs().max().item()
    scale = reference.abs().max().item()
    return Agreement(
        samples=reference.shape[0],
        top1_agreement=(reference.argmax(1) == test.argmax(1)).float().mean().item(),
        max_abs_error=max_abs,
        max_relative_error=max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf),
        sqnr_db=sqnr_db(reference, test),
    )


def evaluate(
    eager: nn.Module,
    pte: Classifier,
    dataset: LabelledImages,
    input_size: int,
    crop_fraction: float,
    input_format: str,
    progress: Callable[[Iterable[Path]], Iterable[Path]] = lambda paths: paths,
) -> Accuracy:
    """Top-1/top-5 of eager fp32 and of the .pte, both fed through the wrappers' preprocessing."""
    hits = {"eager_top1": 0, "eager_top5": 0, "pte_top1": 0, "pte_top5": 0}
    labels = dict(zip(dataset.paths, dataset.label_indices))
    with torch.no_grad():
        for path in progress(dataset.paths):
            batch = to_model_input(preprocess_rgb(read_rgb(path), input_size, crop_fraction), input_format)
            for name, logits in (("eager", eager(batch)), ("pte", pte(batch))):
                top5 = logits.float().topk(min(5, logits.shape[1]), dim=1).indices[0].tolist()
                hits[f"{name}_top1"] += int(top5[0] == labels[path])
                hits[f"{name}_top5"] += int(labels[path] in top5)
    count = len(dataset.paths)
    return Accuracy(samples=count, skipped_files=dataset.skipped_files, **{k: v / count for k, v in hits.items()})


def accuracy_gate(
    min_ratio: float, agreement: Agreement, accuracy: Accuracy | None, inputs: str = "verification inputs"
) -> GateResult:
    """MLPerf's rule: the .pte keeps at least ``min_ratio`` of eager fp32's top-1.

    Without a labelled folder, top-1 agreement with eager fp32 stands in for accuracy.
    """
    if accuracy is not None:
        required = min_ratio * accuracy.eager_top1
        passed = accuracy.pte_top1 >= required
        reason = (
            f".pte top-1 {accuracy.pte_top1:.4f} {'≥' if passed else '<'} {min_ratio:g} × eager fp32 top-1 "
            f"{accuracy.eager_top1:.4f} (= {required:.4f}) on {accuracy.samples} validation images"
        )
        return GateResult(passed, "val-dir top-1", accuracy.pte_top1, required, reason)
    passed = agreement.top1_agreement >= min_ratio
    reason = (
        f"top-1 agreement with eager fp32 {agreement.top1_agreement:.4f} {'≥' if passed else '<'} {min_ratio:g} "
        f"on {agreement.samples} {inputs} (no --val-dir given)"
    )
    return GateResult(passed, "top-1 agreement", agreement.top1_agreement, min_ratio, reason)
