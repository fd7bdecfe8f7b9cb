"""Weights: torchvision's ImageNet checkpoints, a user's state dict file, or seeded random ones."""

from __future__ import annotations

import hashlib
import io
import pickle
import urllib.error
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from mnv3_sdk.errors import SdkError
from mnv3_sdk.network.mobilenetv3 import MobileNetV3, arch_name, reestimate_batchnorm

# torchvision's published checkpoints; the 8 hex digits in the file name are the start of the
# file's sha256, which torch.hub checks. Large uses IMAGENET1K_V2 (torchvision's default),
# evaluated with resize 232 → crop 224, hence its own crop fraction.
IMAGENET_CHECKPOINTS = {
    "small": ("https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth", 0.875),
    "large": ("https://download.pytorch.org/models/mobilenet_v3_large-5c1a4163.pth", 224 / 232),
}
DEFAULT_CROP_FRACTION = 0.875
RANDOM_SEED = 0


@dataclass(frozen=True)
class LoadedWeights:
    state_dict: dict[str, torch.Tensor]
    source: str  # "imagenet", the file's name, or "random"
    sha256: str
    num_classes: int
    recommended_crop_fraction: float


def imagenet_cache_path(variant: str) -> Path:
    url, _ = IMAGENET_CHECKPOINTS[variant]
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]


def load_weights(spec: str, variant: str, width_mult: float) -> LoadedWeights:
    """Resolve ``--weights`` (``imagenet``, ``random`` or a path) into a state dict."""
    if spec == "random":
        return _random_weights(variant, width_mult)
    if spec == "imagenet":
        return _imagenet_weights(variant, width_mult)
    return _file_weights(Path(spec))


def build_model(weights: LoadedWeights, variant: str, width_mult: float) -> MobileNetV3:
    """Instantiate the network for ``weights`` and load them strictly, in eval mode."""
    model = MobileNetV3(variant, width_mult=width_mult, num_classes=weights.num_classes)
    try:
        model.load_state_dict(weights.state_dict, strict=True)
    except RuntimeError as error:
        raise SdkError(
            f"weights {weights.source} do not fit {arch_name(variant)} at width {width_mult:g}: "
            f"{_first_mismatch(str(error))}"
        ) from None
    return model.eval()


def _random_weights(variant: str, width_mult: float) -> LoadedWeights:
    # Seeded so that two builds with --weights random are byte-identical.
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(RANDOM_SEED)
        model = MobileNetV3(variant, width_mult=width_mult, num_classes=1000)
        # Identity BatchNorm statistics make random logits ~1e-9, which underflow in fp16 and
        # leave nothing for int8 to calibrate; statistics from noise give realistic activations.
        reestimate_batchnorm(model, [torch.randn(8, 3, 224, 224)])
        model.eval()
    finally:
        torch.random.set_rng_state(generator_state)
    state_dict = model.state_dict()
    return LoadedWeights(
        state_dict=state_dict,
        source="random",
        sha256=state_dict_sha256(state_dict),
        num_classes=1000,
        recommended_crop_fraction=DEFAULT_CROP_FRACTION,
    )


def _imagenet_weights(variant: str, width_mult: float) -> LoadedWeights:
    if width_mult != 1.0:
        raise SdkError(
            f"ImageNet weights are published only for width 1.0, not {width_mult:g}: "
            "pass --weights PATH (your own checkpoint) or --weights random"
        )
    url, crop_fraction = IMAGENET_CHECKPOINTS[variant]
    path = imagenet_cache_path(variant)
    expected_prefix = path.stem.rsplit("-", 1)[1]
    if not path.exists():
        _download(url, path, expected_prefix)
    digest = file_sha256(path)
    if not digest.startswith(expected_prefix):
        raise SdkError(
            f"cached ImageNet weights {path} are corrupt (sha256 {digest[:8]}…, expected "
            f"{expected_prefix}…): delete the file and build again"
        )
    state_dict = _read_state_dict(path)
    return LoadedWeights(
        state_dict=state_dict,
        source="imagenet",
        sha256=digest,
        num_classes=_num_classes(state_dict, path),
        recommended_crop_fraction=crop_fraction,
    )


def _download(url: str, path: Path, expected_prefix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), hash_prefix=expected_prefix, progress=True)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise SdkError(
            f"cannot download ImageNet weights from {url} ({reason}); put the file at {path}, "
            "or pass --weights PATH (a state dict) or --weights random (smoke tests only)"
        ) from None
    except RuntimeError as error:  # torch.hub's hash mismatch
        raise SdkError(f"downloaded ImageNet weights failed their hash check: {error}") from None


def _file_weights(path: Path) -> LoadedWeights:
    if not path.exists():
        raise SdkError(f"weights file not found: {path} (expected a .pth/.pt state dict, 'imagenet' or 'random')")
    if not path.is_file():
        raise SdkError(f"weights path is not a file: {path}")
    state_dict = _read_state_dict(path)
    return LoadedWeights(
        state_dict=state_dict,
        source=path.name,
        sha256=file_sha256(path),
        num_classes=_num_classes(state_dict, path),
        recommended_crop_fraction=DEFAULT_CROP_FRACTION,
    )


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        # weights_only: a checkpoint is data, never code to unpickle.
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise SdkError(f"cannot read weights file {path}: permission denied") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, io.UnsupportedOperation) as error:
        # torch's own messages run to paragraphs about weights_only; say what matters in one line.
        reason = (
            "it holds Python objects other than tensors, which are never unpickled (weights_only)"
            if "Unsupported global" in str(error) or "weights_only" in str(error) and "GLOBAL" in str(error)
            else "the file is truncated or in another format"
        )
        raise SdkError(f"cannot read weights file {path}: not a PyTorch state dict ({reason})") from None
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict) or not loaded or not all(
        isinstance(name, str) and isinstance(value, torch.Tensor) for name, value in loaded.items()
    ):
        raise SdkError(f"weights file {path} does not hold a state dict (a mapping of names to tensors)")
    prefix = "module."
    if all(name.startswith(prefix) for name in loaded):
        loaded = {name[len(prefix):]: value for name, value in loaded.items()}
    return dict(loaded)


def _num_classes(state_dict: dict[str, torch.Tensor], path: Path) -> int:
    head = state_dict.get("classifier.3.weight")
    if head is None or head.dim() != 2:
        raise SdkError(f"weights file {path} has no MobileNetV3 classifier (classifier.3.weight)")
    return int(head.shape[0])


def _first_mismatch(message: str) -> str:
    # torch's load_state_dict error spans many lines; the first specific one is enough.
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else lines[0]
    return detail[:200]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """A content hash of named tensors, independent of how they were serialized."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().contiguous().cpu()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(str(list(tensor.shape)).encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return digest.hexdigest()
