"""``mnv3-sdk profile``: operator times inside the XNNPACK delegate, named by module.

The alignment of timed operators with the serialized XNNPACK nodes is checked on a model whose
cost the test decides (one block 16× wider than the others must come out on top), then on the
three numeric formats built by the SDK, then on the mistakes a user can make.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import mnv3_sdk
from mnv3_sdk.export.lower import export_pte
from mnv3_sdk.native import arm64_missing
from mnv3_sdk.profile.alignment import align, operator_type
from mnv3_sdk.pte import debug_handles
from mnv3_sdk.pte.metadata import CalibrationInfo, InputSpec, Metadata, ModelInfo, OutputSpec, WeightsInfo
from mnv3_sdk.pte.xnnpack_graph import XnnNode
from mnv3_sdk.versions import METADATA_FORMAT, tool_versions

SIZE, CLASSES = 64, 10


class Bottleneck(nn.Sequential):
    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__(nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1))


class Controlled(nn.Module):
    """Four blocks at 32×32; block 2 expands to 512 channels, the others to 32: 16× the work."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), Bottleneck(16, 32),
                                      Bottleneck(16, 512), Bottleneck(16, 32))
        self.classifier = nn.Linear(16, CLASSES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(image).mean((2, 3), keepdim=True), 1))


def controlled_metadata() -> Metadata:
    return Metadata(
        format=METADATA_FORMAT, model=ModelInfo("controlled", 1.0, CLASSES), weights=WeightsInfo("random", "0" * 64),
        quant="fp32", calibration=CalibrationInfo("none", 0),
        input=InputSpec("image", "float32", "NCHW", [1, 3, SIZE, SIZE], "RGB", "normalized", [0.0] * 3, [1.0] * 3,
                        False, 1.0, "bilinear", "antialiased-triangle-half-pixel"),
        output=OutputSpec("logits", "float32", [1, CLASSES]), labels=[str(index) for index in range(CLASSES)],
        versions=tool_versions(),
    )


@pytest.fixture(scope="module")
def controlled_pte(tmp_path_factory):
    """The controlled model through the build's own export (export_pte), .pte and sidecar side by side."""
    torch.manual_seed(0)
    exported = export_pte(Controlled().eval(), torch.zeros(1, 3, SIZE, SIZE), controlled_metadata(), etrecord=True)
    path = tmp_path_factory.mktemp("controlled") / "controlled.pte"
    path.write_bytes(exported.pte)
    debug_handles.sidecar_path(path).write_bytes(debug_handles.to_json_bytes(exported.debug_handles))
    path.with_suffix(debug_handles.ETRECORD_SUFFIX).write_bytes(exported.etrecord)
    return path


def test_the_etrecord_on_request_is_upstreams(controlled_pte):
    """build --etrecord's file is ExecuTorch's own ETRecord: its parser reads it back."""
    from executorch.devtools.etrecord import parse_etrecord

    etrecord = parse_etrecord(str(controlled_pte.with_suffix(debug_handles.ETRECORD_SUFFIX)))
    assert etrecord.edge_dialect_program is not None and etrecord._debug_handle_map


def test_the_wide_block_comes_out_on_top(controlled_pte, tmp_path):
    outputs = {"json_path": tmp_path / "p.json", "markdown_path": tmp_path / "p.md", "plot_path": tmp_path / "p.png",
               "etdump_path": tmp_path / "p.etdp"}
    result = mnv3_sdk.profile_model(controlled_pte, runs=5, **outputs)
    tables = result.tables
    assert [row.module for row in result.top_modules][0] == "features.2"
    top = tables.modules[0]
    assert top.share > 0.5 and top.share > 4 * tables.modules[1].share and top.precisions == ["fp32"]
    # Each convolution was named by its own module, with its aten operator and output shape.
    wide = [row for row in tables.operators if row.module.startswith("features.2.")]
    assert [(row.module, row.aten, row.shape) for row in wide if row.aten == "convolution"] == [
        ("features.2.0", "convolution", [1, 512, 32, 32]), ("features.2.2", "convolution", [1, 16, 32, 32])]
    assert {row.module for row in tables.operators} >= {"features.0", "features.1.0", "features.3.2", "classifier"}
    assert all(" #" not in row.operator for row in tables.operators)
    assert len(tables.alignment) == 1 and "placed by position" not in tables.alignment[0]
    assert 0.5 < tables.operators_median / tables.inference_median <= 1.0
    # What was written: the typed result as JSON, the tables, the chart and the raw ETDump.
    written = json.loads(outputs["json_path"].read_text(encoding="utf-8"))
    assert written["tables"]["modules"][0]["module"] == "features.2" and written["runs"] == 5
    assert len(written["tables"]["operators"]) == len(tables.operators)
    assert result.summary() in outputs["markdown_path"].read_text(encoding="utf-8")
    assert outputs["plot_path"].stat().st_size > 0 and outputs["etdump_path"].stat().st_size > 0


