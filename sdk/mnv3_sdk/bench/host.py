"""Host benchmarks: .pte files in the ExecuTorch runtime (and optionally eager PyTorch), interleaved.

ExecuTorch's threadpool size can only be set before a program is loaded, so each thread count
runs in its own worker process (``python -m mnv3_sdk.bench.host SPEC``); within it, every model
is measured in round-robin blocks until each has both enough iterations and enough seconds.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mnv3_sdk.errors import SdkError

if TYPE_CHECKING:  # torch comes with it; the worker imports it only when it runs
    from mnv3_sdk.pte.metadata import Metadata

BLOCK = 10  # iterations per case per round


@dataclass(frozen=True)
class HostSettings:
    threads: list[int]
    warmup: int
    iterations: int
    min_seconds: float
    eager: bool


@dataclass
class CaseResult:
    """One (model, engine, threads) measurement on one device."""

    model: str
    engine: str  # "executorch" or "eager"
    threads: int
    device: str
    load_ms: float | None
    first_inference_ms: float | None
    samples_ms: list[float]
    peak_rss_kb: int | None = None
    pss_kb: int | None = None
    # End-to-end cases (bench --adb --frame WxH): the frame size, its format (the pipeline timed:
    # "argb" pixels or "yuv" camera frames, bench.device.FRAME_FORMATS) and clockwise rotation to
    # upright, and each iteration's preprocessing time beside its forward pass in samples_ms.
    frame: str | None = None
    frame_format: str | None = None
    frame_rotation: int | None = None
    preprocessing_ms: list[float] | None = None
    metadata: dict[str, Any] | None = None
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_models(arguments: list[Path], dist: Path = Path("dist")) -> list[Path]:
    """MODEL.pte or BUILD_DIR arguments → .pte paths; none → every build under dist/."""
    if not arguments:
        builds = sorted(folder for folder in dist.glob("*") if folder.is_dir() and not folder.name.endswith(".rejected"))
        arguments = [folder for folder in builds if list(folder.glob("*.pte"))]
        if not arguments:
            raise SdkError(f"no builds under {dist}/: run mnv3-sdk build first, or name MODEL.pte files")
    models = []
    for argument in arguments:
        if argument.is_dir():
            found = sorted(argument.glob("*.pte"))
            if len(found) != 1:
                raise SdkError(f"{argument} holds {len(found)} .pte files; name the model file instead")
            models.append(found[0])
        elif argument.is_file():
            models.append(argument)
        else:
            raise SdkError(f"no such model or build folder: {argument}")
    return models


def summary_of_metadata(metadata: Metadata) -> dict[str, Any]:
    return {
        "arch": metadata.model.arch,
        "width_mult": metadata.model.width_mult,
        "quant": metadata.quant,
        "input": metadata.input.shape,
        "weights": metadata.weights.source,
    }


def run_host(models: list[Path], settings: HostSettings, host_name: str) -> list[CaseResult]:
    results: list[CaseResult] = []
    for threads in settings.threads:
        spec = {"models": [str(model) for model in models], "threads": threads, "warmup": settings.warmup,
                "iterations": settings.iterations, "min_seconds": settings.min_seconds, "eager": settings.eager}
        completed = subprocess.run([sys.executable, "-m", "mnv3_sdk.bench.host", json.dumps(spec)],
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise SdkError(f"host benchmark with {threads} thread(s) failed: {last}")
        for case in json.loads(completed.stdout.strip().splitlines()[-1]):
            results.append(CaseResult(device=host_name, **case))
    return results


def _input_for(metadata: Metadata):
    import torch

    shape = metadata.input.shape
    generator = torch.Generator().manual_seed(0)
    if metadata.input.normalized_in_graph:
        return torch.randint(0, 256, shape, generator=generator).float()
    return torch.randn(shape, generator=generator)


def _eager_model(metadata: Metadata, origin: str):
    from mnv3_sdk.export.adapter import eager_reference

    source = metadata.weights.source
    if source not in ("random", "imagenet"):
        raise SdkError(f"--eager needs the weights; this model was built from {source!r}, which only its "
                       "builder has (eager baselines work for random and imagenet weights)")
    return eager_reference(metadata, source, origin)


def _worker(spec: dict[str, Any]) -> list[dict[str, Any]]:
    import torch

    from mnv3_sdk.pte.metadata import read_from_program
    from mnv3_sdk.pte.runtime import LoadedModel, set_threads

    threads = int(spec["threads"])
    set_threads(threads)  # before any program is loaded
    torch.set_num_threads(threads)
    cases: list[tuple[dict[str, Any], Callable[[], Any]]] = []
    with torch.no_grad():
        for path in map(Path, spec["models"]):
            started = time.perf_counter()
            loaded = LoadedModel(path)
            load_ms = (time.perf_counter() - started) * 1000
            metadata = read_from_program(loaded.program, str(path))  # the program is loaded once
            image = _input_for(metadata)
            started = time.perf_counter()
            loaded.run(image)
            first_ms = (time.perf_counter() - started) * 1000
            record = {"model": path.stem, "engine": "executorch", "threads": threads, "load_ms": load_ms,
                      "first_inference_ms": first_ms, "samples_ms": [], "metadata": summary_of_metadata(metadata)}
            cases.append((record, lambda m=loaded, x=image: m.run(x)))
            if spec["eager"]:
                eager = _eager_model(metadata, str(path))
                cases.append(({**record, "engine": "eager", "load_ms": None, "first_inference_ms": None,
                               "samples_ms": []}, lambda m=eager, x=image: m(x)))
        for _record, run in cases:
            for _ in range(int(spec["warmup"])):
                run()
        while not all(len(record["samples_ms"]) >= spec["iterations"]
                      and sum(record["samples_ms"]) / 1000 >= spec["min_seconds"] for record, _ in cases):
            # Blocks of BLOCK runs, case after case, so drift over time (heat, other load) hits
            # every case alike.
            for record, run in cases:
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    run()
                    record["samples_ms"].append((time.perf_counter() - started) * 1000)
    peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    notes = "peak RSS is the benchmark process's, with every model of this run loaded"
    return [{**record, "peak_rss_kb": peak_rss_kb, "notes": notes} for record, _ in cases]


if __name__ == "__main__":
    print(json.dumps(_worker(json.loads(sys.argv[1]))))
