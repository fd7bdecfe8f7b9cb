"""The CLI's build, bench and profile options are the config dataclasses' fields, declared once there
(``options.option``): each init field has exactly one option (or is a positional MODEL(S)),
with the field's default, and parsing a flag sets that field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mnv3_sdk.bench.config import BenchConfig
from mnv3_sdk.cli import bench, build, profile
from mnv3_sdk.pipeline.config import BuildConfig
from mnv3_sdk.profile.config import ProfileConfig

COMMAND_ONLY = {"as_json"}  # build --json: how the command prints, not a build option


@pytest.mark.parametrize("command, config", [(build, BuildConfig), (bench, BenchConfig), (profile, ProfileConfig)],
                         ids=["build", "bench", "profile"])
def test_every_option_is_a_config_field_with_its_default(command, config):
    fields = {item.name: item for item in dataclasses.fields(config) if item.init}
    params = {param.name: param for param in command.params}
    assert set(params) - COMMAND_ONLY == set(fields)
    for name, param in params.items():
        if name in COMMAND_ONLY or name in ("models", "model"):  # bench's MODELS, profile's MODEL: positional
            continue
        assert param.default == fields[name].default, name
        assert param.help == fields[name].metadata["flag"].help, name


def test_flags_set_their_fields():
    parsed = build.make_context("build", ["--no-aar", "--width", "0.5", "--labels", "l.txt", "--out", "o",
                                          "--quant", "int8", "--per-tensor"]).params
    assert (parsed["build_aar"], parsed["width_mult"], parsed["labels_path"], parsed["out_dir"]) == (
        False, 0.5, Path("l.txt"), Path("o"))
    assert parsed["quant"] == "int8" and parsed["per_tensor"] and not parsed["force"]
    parsed = bench.make_context("bench", ["a.pte", "--json", "b.json", "--timeout", "3", "--mode", "runner"]).params
    assert (parsed["models"], parsed["json_path"], parsed["app_timeout"], parsed["mode"]) == (
        (Path("a.pte"),), Path("b.json"), 3.0, "runner")
    assert build.make_context("build", []).params["build_aar"] is True
