"""Why the test workers run PyTorch with one thread: a forward and backward step of the digits
model's network (MobileNetV3-Small x0.5, 32 px, batch 16, as data-free calibration runs it) with
1 and with 2 intra-op threads. Run it on an idle machine and again while another process keeps
a core busy (docs/testing.md).

    .venv/bin/python benchmarks/torch_threads.py [--steps 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

STEP = """
import sys, time, torch
from mnv3_sdk.network.mobilenetv3 import MobileNetV3
torch.set_num_threads(int(sys.argv[1]))
network = MobileNetV3("small", width_mult=0.5, num_classes=10).eval()
for parameter in network.parameters():
    parameter.requires_grad_(False)
pixels = torch.randn(16, 3, 32, 32, requires_grad=True)
network(pixels).sum().backward()  # warm-up
started = time.perf_counter()
for _ in range(int(sys.argv[2])):
    network(pixels).sum().backward()
print((time.perf_counter() - started) / int(sys.argv[2]) * 1000)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    steps = parser.parse_args().steps
    # A process per thread count: PyTorch's thread pool cannot shrink once it has started.
    for threads in (1, 2):
        milliseconds = float(subprocess.run([sys.executable, "-c", STEP, str(threads), str(steps)],
                                            capture_output=True, text=True, check=True).stdout.split()[-1])
        print(f"{threads} PyTorch thread(s): {milliseconds:.1f} ms per forward+backward step")


if __name__ == "__main__":
    main()
