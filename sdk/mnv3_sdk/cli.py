"""The ``mnv3-sdk`` command line: parses arguments and calls the pipeline, nothing more."""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Iterable

import click

from mnv3_sdk import __version__
from mnv3_sdk.bench.config import FRAME_FORMATS, BenchConfig
from mnv3_sdk.bench.config import option_default as bench_default
from mnv3_sdk.build import report as report_io
from mnv3_sdk.build.config import INPUT_FORMATS, QUANTS, BuildConfig, option_default
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native.run import DEFAULT_CPU_MODELS
from mnv3_sdk.network.mobilenetv3 import VARIANTS


def _progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    """A progress bar on stderr, so --json output on stdout stays clean."""
    items = list(items)
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mnv3-sdk")
def cli() -> None:
    """Turn a MobileNetV3 into a verified ExecuTorch/XNNPACK model and an Android SDK.

    \b
    Start with:
      mnv3-sdk build --variant small --weights random   # offline smoke build
      mnv3-sdk build --variant small                    # torchvision's ImageNet weights
      mnv3-sdk info dist/mnv3-small-fp32/mnv3-small-fp32.pte
    """


@cli.command()
@click.option("--variant", type=click.Choice(VARIANTS), default=option_default("variant"), show_default=True,
              help="MobileNetV3 size (paper tables 1 and 2).")
@click.option("--width", "width_mult", type=float, default=option_default("width_mult"), show_default=True,
              help="Width multiplier, e.g. 0.75 (ImageNet weights exist for 1.0 only).")
@click.option("--quant", type=click.Choice(QUANTS), default=option_default("quant"), show_default=True,
              help="Numeric format of the exported model (XNNPACK kernels).")
@click.option("--weights", default=option_default("weights"), show_default=True, metavar="imagenet|random|PATH",
              help="torchvision's ImageNet checkpoint (downloaded once into the torch hub cache), "
                   "seeded random weights (smoke tests only), or a state dict file (.pth/.pt).")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None,
              help="UTF-8 file, one label per line, for a custom head. Default: ImageNet's 1000 classes.")
@click.option("--input-size", type=int, default=option_default("input_size"), show_default=True, help="Square input side in pixels.")
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), default=option_default("input_format"), show_default=True,
              help="pixels: RGB values 0-255 as floats, NCHW, normalized inside the graph. normalized: "
                   "mean/std-normalized floats, NCHW, for callers who normalize themselves.")
@click.option("--crop-fraction", type=float, default=None,
              help="Central crop kept before resizing, recorded for the wrappers. "
                   "Default: what the weights were evaluated with (0.875 for most).")
@click.option("--val-dir", type=click.Path(path_type=Path), default=None,
              help="Labelled images, one sub-folder per class named by its label: measures top-1/top-5 "
                   "of eager and exported models and gates the build on them.")
@click.option("--min-accuracy-ratio", type=float, default=option_default("min_accuracy_ratio"), show_default=True,
              help="Fail the build when the .pte's top-1 is below this fraction of eager fp32's.")
@click.option("--calibration-dir", type=click.Path(path_type=Path), default=None,
              help="int8: images (searched recursively) to calibrate activation ranges; a quarter of them "
                   "(up to 64) is held out to judge the model on, and flat, duplicate or unrepresentative images "
                   "are refused. Without it, calibration images are synthesized from the network's BatchNorm "
                   "statistics.")
@click.option("--calibration-samples", type=int, default=None,
              help="int8: how many images to calibrate with (default 128 from a folder, 32 data-free).")
@click.option("--quant-exclude", default=None, metavar="LAYERS",
              help="int8: comma-separated layers kept in fp32: first, last, or names such as features.0.0.")
@click.option("--allow-portable-ops", is_flag=True,
              help="Build even when operators over whole tensors are left outside XNNPACK (listed in the "
                   "report as a warning); by default such a model is refused as needlessly slow.")
@click.option("--per-tensor", is_flag=True, help="int8: one weight scale per tensor instead of per channel.")
@click.option("--sensitivity", is_flag=True,
              help="int8: report each layer's SQNR against fp32, worst first (always done when the gate fails "
                   "on real images).")
@click.option("--package", default=option_default("package"), show_default=True,
              help="Kotlin package (and Android namespace) of the generated library.")
@click.option("--class-name", default=option_default("class_name"), show_default=True,
              help="Name of the generated classifier class.")
