"""mnv3-sdk bench: statistics, host runs, reports, baselines, and adb against SimulatedAdb."""

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from mnv3_sdk.bench.report import regressions
from mnv3_sdk.bench.stats import percentile, summarize, trimmed_mean

TESTS = Path(__file__).parent
QUICK = ["--threads", "1", "--warmup", "1", "--iterations", "10", "--min-seconds", "0"]


# --- statistics, against hand-computed values --------------------------------------------------

def test_percentiles_interpolate_between_ranks():
    samples = [float(value) for value in range(1, 11)]  # 1..10
    assert percentile(samples, 0.5) == pytest.approx(5.5)
    assert percentile(samples, 0.9) == pytest.approx(9.1)
    assert percentile(samples, 0.99) == pytest.approx(9.91)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0


def test_trimmed_mean_drops_a_tenth_at_each_end():
    samples = [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 1000]  # one outlier
    assert trimmed_mean(samples) == pytest.approx(sum(range(2, 10)) / 8)
    assert trimmed_mean([5.0, 100.0]) == pytest.approx(52.5)  # floor(0.2) = 0: nothing dropped


def test_summary_of_known_samples():
    summary = summarize([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert summary.mean_ms == 5.0 and summary.min_ms == 2.0 and summary.iterations == 8
    assert summary.std_ms == pytest.approx((32 / 7) ** 0.5)  # sample standard deviation
    assert summary.p50_ms == 4.5
    assert summary.seconds == pytest.approx(0.040)


def test_baseline_regressions_compare_p50_of_the_same_case(tmp_path):
    def case(model, p50):
        return {"model": model, "engine": "executorch", "threads": 1, "device": "host", "summary": {"p50_ms": p50}}

    baseline = tmp_path / "old.json"
    baseline.write_text(json.dumps({"cases": [case("a", 10.0), case("b", 10.0)]}))
    report = {"cases": [case("a", 10.9), case("b", 11.5), case("c", 99.0)]}
    found = regressions(report, baseline, 10.0)
    assert [(r.label.split(" ")[0], round(r.percent, 1)) for r in found] == [("b", 15.0)]


# --- host ---------------------------------------------------------------------------------------

def test_host_bench_compares_builds_side_by_side(random_build, digits_build, tmp_path, run_cli):
    out = tmp_path / "bench"
    result = run_cli("bench", str(random_build), str(digits_build / "digits-fp32.pte"), *QUICK, "--threads", "1,2",
                     "--json", str(out / "b.json"), "--markdown", str(out / "b.md"), "--plot", str(out / "b.png"))
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "b.json").read_text())
    assert [(c["model"], c["threads"]) for c in report["cases"]] == [
        ("mnv3-small-fp32", 1), ("digits-fp32", 1), ("mnv3-small-fp32", 2), ("digits-fp32", 2)]
    first = report["cases"][0]
    assert first["ratio_to_first"] == 1.0 and len(first["samples_ms"]) >= 10
    assert first["load_ms"] > 0 and first["first_inference_ms"] > 0 and first["peak_rss_kb"] > 0
    assert first["summary"]["p50_ms"] == pytest.approx(percentile(first["samples_ms"], 0.5))
    assert report["cases"][1]["metadata"]["arch"] == "mobilenet_v3_small"
    assert "| digits-fp32 | executorch | 2 | host |" in result.stdout
    assert (out / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["versions"]["executorch"] and report["command"].startswith("mnv3-sdk bench")

    # The same run as its own baseline, with every p50 halved: each case regressed.
    baseline = json.loads((out / "b.json").read_text())
    for case in baseline["cases"]:
        case["summary"]["p50_ms"] /= 2
    (out / "old.json").write_text(json.dumps(baseline))
    again = run_cli("bench", str(random_build), *QUICK, "--json", str(out / "c.json"), "--markdown",
                    str(out / "c.md"), "--plot", str(out / "c.png"), "--baseline", str(out / "old.json"))
    assert again.exit_code == 1 and "regression" in again.stderr and "mnv3-small-fp32" in again.stderr


def test_bench_without_models_uses_the_builds_under_dist(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("bench", *QUICK)
    assert result.exit_code == 1 and "no builds under dist" in result.stderr


# --- adb, against SimulatedAdb ------------------------------------------------------------------

DEVICE = {
    "state": "device",
    "props": {"ro.product.model": "Pixel Sim", "ro.product.manufacturer": "SimCorp", "ro.soc.model": "SIM8000",
              "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "15", "ro.build.version.sdk": "35"},
    "max_freq_khz": [1800000, 1800000, 1800000, 1800000, 2400000, 2400000, 2400000, 3000000],
    "thermal": [0],
    "app_package": "com.example.mnv3.demo",
}


@pytest.fixture
def simulated_adb(tmp_path, monkeypatch):
    """Puts SimulatedAdb first on PATH; returns a function that sets up its devices."""
    state = tmp_path / "adb-state"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "adb"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{TESTS / "simulated_adb.py"}" "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.setenv("MNV3_SIM_ADB_STATE", str(state))

    def devices(*specs):
        (state / "devices.json").write_text(json.dumps({"devices": [{**DEVICE, **spec} for spec in specs]}))
        return state

    return devices


@pytest.fixture
def runner(tmp_path):
    path = tmp_path / "executor_runner"
    path.write_text(f'#!{sys.executable}\n' + (TESTS / "fake_executor_runner.py").read_text())
    path.chmod(0o755)
    return path


@pytest.fixture
def apk(tmp_path):
    path = tmp_path / "demo-debug.apk"
    path.write_bytes(b"PK\x03\x04 simulated apk")
    return path


def bench_args(tmp_path, *extra):
    out = tmp_path / "out"
    return ["bench", *extra, "--json", str(out / "b.json"), "--markdown", str(out / "b.md"), "--plot", str(out / "b.png")]


def test_runner_mode_end_to_end(simulated_adb, random_build, runner, tmp_path, run_cli):
    state = simulated_adb({"serial": "SIM001"})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(runner), "--pin-big-cores",
                                 "--threads", "2", "--warmup", "1", "--iterations", "20"))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    device = report["devices"][0]
    assert device["model"] == "Pixel Sim" and device["soc"] == "SIM8000" and device["cores"] == 8
    assert device["max_freq_khz"][-1] == 3000000 and device["thermal_before"] == 0
    case = report["cases"][0]
    assert case["engine"] == "executor_runner" and case["device"] == "SIM001" and len(case["samples_ms"]) == 2
    assert "pinned to cores mask 80" in case["notes"] and "totals only" in case["notes"]
    assert not (state / "SIM001" / "fs" / "data" / "local" / "tmp" / "mnv3-sdk").exists()


def test_app_mode_end_to_end(simulated_adb, random_build, apk, tmp_path, run_cli):
    state = simulated_adb({"serial": "SIM001"})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 0, result.stderr
    case = json.loads((tmp_path / "out" / "b.json").read_text())["cases"][0]
    assert case["engine"] == "app" and len(case["samples_ms"]) == 10
    assert case["load_ms"] > 0 and case["first_inference_ms"] > 0 and case["pss_kb"] > 0
    assert "mnv3-sdk-bench: load_ms=" in (state / "SIM001" / "logcat").read_text()
    assert not (state / "SIM001" / "fs" / "data" / "local" / "tmp" / "mnv3-sdk").exists()
    assert not list((state / "SIM001" / "fs" / "data" / "data").rglob("mnv3_benchmark.json"))


def test_app_mode_times_whole_frames_with_preprocessing_apart(simulated_adb, random_build, apk, tmp_path, run_cli):
    """--frame: the activity gets frame_width/frame_height extras and reports preprocessing per
    iteration (the simulated device runs the Python reference of the Kotlin pipeline)."""
    state = simulated_adb({"serial": "SIM001"})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), "--frame", "640x480", *QUICK))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert report["settings"]["frame"] == "640x480"
    case = report["cases"][0]
    assert case["engine"] == "app end-to-end" and case["frame"] == "640x480"
    assert len(case["preprocessing_ms"]) == len(case["samples_ms"]) == 10
    assert case["end_to_end_summary"]["p50_ms"] > case["summary"]["p50_ms"]
    assert "| 640x480 |" in (tmp_path / "out" / "b.md").read_text()
    assert "mnv3-sdk-bench: load_ms=" in (state / "SIM001" / "logcat").read_text()


