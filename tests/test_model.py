"""The model matches torchvision's MobileNetV3 in names, shapes, parameter counts and outputs."""

import json

import pytest
import torch
from conftest import DATA

from mnv3_sdk.network.mobilenetv3 import MobileNetV3
from mnv3_sdk.network.weights import build_model, load_weights


@pytest.mark.parametrize("variant, expected", [("small", 2_542_856), ("large", 5_483_032)])
def test_parameter_counts_match_torchvision(variant, expected):
    model = MobileNetV3(variant)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("variant", ["small", "large"])
def test_state_dict_names_and_shapes_match_torchvision(variant):
    reference = json.loads((DATA / "torchvision_state_dict_shapes.json").read_text())[variant]["state_dict"]
    ours = {name: list(value.shape) for name, value in MobileNetV3(variant).state_dict().items()}
    assert ours == reference


def test_torchvision_checkpoint_loads_strictly_and_gives_torchvision_logits():
    weights = load_weights(str(DATA / "torchvision_small_w025_c5.pth"), "small", 0.25)
    assert weights.num_classes == 5
    model = build_model(weights, "small", 0.25)
    reference = torch.load(DATA / "torchvision_small_w025_c5_io.pt", weights_only=True)
    with torch.no_grad():
        logits = model(reference["input"])
    torch.testing.assert_close(logits, reference["logits"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("width, classes", [(0.75, 1000), (1.0, 3), (1.25, 21)])
def test_width_multiplier_and_head_size(width, classes):
    model = MobileNetV3("large", width_mult=width, num_classes=classes).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, classes)
