"""What each stage of the build hands to the next (``pipeline/stages.py`` runs them in order)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch
from torch import nn

from mnv3_sdk.android.project import AndroidSettings
from mnv3_sdk.android.stage import AndroidResult
from mnv3_sdk.export.calibration import CalibrationSet
from mnv3_sdk.export.calibration_checks import ImageCensus, RangeCoverage
from mnv3_sdk.export.quantize import QuantizationSettings
from mnv3_sdk.imaging.files import LabelledImages
from mnv3_sdk.network.weights import LoadedWeights
from mnv3_sdk.pte.metadata import Metadata
from mnv3_sdk.verify.arm64 import Arm64Verification
from mnv3_sdk.verify.metrics import Accuracy, Agreement, GateResult
from mnv3_sdk.verify.sensitivity import LayerSensitivity

if TYPE_CHECKING:  # report.py builds on the stage results below
    from mnv3_sdk.pipeline.report import BuildReport


@dataclass
class Journal:
    """What the build records as it goes: wall time per stage (in the order they ran) and warnings."""

    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class Source:
    """The load stage: the network and everything the user pointed at, checked."""

    weights: LoadedWeights
    labels: list[str]
    network: nn.Module
    validation: LabelledImages | None  # --val-dir's images, by label
    quantization: QuantizationSettings
    crop_fraction: float  # --crop-fraction, else the weights' own


@dataclass(frozen=True)
class HeldOutImages:
    """Real images int8 was not calibrated on (RGB, preprocessed), and what they are."""

    name: str  # "images of val not calibrated on", "images of val"
    images: list[np.ndarray]


@dataclass(frozen=True)
class CalibrationChecks:
    """What was found looking at a calibration folder's data (it passed, or the build stopped)."""

    census: ImageCensus
    coverage: RangeCoverage | None  # None when no real image was held out to compare with


@dataclass(frozen=True)
class Prepared:
    """The calibrate/quantize stage: the module to export and what the result will be judged on."""

    reference: nn.Module  # eager fp32 behind the input adapter: what the .pte is compared with
    example: torch.Tensor  # an fp32 input of the right shape
    to_export: nn.Module  # quantized (int8), folded (fp32/fp16)
    comparison_sets: dict[str, list[np.ndarray]]  # RGB images by where they come from
    calibration: CalibrationSet | None  # int8 only
    # int8: --val-dir's sample, else the calibration folder's held-out part; None when neither exists.
    real_held_out: HeldOutImages | None
    calibration_checks: CalibrationChecks | None  # int8 with a calibration folder


@dataclass(frozen=True)
class Verified:
    """The verify stage: the .pte against eager PyTorch, and the gate's verdict."""

    agreement: Agreement
    set_agreements: dict[str, Agreement]
    accuracy: Accuracy | None  # with --val-dir
    gate: GateResult
    gate_enforced: bool  # not for random weights, whose near-tied logits have no accuracy to keep
    # int8, with --sensitivity, or when the gate failed on real held-out images
    sensitivity: list[LayerSensitivity] | None
    sensitivity_inputs: str | None  # which held-out images the layers were measured on
    # The model on arm64 kernels under qemu (set by the arm64 step after the host gate); its gate
    # refuses the model like the host's.
    arm64: Arm64Verification | None = None

    @property
    def publishable(self) -> bool:
        passed = self.gate.passed and (self.arm64 is None or self.arm64.passed)
        return passed or not self.gate_enforced


@dataclass(frozen=True)
class Packaged:
    """The android stage: the Gradle project, the AAR and the Maven folder (None when not run)."""

    settings: AndroidSettings
    result: AndroidResult | None


@dataclass(frozen=True)
class BuildResult:
    """A published build: where its files are and what the stages found, typed; ``report`` is
    everything report.json holds."""

    out_dir: Path
    pte_path: Path
    metadata: Metadata  # what the .pte embeds
    pte_bytes: int
    gate: GateResult
    agreement: Agreement  # over every comparison input
    accuracy: Accuracy | None  # with --val-dir
    aar_path: Path | None  # None with --no-aar or when the toolchain is missing (android_skipped says why)
    maven_dir: Path | None
    android_skipped: str | None
    warnings: list[str]
    timings: dict[str, float]  # seconds per stage, in the order they ran
    report: BuildReport  # what report.json holds, typed
    arm64: Arm64Verification | None = None  # the arm64 step's findings, skipped ones with their reason