@click.option("--no-aar", "no_aar", is_flag=True,
              help="Write the Gradle project but skip compiling the Kotlin and packaging the AAR.")
@click.option("--no-arm64-check", "no_arm64_check", is_flag=True,
              help="Skip running the model on ExecuTorch's arm64 kernels under qemu-aarch64 (done by default "
                   "when qemu-aarch64 and the arm64 cross compiler are installed; a failure refuses the build).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder. Default: dist/mnv3-<variant>-<quant>.")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def build(as_json: bool, **options: Any) -> None:
    """Export, verify and package a MobileNetV3.

    Writes <out>/<name>.pte (metadata embedded), metadata.json, report.json and report.md.
    The folder appears only when every step and the accuracy gate passed.
    """
    from mnv3_sdk.build.pipeline import run_build

    options["build_aar"] = not options.pop("no_aar")
    options["arm64_check"] = not options.pop("no_arm64_check")
    config = BuildConfig(**options)
    _say(f"building {config.name}: mobilenet_v3_{config.variant} ×{config.width_mult:g}, {config.quant}, "
         f"weights {config.weights}")
    result = run_build(config, progress=_progress)
    for warning in result.warnings:
        _say(f"warning: {warning}")
    if result.gate.passed:
        _say(f"gate passed: {result.gate.reason}")
    extras = ", ".join(part for part in (result.aar_path and result.aar_path.name,
                                         result.maven_dir and f"{result.maven_dir.name}/", "android/") if part)
    _say(f"wrote {result.out_dir}/ ({result.pte_path.name}: {result.pte_bytes:,} bytes; {extras})")
    if as_json:
        # Sections of report.json, through the report's own encoder: JSON has no NaN or infinity
        # (an SQNR of identical outputs is inf; clear agreement over no clear inputs is NaN).
        sections = ("gate", "agreement", "accuracy", "calibration", "sizes", "timings")
        click.echo(report_io.to_json({"out_dir": str(result.out_dir), "pte": str(result.pte_path),
                                      **{name: result.report[name] for name in sections}}), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON only.")
def info(model: Path, as_json: bool) -> None:
    """Print the metadata embedded in MODEL.pte (the .pte alone is enough)."""
    from mnv3_sdk.pte.metadata import read_from_pte

    metadata = read_from_pte(model)
    if as_json:
        # Sorted keys: the document as the .pte holds it.
        click.echo(json.dumps(metadata.to_dict(), ensure_ascii=False, indent=2, sort_keys=True))
        return
    model_info, inputs, output = metadata.model, metadata.input, metadata.output
    click.echo(f"{model}: {model_info.arch} ×{model_info.width_mult:g}, {model_info.num_classes} classes, "
               f"{metadata.quant}")
    click.echo(f"  weights: {metadata.weights.source} (sha256 {metadata.weights.sha256})")
    values = "RGB 0-255, normalized in the graph" if inputs.normalized_in_graph else "normalized RGB"
    click.echo(f"  input:   {inputs.name} {inputs.dtype} {inputs.layout} {inputs.shape} ({values}), "
               f"crop fraction {inputs.crop_fraction:g}, {inputs.interpolation}")
    click.echo(f"  output:  {output.name} {output.dtype} {output.shape}")
    labels = metadata.labels
    click.echo(f"  labels:  {len(labels)} ({', '.join(labels[:3])}{', …' if len(labels) > 3 else ''})")
    click.echo("  versions: " + ", ".join(f"{name} {version}" for name, version in metadata.versions.items()))


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--val-dir", type=click.Path(path_type=Path), default=None,
              help="Labelled images, one sub-folder per class named by its label (required on the host).")
@click.option("--weights", default=None, metavar="imagenet|random|PATH",
              help="The eager weights to compare with (and gate against); without it only the .pte is scored.")
@click.option("--min-accuracy-ratio", type=float, default=option_default("min_accuracy_ratio"), show_default=True)
@click.option("--arch", type=click.Choice(["host", "arm64"]), default="host", show_default=True,
              help="arm64: also run the model on ExecuTorch's arm64 kernels under qemu-aarch64 (one process per "
                   "--cpu-models entry) and gate on its agreement with the host runtime and its accuracy.")