@pytest.mark.parametrize("arguments, message", [
    (["--frame", "1920x1080"], "only apply with --adb"),
    (["--adb", "--runner", "RUNNER", "--frame", "1920x1080"], "--frame needs app mode"),
    (["--adb", "--apk", "APK", "--frame", "1920by1080"], "--frame takes WIDTHxHEIGHT"),
    (["--adb", "--apk", "APK", "--frame", "0x1080"], "--frame sides must be 1 to 16384"),
])
def test_frame_option_errors(random_build, apk, runner, tmp_path, run_cli, arguments, message):
    arguments = [{"RUNNER": str(runner), "APK": str(apk)}.get(word, word) for word in arguments]
    result = run_cli(*bench_args(tmp_path, str(random_build), *arguments, *QUICK))
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("state_name, message", [("unauthorized", "unauthorized: unlock it"),
                                                 ("offline", "offline: reconnect it")])
def test_unusable_devices_are_named(simulated_adb, random_build, apk, tmp_path, run_cli, state_name, message):
    simulated_adb({"serial": "SIM9", "state": state_name})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 1
    assert f"device SIM9 is {message}" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_several_devices_need_a_choice(simulated_adb, random_build, apk, tmp_path, run_cli):
    simulated_adb({"serial": "SIM1"}, {"serial": "SIM2"})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 1 and "--serial or use --all-devices" in result.stderr


