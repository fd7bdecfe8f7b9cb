"""The ``mnv3-sdk`` command line: parses arguments and calls the pipeline, nothing more."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

import click

from mnv3_sdk import __version__
from mnv3_sdk.bench.config import BenchConfig
from mnv3_sdk.pipeline import report as report_io
from mnv3_sdk.errors import SdkError
from mnv3_sdk.native.run import DEFAULT_CPU_MODELS
from mnv3_sdk.options import flag_of
from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.profile.config import ProfileConfig
from mnv3_sdk.verify.metrics import DEFAULT_MIN_ACCURACY_RATIO


def _progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    """A progress bar on stderr, so --json output on stdout stays clean."""
    items = list(items)
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _say(message: str) -> None:
    click.echo(message, err=True)


def _click_type(item: dataclasses.Field) -> Any:
    declared = str(item.type)  # a string under `from __future__ import annotations`
    flag = flag_of(item)
    if flag.choices:
        return click.Choice(flag.choices)
    if declared.startswith("Path"):
        return click.Path(path_type=Path)
    return {"int": int, "float": float}.get(declared.split(" ")[0], str)


def options_of(config_type: type) -> Callable[[Callable], Callable]:
    """The command's options, one per field of ``config_type`` declared with ``options.option``
    (its default, help and flag), in the fields' order. Other fields (bench's positional
    ``models``, derived ones) are the command's own business."""
    def decorate(command: Callable) -> Callable:
        for item in reversed(dataclasses.fields(config_type)):
            flag = flag_of(item)
            if flag is None:
                continue
            name = flag.name or "--" + item.name.replace("_", "-")
            if str(item.type) == "bool":
                extra: dict[str, Any] = {"is_flag": True, "flag_value": not item.default, "default": item.default}
            else:
                extra = {"type": _click_type(item), "default": item.default, "metavar": flag.metavar,
                         "show_default": flag.show_default and item.default is not None}
            command = click.option(name, item.name, help=flag.help, **extra)(command)
        return command
    return decorate


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
@options_of(BuildConfig)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def build(as_json: bool, **options: Any) -> None:
    """Export, verify and package a MobileNetV3.

    Writes <out>/<name>.pte (metadata embedded), metadata.json, report.json and report.md.
    The folder appears only when every step and the accuracy gate passed.
    """
    from mnv3_sdk.pipeline.stages import run_build

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
        report = result.report.to_dict()
        click.echo(report_io.to_json({"out_dir": str(result.out_dir), "pte": str(result.pte_path),
                                      **{name: report[name] for name in sections}}), nl=False)


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
@click.option("--min-accuracy-ratio", type=float, default=DEFAULT_MIN_ACCURACY_RATIO, show_default=True,
              help="Fail when the .pte's top-1 is below this fraction of the eager weights' (with --weights).")
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
        click.echo(report_io.to_json(result), nl=False)
    else:
        for line in result.summary():
            click.echo(line)
    result.check_gate()


@cli.command()
@click.argument("models", nargs=-1, type=click.Path(path_type=Path))
@options_of(BenchConfig)
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
@click.argument("model", type=click.Path(path_type=Path))
@options_of(ProfileConfig)
def profile(**options: Any) -> None:
    """Time each operator of MODEL.pte on this host and name the module it ran for; with --adb, on
    an Android phone's own clock; with --arch arm64, count each operator's guest instructions under
    qemu-aarch64 instead (not time).

    \b
    mnv3-sdk profile dist/mnv3-small-int8/mnv3-small-int8.pte
    mnv3-sdk profile MODEL.pte --threads 2 --runs 50 --depth 4 --top 20
    mnv3-sdk profile MODEL.pte --arch arm64 --runs 3
    mnv3-sdk profile MODEL.pte --adb --serial SERIAL   # our arm64 runner on a phone (untested on a real one)

    Needs the <name>.debug-handles.json that build writes beside the .pte. Prints the most
    expensive modules and operators; writes profile.json (every operator), profile.md, profile.png
    and the raw ETDump (profile.etdp) for ExecuTorch's Inspector (with --arch arm64 and several
    CPU models, one set per model, named -MODEL).
    """
    from mnv3_sdk import api
    from mnv3_sdk.profile.report import to_markdown

    config = ProfileConfig(**options)
    results = api.profile_model_arm64(**options) if config.arch == "arm64" else [api.profile_model(**options)]
    for result, paths in zip(results, config.outputs().values()):
        click.echo(to_markdown(result, config.top, summary=False), nl=False)
        _say(f"wrote {', '.join(str(path) for path in paths)}")
    for result in results:
        click.echo(result.summary())  # the answer, last


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
