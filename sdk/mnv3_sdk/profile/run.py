"""``mnv3-sdk profile``: record the operator times, name each operator by module, write the tables."""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

from mnv3_sdk import hostinfo
from mnv3_sdk.errors import SdkError
from mnv3_sdk.pipeline import report as report_io
from mnv3_sdk.bench.adb import parse_server
from mnv3_sdk.profile import arm64, events
from mnv3_sdk.profile import device as on_device
from mnv3_sdk.profile.config import ProfileConfig
from mnv3_sdk.profile.report import ProfileResult, to_markdown, write_plot
from mnv3_sdk.profile.tables import make_tables
from mnv3_sdk.pte.debug_handles import read_sidecar
from mnv3_sdk.pte.metadata import read_from_pte
from mnv3_sdk.pte.xnnpack_graph import read_delegate_calls
from mnv3_sdk.versions import tool_versions


def run_profile(config: ProfileConfig) -> list[ProfileResult]:
    """Profile ``config.model`` on this host or a phone over adb (one result), or under qemu-aarch64
    per CPU model (one result each, in instructions), and write each one's JSON, Markdown, chart and ETDump; nothing
    of a result is written unless every step of it worked."""
    sidecar = read_sidecar(config.model)  # before the minutes of running: a missing one stops here
    metadata = read_from_pte(config.model)
    calls = read_delegate_calls(config.model)
    results = []
    for cpu, outputs in config.outputs().items():
        with tempfile.TemporaryDirectory(prefix="mnv3-sdk-profile-") as folder:
            staged = Path(folder)
            etdump = staged / "profile.etdp"
            device = None
            if cpu:
                inferences = arm64.record(config.model, cpu, config.runs, etdump)
            elif config.adb:
                server = parse_server(config.adb_server) if config.adb_server is not None else None
                device = on_device.record(config.model, config.threads, config.runs, etdump, config.serial, server)
                inferences = events.read_inferences(etdump)[on_device.WARMUP:]
            else:
                events.record(config.model, metadata.input.normalized_in_graph, config.threads, config.runs, etdump)
                inferences = events.read_inferences(etdump)[1:]  # the first is the warm-up
            if len(inferences) != config.runs:
                raise SdkError(f"the ETDump holds {len(inferences)} measured inferences, expected {config.runs}")
            result = ProfileResult(
                model=config.model.name, quant=metadata.quant, threads=config.threads, runs=config.runs,
                depth=config.depth, tables=make_tables(inferences, calls, sidecar, config.depth),
                etdump=str(outputs[3]),
                measured_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                host={key: value for key, value in hostinfo.describe().items() if key != "fp16"},
                versions=tool_versions(), cpu=cpu, device=device,
            )
            _write(result, staged, outputs, config.top)
        results.append(result)
    return results


def _write(result: ProfileResult, staged: Path, outputs: tuple[Path, Path, Path, Path], top: int) -> None:
    (staged / "profile.json").write_text(report_io.to_json(result), encoding="utf-8")
    (staged / "profile.md").write_text(to_markdown(result, top), encoding="utf-8")
    write_plot(result, staged / "profile.png", top)
    for name, destination in zip(("profile.json", "profile.md", "profile.png", "profile.etdp"), outputs):
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged / name, destination)