@pytest.mark.skipif(arm64_missing() is not None, reason="needs qemu-aarch64 and the arm64 cross compiler")
def test_arm64_operator_instructions_sum_to_the_inference(controlled_pte, tmp_path):
    """profile --arch arm64 on the controlled model: each operator's guest instructions under qemu
    sum to within 5% of the whole inference counted without the event tracer, repeat exactly from
    run to run, and name the wide block first on both CPU models."""
    outputs = {"json_path": tmp_path / "a.json", "markdown_path": tmp_path / "a.md", "plot_path": tmp_path / "a.png",
               "etdump_path": tmp_path / "a.etdp"}
    results = mnv3_sdk.profile_model_arm64(controlled_pte, runs=2, **outputs)
    assert [result.cpu for result in results] == ["cortex-a53", "neoverse-n1"]
    for result in results:
        tables = result.tables
        assert tables.unit == "instructions" and tables.inference_median > 100_000
        assert 0.95 <= tables.operators_median / tables.inference_median <= 1.05
        assert tables.modules[0].module == "features.2" and tables.modules[0].share > 0.5
        written = json.loads((tmp_path / f"a-{result.cpu}.json").read_text(encoding="utf-8"))
        assert written["cpu"] == result.cpu and written["tables"]["unit"] == "instructions"
        markdown = (tmp_path / f"a-{result.cpu}.md").read_text(encoding="utf-8")
        assert "median instructions" in markdown and "µs" not in markdown
        assert (tmp_path / f"a-{result.cpu}.etdp").stat().st_size > 0


