"""Loading weights and labels: every accepted form, and a clear error for everything else."""

import pickle

import pytest
import torch
from conftest import DATA

from mnv3_sdk.errors import SdkError
from mnv3_sdk.network.labels import read_labels
from mnv3_sdk.network.mobilenetv3 import MobileNetV3
from mnv3_sdk.network.weights import load_weights

CHECKPOINT = DATA / "torchvision_small_w025_c5.pth"


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model", "module_prefix"])
def test_accepts_nested_and_data_parallel_checkpoints(tmp_path, wrap):
    state = torch.load(CHECKPOINT, weights_only=True)
    forms = {
        "plain": state,
        "state_dict": {"state_dict": state, "epoch": 3},
        "model": {"model": state, "optimizer": {}},
        "module_prefix": {f"module.{name}": value for name, value in state.items()},
    }
    path = tmp_path / "weights.pt"
    torch.save(forms[wrap], path)
    loaded = load_weights(str(path), "small", 0.25)
    assert loaded.num_classes == 5
    assert set(loaded.state_dict) == set(state)


def test_refuses_to_unpickle_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"classifier.3.weight": object()}))
    with pytest.raises(SdkError, match="not a PyTorch state dict"):
        load_weights(str(path), "small", 1.0)


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(CHECKPOINT.read_bytes()[:5000])
    with pytest.raises(SdkError, match="cannot read weights file"):
        load_weights(str(path), "small", 0.25)


def test_random_weights_are_seeded_and_realistic():
    first = load_weights("random", "small", 1.0)
    second = load_weights("random", "small", 1.0)
    assert first.sha256 == second.sha256
    assert first.source == "random"


def test_imagenet_without_network_says_how_to_proceed(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(SdkError) as error:
        load_weights("imagenet", "small", 1.0)
    message = str(error.value)
    assert "--weights PATH" in message and "--weights random" in message
    assert "\n" not in message


def test_imagenet_weights_from_the_cache_are_hash_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "mobilenet_v3_small-047dcff4.pth"
    cached.parent.mkdir(parents=True)
    torch.save(MobileNetV3("small").state_dict(), cached)  # right shape, wrong bytes
    with pytest.raises(SdkError, match="corrupt"):
        load_weights("imagenet", "small", 1.0)


def test_labels_keep_every_character(tmp_path):
    path = tmp_path / "labels.txt"
    labels = ['say "cheese"', "$HOME", "back\\slash", "*/ end", "🐱 cat", "猫", "naïve café"]
    path.write_text("\n".join(labels) + "\n", encoding="utf-8")
    assert read_labels(path) == labels


@pytest.mark.parametrize(
    "content, message",
    [(b"a\n\nb\n", "line 2 is empty"), (b"a\nb\na\n", "repeats line 1"), (b"\xff\xfe", "not UTF-8"), (b"", "empty")],
)
def test_bad_labels_files(tmp_path, content, message):
    path = tmp_path / "labels.txt"
    path.write_bytes(content)
    with pytest.raises(SdkError, match=message):
        read_labels(path)
