"""Regenerate the torchvision reference files used by tests/test_model.py.

torchvision's wheel does not import its C extension beside our torch, but its pure-Python model
code does. Run, from the repo root:

    .venv/bin/pip download torchvision==0.29.2 --no-deps -d /tmp/tv
    unzip -q /tmp/tv/torchvision-*.whl -d /tmp/tv/site
    PYTHONPATH=/tmp/tv/site .venv/bin/python tests/data/make_torchvision_reference.py

Writes:
  torchvision_state_dict_shapes.json  names and shapes of mobilenet_v3_small/large (1000 classes)
  torchvision_small_w025_c5.pth        a checkpoint saved by torchvision (width 0.25, 5 classes,
                                       randomised BatchNorm statistics so they matter)
  torchvision_small_w025_c5_io.pt      an input batch and torchvision's logits for it
"""

import json
from pathlib import Path

import torch
import torchvision

here = Path(__file__).parent
shapes = {}
for variant in ("small", "large"):
    model = getattr(torchvision.models, f"mobilenet_v3_{variant}")()
    shapes[variant] = {
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "state_dict": {name: list(value.shape) for name, value in model.state_dict().items()},
    }
(here / "torchvision_state_dict_shapes.json").write_text(json.dumps(shapes, indent=1) + "\n")

torch.manual_seed(0)
model = torchvision.models.mobilenet_v3_small(num_classes=5, width_mult=0.25)
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.5, 0.5)
        module.running_var.uniform_(0.5, 2.0)
        module.weight.data.uniform_(0.5, 1.5)
        module.bias.data.uniform_(-0.2, 0.2)
model.eval()
torch.save(model.state_dict(), here / "torchvision_small_w025_c5.pth")
inputs = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    torch.save({"input": inputs, "logits": model(inputs)}, here / "torchvision_small_w025_c5_io.pt")
print(f"torchvision {torchvision.__version__}: wrote reference files to {here}")