class TwoCalls(nn.Module):
    """Two XNNPACK partitions with a portable kernel (cumsum, which XNNPACK does not take) between."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), Bottleneck(16, 512))
        self.tail = Bottleneck(16, 32)
        self.classifier = nn.Linear(16, CLASSES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.tail(self.features(image).cumsum(1))
        return self.classifier(torch.flatten(features.mean((2, 3), keepdim=True), 1))


@pytest.mark.slow
@pytest.mark.skipif(arm64_missing() is not None, reason="needs qemu-aarch64 and the arm64 cross compiler")
def test_arm64_maps_two_delegate_calls_and_the_portable_kernel_between(tmp_path):
    """The clock-read layout per delegate call and around the inference (profile/arm64.py): with two
    calls a wrong layout is refused by count, and the portable kernel must get its own work (about
    0.39 M instructions for a cumsum over 16×32×32 values), not the dispatch before it."""
    torch.manual_seed(0)
    exported = export_pte(TwoCalls().eval(), torch.zeros(1, 3, SIZE, SIZE), controlled_metadata(),
                          allow_portable_ops=True)
    path = tmp_path / "two-calls.pte"
    path.write_bytes(exported.pte)
    debug_handles.sidecar_path(path).write_bytes(debug_handles.to_json_bytes(exported.debug_handles))
    [result] = mnv3_sdk.profile_model_arm64(path, runs=1, cpu_models="cortex-a53", json_path=tmp_path / "t.json",
                                            markdown_path=tmp_path / "t.md", plot_path=tmp_path / "t.png",
                                            etdump_path=tmp_path / "t.etdp")
    tables = result.tables
    assert len(tables.alignment) == 2 and 0.95 <= tables.operators_median / tables.inference_median <= 1.05
    [cumsum] = [row for row in tables.operators if not row.delegated and row.aten == "cumsum"]
    assert cumsum.median > 100_000, cumsum
    assert tables.modules[0].module == "features.1" and tables.modules[0].share > 0.5


def test_arm64_counts_with_one_thread_only(controlled_pte):
    with pytest.raises(mnv3_sdk.SdkError, match="one thread only"):
        mnv3_sdk.profile_model_arm64(controlled_pte, threads=2)


def test_alignment_skips_fused_nodes_and_keeps_split_operators():
    nodes = [XnnNode(kind, handle, "fp32") for kind, handle in [
        ("Conv2d", 1), ("Clamp", 1), ("Add", 2), ("Convert", 3), ("Hardswish", 4), ("Convert", 5), ("Div", 6)]]
    operators = ["Convolution (NHWC, F32) IGEMM #1", "Add (ND) #1", "Clamp (NC) #1", "Invalid Unary Op #1",
                 "Divide (ND) #1"]
    alignment = align([operator_type(name) for name in operators], nodes)
    # The conv's clamp was fused into it; the add was split into add + clamp; the unnamed int8
    # unary operator is the hardswish with its converts fused in.
    assert alignment.node_of == [0, 2, 2, 4, 6]
    assert (alignment.matched, alignment.split, alignment.fused, alignment.mismatched) == (4, 1, 3, 0)


def test_build_writes_the_sidecar_and_the_report_names_it(random_build_result):
    out, report = random_build_result.out_dir, random_build_result.report
    sidecar = debug_handles.read_sidecar(random_build_result.pte_path)  # checked against the .pte's sha256
    assert report.profiling.debug_handles == debug_handles.sidecar_path(random_build_result.pte_path).name
    assert report.profiling.etrecord is None and not list(out.glob("*.etrecord"))
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["profiling"]["debug_handles"] == \
        report.profiling.debug_handles
    convolutions = [info for info in sidecar.handles.values() if info.operator == "convolution"]
    assert convolutions[0].module == "features.0.0" and convolutions[0].shape == [1, 16, 112, 112]
    assert (out / report.profiling.debug_handles).stat().st_size < 100_000


def test_profile_cli_on_the_smoke_build(random_build_result, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("profile", str(random_build_result.pte_path), "--runs", "3", "--top", "5")
    assert result.exit_code == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"most expensive modules of {random_build_result.pte_path.name}") and last.count("%") == 3
    assert "| `features." in result.stdout and "Convolution (NHWC, F32)" in result.stdout
    assert {path.name for path in tmp_path.iterdir()} == {"profile.json", "profile.md", "profile.png", "profile.etdp"}


@pytest.mark.slow
def test_fp16_and_int8_profiles_name_their_precision(digits_models, digits_int8_excluded, tmp_path):
    """The digits model in fp16, and in int8 with `--quant-exclude first,last,features.4`: every
    convolution is profiled in the precision it was built in."""
    builds = {"fp16": digits_models["fp16"], "int8": digits_int8_excluded / f"{digits_int8_excluded.name}.pte"}
    for quant, path in builds.items():
        result = mnv3_sdk.profile_model(path, runs=3, json_path=tmp_path / f"{quant}.json",
                                        markdown_path=tmp_path / f"{quant}.md", plot_path=tmp_path / f"{quant}.png",
                                        etdump_path=tmp_path / f"{quant}.etdp")
        rows = result.tables.operators
        assert result.quant == quant and all(line.split(": ", 1)[1].count("placed by position") == 0
                                             for line in result.tables.alignment)
        # XNNPACK runs the 1×1 convolutions and the Linear layers as fully connected operators.
        layers = {row.module: row.precision for row in rows
                  if row.operator.startswith(("Convolution", "Fully Connected"))}
        assert layers, rows[:5]
        if quant == "fp16":
            assert set(layers.values()) == {"fp16"}
        else:
            # The excluded layers stayed fp32, and the report says what they cost.
            excluded = {module for module in layers
                        if module in ("features.0.0", "classifier.3") or module.startswith("features.4.")}
            assert len(excluded) == 7 and {layers.pop(module) for module in excluded} == {"fp32"}
            assert set(layers.values()) == {"int8"}
            markdown = (tmp_path / "int8.md").read_text(encoding="utf-8")
            assert "## Layers left in fp32" in markdown and "| `features.0.0` |" in markdown


def _write(path, data):
    path.write_bytes(data)
    return path


BAD_INPUT = {
    "missing file": (lambda t: [str(t / "none.pte")], "model file not found"),
    "not a .pte": (lambda t: [str(_write(t / "photo.pte", b"\x89PNG\r\n\x1a\n" + bytes(64)))],
                   "is not an ExecuTorch program"),
    "zero runs": (lambda t: [str(_write(t / "m.pte", bytes(4) + b"ET12" + bytes(64))), "--runs", "0"],
                  "--runs takes a whole number from 1"),
    "runs not a number": (lambda t: [str(t / "m.pte"), "--runs", "many"], "'many' is not a valid integer"),
    "output under a file": (lambda t: [str(_write(t / "m.pte", bytes(4) + b"ET12" + bytes(64))), "--json",
                                       str(_write(t / "file", b"x") / "profile.json")], "is not a folder"),
    "no sidecar": (lambda t: [str(_write(t / "m.pte", bytes(4) + b"ET12" + bytes(64)))],
                   "m.debug-handles.json not found beside"),
    "serial without adb": (lambda t: [str(_write(t / "m.pte", bytes(4) + b"ET12" + bytes(64))), "--serial", "X"],
                           "--serial and --adb-server only apply with --adb"),
    "bad adb server": (lambda t: [str(_write(t / "m.pte", bytes(4) + b"ET12" + bytes(64))), "--adb", "--adb-server",
                                  "nowhere"], "--adb-server takes HOST:PORT"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_gives_one_line_and_writes_nothing(case, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_arguments, message = BAD_INPUT[case]
    arguments = make_arguments(tmp_path)  # the case's own files first: then nothing may appear
    before = sorted(tmp_path.rglob("*"))
    result = run_cli("profile", *arguments)
    assert result.exit_code != 0 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert sorted(tmp_path.rglob("*")) == before