@click.option("--cpu-models", default=",".join(DEFAULT_CPU_MODELS), show_default=True,
              help="With --arch arm64: qemu CPU models, comma-separated (cortex-a53: no dot product; neoverse-n1: "
                   "dot product and fp16 arithmetic).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def verify(model: Path, val_dir: Path | None, weights: str | None, min_accuracy_ratio: float, arch: str,
           cpu_models: str, as_json: bool) -> None:
    """Score an existing MODEL.pte on a labelled folder, optionally against eager weights and on arm64."""
    from mnv3_sdk.native import parse_cpu_models, require_arm64
    from mnv3_sdk.verify.existing import verify_existing

    if arch != "arm64" and cpu_models != ",".join(DEFAULT_CPU_MODELS):
        raise SdkError("--cpu-models only applies with --arch arm64")
    if arch == "arm64":
        require_arm64("--arch arm64")
    models = parse_cpu_models(cpu_models) if arch == "arm64" else DEFAULT_CPU_MODELS
    result = verify_existing(model, val_dir, weights, min_accuracy_ratio, progress=_progress, arch=arch,
                             cpu_models=models)
    if as_json:
        click.echo(report_io.to_json(result.as_dict()), nl=False)
    else:
        for line in result.summary:
            click.echo(line)
    if result.failure is not None:
        raise SdkError(result.failure)


@cli.command()
@click.argument("models", nargs=-1, type=click.Path(path_type=Path))
@click.option("--arch", type=click.Choice(["host", "arm64"]), default=bench_default("arch"), show_default=True,
              help="arm64: instead of timing, count the guest instructions per inference of ExecuTorch's arm64 "
                   "kernels under qemu-aarch64, per --cpu-models entry (emulated, deterministic: not time).")
@click.option("--cpu-models", default=bench_default("cpu_models"), show_default=True,
              help="With --arch arm64: qemu CPU models, comma-separated (cortex-a53: no dot product; neoverse-n1: "
                   "dot product and fp16 arithmetic).")
@click.option("--adb", "adb", is_flag=True, help="Run on Android devices over adb instead of this host.")
@click.option("--adb-server", default=None, metavar="HOST:PORT",
              help="adb: use the adb server at HOST:PORT (a device lab's `adb -a server`), as adb -H HOST -P PORT; "
                   "default: as adb chooses ($ADB_SERVER_SOCKET, $ANDROID_ADB_SERVER_ADDRESS/PORT, else local).")
@click.option("--serial", default=None, help="adb: the device to use when several are connected.")
@click.option("--all-devices", is_flag=True, help="adb: run on every connected device, in parallel.")
@click.option("--mode", type=click.Choice(["app", "runner"]), default=None,
              help="adb: in-app BenchmarkActivity (needs --apk) or ExecuTorch's executor_runner (needs --runner).")
@click.option("--runner", type=click.Path(path_type=Path), default=None,
              help="adb runner mode: an executor_runner binary built for the device's ABI.")
@click.option("--apk", type=click.Path(path_type=Path), default=None,
              help="adb app mode: the demo app's APK (built from the generated Gradle project).")
@click.option("--app-package", default=None, help="adb app mode: the demo app's id (default: from the build's report).")
@click.option("--pin-big-cores", is_flag=True, help="adb runner mode: taskset the runner to the fastest cores.")
@click.option("--frame", default=None, metavar="WxH",
              help="adb app mode: classify synthetic WxH frames end to end and report preprocessing and "
                   "inference apart (e.g. 1920x1080).")
@click.option("--frame-format", type=click.Choice(list(FRAME_FORMATS)), default=None,
              help="With --frame: classify ARGB_8888 pixels (argb, default) or YUV_420_888 camera frames as an "
                   "ImageReader delivers them (yuv: NV21-like chroma, rotated 90°).")
@click.option("--threads", default=bench_default("threads"), show_default=True, help="Thread counts, comma-separated.")
@click.option("--warmup", type=int, default=bench_default("warmup"), show_default=True, help="Untimed runs before measuring.")
@click.option("--iterations", type=int, default=bench_default("iterations"), show_default=True, help="Measured runs, at least.")
@click.option("--min-seconds", type=float, default=bench_default("min_seconds"), show_default=True,
              help="Keep measuring until this much time was spent too (MLPerf-style).")