def test_all_devices_keep_results_when_one_disconnects(simulated_adb, random_build, runner, tmp_path, run_cli):
    state = simulated_adb({"serial": "SIM1"}, {"serial": "SIM2", "fail": {"disconnect_after": 19}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--all-devices", "--runner", str(runner),
                                 "--threads", "1", "--warmup", "0", "--iterations", "10"))
    assert result.exit_code == 1 and "device SIM2" in result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert [case["device"] for case in report["cases"]] == ["SIM1"], result.stderr
    assert report["failures"][0]["device"] == "SIM2"
    assert not (state / "SIM1" / "fs" / "data" / "local" / "tmp" / "mnv3-sdk").exists()


@pytest.mark.parametrize("failure, message", [({"app_crash": True}, "the app crashed"),
                                              ({"app_timeout": True}, "no result after 3 s")])
def test_app_failures_are_reported_per_device(simulated_adb, random_build, apk, tmp_path, run_cli, failure, message):
    state = simulated_adb({"serial": "SIM1", "fail": failure})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), "--timeout", "3", *QUICK))
    assert result.exit_code == 1 and message in result.stderr and "SIM1" in result.stderr
    assert not (state / "SIM1" / "fs" / "data" / "local" / "tmp" / "mnv3-sdk").exists()


def test_runner_that_exits_non_zero_names_device_and_step(simulated_adb, random_build, runner, tmp_path, run_cli):
    simulated_adb({"serial": "SIM1", "fail": {"runner_exit": 134}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(runner), *QUICK))
    assert result.exit_code == 1
    assert "device SIM1: warming up mnv3-small-fp32.pte failed" in result.stderr


def test_unparsable_runner_output(simulated_adb, random_build, tmp_path, run_cli):
    simulated_adb({"serial": "SIM1"})
    silent = tmp_path / "silent_runner"
    silent.write_text("#!/bin/sh\necho hello\n")
    silent.chmod(0o755)
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(silent), *QUICK))
    assert result.exit_code == 1 and "cannot parse the runner's output" in result.stderr


def test_adb_needs_a_way_to_run_the_model(simulated_adb, random_build, tmp_path, run_cli):
    simulated_adb({"serial": "SIM1"})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb"))
    assert result.exit_code == 1 and "--apk" in result.stderr and "--runner" in result.stderr
