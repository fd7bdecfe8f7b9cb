"""A real trained model for tests: MobileNetV3-Small on scikit-learn's bundled digits.

No weights can be downloaded here, and random weights prove only plumbing, so the tests train a
small network on data a package ships (docs/testing.md). It is trained once per test session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mnv3_sdk.export.adapter import PixelInput
from mnv3_sdk.imaging.model_input import IMAGENET_MEAN, IMAGENET_STD
from mnv3_sdk.imaging.preprocess import preprocess_rgb
from mnv3_sdk.network.mobilenetv3 import MobileNetV3, reestimate_batchnorm

INPUT_SIZE = 32
CROP_FRACTION = 1.0
WIDTH = 0.5
LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@dataclass(frozen=True)
class DigitsFixture:
    weights_path: Path
    labels_path: Path
    val_dir: Path
    calibration_dir: Path
    train_images: list[np.ndarray]
    val_count: int
    input_size: int = INPUT_SIZE
    seed: int = 0


def digit_images() -> tuple[list[np.ndarray], np.ndarray]:
    """The 1797 digits as 40×40 RGB photos-to-be (ink on paper), with their classes."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = []
    for pixels in digits.images:
        ink = (255 - pixels * (255 / 16)).astype(np.uint8)
        gray = Image.fromarray(ink).resize((40, 40), Image.BILINEAR)
        images.append(np.asarray(gray.convert("RGB")))
    return images, digits.target


def train_digits_model(
    train_images: list[np.ndarray], targets: np.ndarray, epochs: int = 12, input_size: int = INPUT_SIZE, seed: int = 0
) -> MobileNetV3:
    torch.manual_seed(seed)
    network = MobileNetV3("small", width_mult=WIDTH, num_classes=10, dropout=0.0)
    model = PixelInput(network, IMAGENET_MEAN, IMAGENET_STD)
    batch = torch.from_numpy(np.stack([preprocess_rgb(image, input_size, CROP_FRACTION) for image in train_images]))
    labels = torch.from_numpy(np.asarray(targets)).long()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * ((len(batch) + 63) // 64))
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(batch), generator=generator)
        for start in range(0, len(batch), 64):
            index = order[start:start + 64]
            loss = torch.nn.functional.cross_entropy(model(batch[index].permute(0, 3, 1, 2).float()), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    # BatchNorm momentum 0.01 leaves running statistics far behind a short training run.
    normalized = [model.scale * chunk.permute(0, 3, 1, 2).float() + model.offset for chunk in batch.split(256)]
    reestimate_batchnorm(network, normalized)
    return network.eval()


def make_digits_fixture(folder: Path, input_size: int = INPUT_SIZE, seed: int = 0) -> DigitsFixture:
    """The model trained at ``input_size`` pixels from ``seed`` (initialisation and batch order);
    the train/validation split is the same for every seed."""
    images, targets = digit_images()
    split = np.random.default_rng(0).permutation(len(images))
    train_index, val_index = split[:1400], split[1400:]
    network = train_digits_model(
        [images[i] for i in train_index], targets[train_index], input_size=input_size, seed=seed
    )
    weights_path = folder / "digits_mnv3_small_w05.pth"
    torch.save(network.state_dict(), weights_path)
    labels_path = folder / "digits_labels.txt"
    labels_path.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    val_dir = folder / "digits_val"
    for position, index in enumerate(val_index):
        class_dir = val_dir / LABELS[targets[index]]
        class_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[index]).save(class_dir / f"{position:04d}.png")
    calibration_dir = folder / "digits_calibration"
    for position, index in enumerate(train_index[:300]):
        nested = calibration_dir / f"batch{position % 3}"  # searched recursively
        nested.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[index]).save(nested / f"{position:04d}.png")
    (calibration_dir / "README.txt").write_text("not an image: skipped and counted\n")
    return DigitsFixture(
        weights_path, labels_path, val_dir, calibration_dir, [images[i] for i in train_index], len(val_index),
        input_size, seed,
    )