@click.option("--mlperf", is_flag=True, help="MLPerf Mobile's minimum: at least 1024 queries and 60 s per case.")
@click.option("--cooldown", type=float, default=bench_default("cooldown"), help="adb: wait up to S seconds for normal thermal status before each run.")
@click.option("--timeout", "app_timeout", type=float, default=None,
              help="adb app mode: seconds to wait for each in-app result (default: 60, or 2 s per iteration).")
@click.option("--eager", is_flag=True, help="Host: also time eager PyTorch for the same weights.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=bench_default("json_path"), show_default=True)
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), default=bench_default("markdown_path"), show_default=True)
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=bench_default("plot_path"), show_default=True)
@click.option("--baseline", type=click.Path(path_type=Path), default=None, help="An earlier bench.json to compare with.")
@click.option("--max-regression", type=float, default=bench_default("max_regression"), show_default=True,
              help="With --baseline: fail when a p50 (with --arch arm64: an instruction count) grew by more than "
                   "this many percent.")
def bench(**options: Any) -> None:
    """Measure latency of MODEL.pte files or BUILD_DIRs (default: every build under dist/).

    \b
    mnv3-sdk bench dist/mnv3-small-int8 dist/mnv3-small-fp32    # host, side by side
    mnv3-sdk bench --adb --apk demo-debug.apk                    # in-app on a device
    mnv3-sdk bench --adb --apk demo-debug.apk --frame 1920x1080  # end to end, from camera-sized frames
    mnv3-sdk bench --adb --apk demo-debug.apk --frame 1280x720 --frame-format yuv  # from camera frames
    mnv3-sdk bench --adb --runner executor_runner --pin-big-cores
    mnv3-sdk bench --adb --mode runner                            # our runner for arm64, pushed with its libraries
    mnv3-sdk bench dist/mnv3-small-int8 --arch arm64             # emulated instructions per inference
    """
    from mnv3_sdk.bench.run import run_bench

    config = BenchConfig(**options)
    outcome = run_bench(config, command=shlex.join(["mnv3-sdk", *click.get_current_context().obj["argv"]]))
    click.echo(outcome.markdown)
    plotted = outcome.cases or outcome.counts
    _say(f"wrote {config.json_path}, {config.markdown_path}" + (f", {config.plot_path}" if plotted else ""))
    failures = outcome.failures
    for failure in failures:
        _say(f"failed: {failure.error}")
    if outcome.regressions:
        listing = "; ".join(regression.describe() for regression in outcome.regressions)
        raise SdkError(f"{len(outcome.regressions)} regression(s) over {config.max_regression:g}%: {listing}")
    if failures:
        raise SdkError(f"{len(failures)} device(s) failed; results from the others are in {config.json_path}")


@cli.command()
@click.option("--fetch", "fetch_missing", is_flag=True, help="Download missing jars from Maven Central now.")
def doctor(fetch_missing: bool) -> None:
    """Show the toolchain found on this machine (JDK, Kotlin compiler, android.jar, runtime, adb, native runner)."""
    from mnv3_sdk.android.doctor import run_checks

    for check in run_checks(fetch_missing):
        click.echo(f"{'ok     ' if check.ok else 'missing'}  {check.name}: {check.detail}")


def _quiet_library_warnings() -> None:
    # torch/executorch deprecation chatter says nothing actionable to our users.
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("torch").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and a non-zero exit."""
    if not os.environ.get("MNV3_SDK_DEBUG"):
        _quiet_library_warnings()
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        # The exact command is recorded in reports (bench.json), so it travels with the context.
        cli.main(args=arguments, prog_name="mnv3-sdk", standalone_mode=False, obj={"argv": arguments})
    except SdkError as error:
        click.echo(f"mnv3-sdk: error: {error}", err=True)
        sys.exit(1)
    except click.UsageError as error:
        hint = f" (see 'mnv3-sdk {error.ctx.command.name} --help')" if error.ctx and error.ctx.command.name != "cli" else ""
        click.echo(f"mnv3-sdk: error: {error.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as error:
        click.echo(f"mnv3-sdk: error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("mnv3-sdk: interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug, not a user mistake: still one line unless asked for more
        if os.environ.get("MNV3_SDK_DEBUG"):
            traceback.print_exc()
        click.echo(f"mnv3-sdk: internal error: {type(error).__name__}: {error} "
                   "(set MNV3_SDK_DEBUG=1 for the traceback)", err=True)
        sys.exit(3)
