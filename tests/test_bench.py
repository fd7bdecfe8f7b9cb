"""mnv3-sdk bench: statistics, host runs, reports, baselines, and the device harness through
Debian's real adb client and server, against phones emulated at adb's wire protocol
(tests/emulated_android/)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from emulated_android.harness import free_port, start_phone, stop_phone

from mnv3_sdk.bench.config import BenchConfig
from mnv3_sdk.bench.report import regressions
from mnv3_sdk.bench.stats import percentile, summarize, trimmed_mean
from mnv3_sdk.errors import SdkError

TESTS = Path(__file__).parent
QUICK = ["--threads", "1", "--warmup", "1", "--iterations", "10", "--min-seconds", "0"]
# One runner invocation instead of two (each loads torch and ExecuTorch on this host).
QUICKER = ["--threads", "1", "--warmup", "0", "--iterations", "3", "--min-seconds", "0"]


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

    # The same run as its own baseline, with every p50 cut a thousandfold: each case regressed. (Halved
    # was not enough: on a loaded machine the second run was once more than twice as fast as the first.)
    baseline = json.loads((out / "b.json").read_text())
    for case in baseline["cases"]:
        case["summary"]["p50_ms"] /= 1000
    (out / "old.json").write_text(json.dumps(baseline))
    again = run_cli("bench", str(random_build), *QUICK, "--json", str(out / "c.json"), "--markdown",
                    str(out / "c.md"), "--plot", str(out / "c.png"), "--baseline", str(out / "old.json"))
    assert again.exit_code == 1 and "regression" in again.stderr and "mnv3-small-fp32" in again.stderr


def test_bench_without_models_uses_the_builds_under_dist(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("bench", *QUICK)
    assert result.exit_code == 1 and "no builds under dist" in result.stderr


# --- adb: the real client and server, emulated phones --------------------------------------------

DEVICE = {
    "state": "device",
    "props": {"ro.product.model": "Pixel Emu", "ro.product.manufacturer": "EmuCorp", "ro.soc.model": "EMU8000",
              "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "15", "ro.build.version.sdk": "35",
              "ro.product.name": "emu", "ro.product.device": "emu"},
    "max_freq_khz": [1800000, 1800000, 1800000, 1800000, 2400000, 2400000, 2400000, 3000000],
    "thermal": [0],
    "app_package": "com.example.mnv3.demo",
}
WORK_FOLDER = "/data/local/tmp/mnv3-sdk"


@pytest.fixture
def emulated_phones(adb_server, tmp_path, monkeypatch):
    """Returns a function that starts emulated phones (DEVICE updated by each spec), connected to
    the session's adb server, which mnv3-sdk's adb calls reach through ANDROID_ADB_SERVER_PORT;
    the phones are disconnected and stopped after the test, whatever happened."""
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(adb_server.port))
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    started = []

    def phones(*specs):
        new = [start_phone(adb_server, {**DEVICE, **spec}, tmp_path / f"phone{len(started) + index}")
               for index, spec in enumerate(specs)]
        started.extend(new)
        return new

    yield phones
    for phone in started:
        stop_phone(adb_server, phone)


@pytest.fixture
def runner(tmp_path):
    path = tmp_path / "executor_runner"
    path.write_text(f'#!{sys.executable}\n' + (TESTS / "fake_executor_runner.py").read_text())
    path.chmod(0o755)
    return path


@pytest.fixture
def printing_runner(tmp_path):
    """A stand-in for executor_runner that checks its --model_path file is there and prints the
    real runner's closing log line, without running the model (no torch to load on every call):
    for tests of the adb plumbing. The measurement itself is tested with `runner`, which runs it."""
    path = tmp_path / "printing_runner"
    path.write_text('#!/bin/sh\n'
                    'while [ $# -gt 0 ]; do case "$1" in --model_path) model="$2";; --num_executions) n="$2";; esac; '
                    'shift; done\n'
                    '[ -f "$model" ] || { echo "E executor_runner.cpp:100] cannot open $model" >&2; exit 1; }\n'
                    'echo "I 00:00:00.000000 executorch:executor_runner.cpp:312] Model executed successfully $n '
                    'time(s) in $((n * 3)).000000 ms." >&2\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def apk(tmp_path):
    path = tmp_path / "demo-debug.apk"
    path.write_bytes(b"PK\x03\x04 not a real apk")
    return path


def bench_args(tmp_path, *extra):
    out = tmp_path / "out"
    return ["bench", *extra, "--json", str(out / "b.json"), "--markdown", str(out / "b.md"), "--plot", str(out / "b.png")]


@pytest.mark.slow
def test_runner_mode_end_to_end(emulated_phones, random_build, runner, tmp_path, run_cli):
    [phone] = emulated_phones({})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(runner), "--pin-big-cores",
                                 "--threads", "2", "--warmup", "1", "--iterations", "20"))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    device = report["devices"][0]
    assert device["model"] == "Pixel Emu" and device["soc"] == "EMU8000" and device["cores"] == 8
    assert device["max_freq_khz"][-1] == 3000000 and device["thermal_before"] == 0
    case = report["cases"][0]
    assert case["engine"] == "executor_runner" and case["device"] == phone.serial and len(case["samples_ms"]) == 2
    assert "pinned to cores mask 80" in case["notes"] and "totals only" in case["notes"]
    assert not phone.path(WORK_FOLDER).exists()


def test_app_mode_end_to_end(emulated_phones, random_build, apk, tmp_path, run_cli):
    [phone] = emulated_phones({})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 0, result.stderr
    case = json.loads((tmp_path / "out" / "b.json").read_text())["cases"][0]
    assert case["engine"] == "app" and len(case["samples_ms"]) == 10
    assert case["load_ms"] > 0 and case["first_inference_ms"] > 0 and case["pss_kb"] > 0
    assert "mnv3-sdk-bench: load_ms=" in phone.logcat
    assert not phone.path(WORK_FOLDER).exists()
    assert not list(phone.path("/data/data").rglob("mnv3_benchmark.json"))


def test_app_mode_times_whole_frames_with_preprocessing_apart(emulated_phones, random_build, apk, tmp_path, run_cli):
    """--frame: the activity gets frame_width/frame_height extras and reports preprocessing per
    iteration (the emulated phone runs the Python reference of the Kotlin pipeline)."""
    [phone] = emulated_phones({})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), "--frame", "640x480", *QUICK))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert report["settings"]["frame"] == "640x480" and report["settings"]["frame_format"] == "argb"
    case = report["cases"][0]
    assert case["engine"] == "app end-to-end" and case["frame"] == "640x480"
    assert (case["frame_format"], case["frame_rotation"]) == ("argb", 0)
    assert len(case["preprocessing_ms"]) == len(case["samples_ms"]) == 10
    assert case["end_to_end_summary"]["p50_ms"] > case["summary"]["p50_ms"]
    assert "| 640x480 | ARGB_8888 |" in (tmp_path / "out" / "b.md").read_text()
    assert "mnv3-sdk-bench: load_ms=" in phone.logcat


def test_app_mode_times_camera_frames_with_frame_format_yuv(emulated_phones, random_build, apk, tmp_path, run_cli):
    """--frame-format yuv: the activity gets `--es frame_format yuv` and classifies a synthetic
    YUV_420_888 frame (NV21-like chroma, rotated 90°) end to end; bench.json and bench.md say which
    pipeline was timed, and its cases are kept apart from ARGB ones (another engine, so a baseline
    of one never judges the other)."""
    [phone] = emulated_phones({})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), "--frame", "640x480",
                                 "--frame-format", "yuv", *QUICKER))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert report["settings"]["frame"] == "640x480" and report["settings"]["frame_format"] == "yuv"
    assert "--frame-format yuv" in report["command"]
    [case] = report["cases"]
    assert case["engine"] == "app end-to-end yuv" and case["frame"] == "640x480"
    assert (case["frame_format"], case["frame_rotation"]) == ("yuv", 90)
    assert len(case["preprocessing_ms"]) == len(case["samples_ms"]) == 3
    assert "YUV_420_888" in case["notes"]
    assert "| 640x480 | YUV_420_888, rotated 90° |" in (tmp_path / "out" / "b.md").read_text()
    assert "mnv3-sdk-bench: load_ms=" in phone.logcat


@pytest.mark.parametrize("lacks, arguments, message", [
    (["frame_format"], ["--frame", "64x48", "--frame-format", "yuv"],
     "the installed demo app has no yuv mode (--frame-format yuv): rebuild it"),
    (["frame_width", "frame_height", "frame_format"], ["--frame", "64x48"],
     "the installed demo app has no end-to-end mode (--frame): rebuild it"),
])
def test_an_app_built_before_a_mode_is_named_in_one_line(emulated_phones, random_build, apk, tmp_path, run_cli,
                                                         lacks, arguments, message):
    """An APK built from older templates ignores the extras it does not read (as any app does) and
    times something else; the harness notices from the result and says so, in one line naming the
    device, instead of reporting the wrong pipeline's times."""
    [phone] = emulated_phones({"app_lacks": lacks})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *arguments, *QUICKER))
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if message in line]
    assert f"device {phone.serial}" in line
    assert json.loads((tmp_path / "out" / "b.json").read_text())["cases"] == []


def test_the_emulated_app_refuses_what_the_activity_refuses(emulated_phones, adb_server, apk, tmp_path):
    """Extras the host never sends, straight through the real adb client: BenchmarkActivity's
    require() checks fail the run with an IllegalArgumentException written as the result, and the
    emulated app answers alike (before loading any model, as the activity does)."""
    [phone] = emulated_phones({})

    def adb(*args: str) -> str:
        return adb_server.run("-s", phone.serial, *args).stdout

    adb("install", str(apk))
    component = f"{DEVICE['app_package']}/.BenchmarkActivity"
    for extras, message in [(["--es", "frame_format", "nv21", "--ei", "frame_width", "64", "--ei", "frame_height", "48"],
                             "frame_format is argb or yuv, got nv21"),
                            (["--es", "frame_format", "yuv"], "frame_format yuv needs frame_width and frame_height")]:
        adb("shell", "run-as", DEVICE["app_package"], "rm", "-f", "files/mnv3_benchmark.json")
        adb("shell", "am", "start", "-W", "-S", "-n", component, "--es", "model", "/data/local/tmp/none.pte", *extras)
        deadline = time.monotonic() + 30
        while not (written := adb_server.run("-s", phone.serial, "shell", "run-as", DEVICE["app_package"], "cat",
                                             "files/mnv3_benchmark.json", check=False)).stdout:
            assert time.monotonic() < deadline, written.stderr
            time.sleep(0.1)
        assert json.loads(written.stdout) == {"error": f"java.lang.IllegalArgumentException: {message}",
                                              "error_type": "java.lang.IllegalArgumentException"}


@pytest.mark.parametrize("arguments, message, code", [
    (["--frame", "1920x1080"], "only apply with --adb", 1),
    (["--adb", "--runner", "RUNNER", "--frame", "1920x1080"], "--frame needs app mode", 1),
    (["--adb", "--apk", "APK", "--frame", "1920by1080"], "--frame takes WIDTHxHEIGHT", 1),
    (["--adb", "--apk", "APK", "--frame", "0x1080"], "--frame sides must be 1 to 16384", 1),
    (["--frame-format", "yuv"], "--frame and --frame-format only apply with --adb", 1),
    (["--adb", "--apk", "APK", "--frame-format", "yuv"], "--frame-format needs --frame WxH", 1),
    (["--adb", "--runner", "RUNNER", "--frame", "64x48", "--frame-format", "yuv"], "--frame needs app mode", 1),
    # click's own choice check: a usage error (exit 2), still one line.
    (["--adb", "--apk", "APK", "--frame", "64x48", "--frame-format", "nv21"],
     "Invalid value for '--frame-format': 'nv21' is not one of 'argb', 'yuv'", 2),
])
def test_frame_option_errors(random_build, apk, runner, tmp_path, run_cli, arguments, message, code):
    arguments = [{"RUNNER": str(runner), "APK": str(apk)}.get(word, word) for word in arguments]
    result = run_cli(*bench_args(tmp_path, str(random_build), *arguments, *QUICK))
    assert result.exit_code == code and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_frame_format_is_checked_for_script_callers_too(random_build, apk):
    """mnv3_sdk.benchmark(**options) builds the same BenchConfig without click's choice check."""
    with pytest.raises(SdkError, match=r"^--frame-format takes argb or yuv \(got 'nv21'\)$"):
        BenchConfig(models=(random_build,), adb=True, apk=apk, frame="64x48", frame_format="nv21")


@pytest.mark.parametrize("state_name, message", [("unauthorized", "unauthorized: unlock it"),
                                                 ("offline", "offline: reconnect it")])
def test_unusable_devices_are_named(emulated_phones, random_build, apk, tmp_path, run_cli, state_name, message):
    [phone] = emulated_phones({"state": state_name})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 1
    assert f"device {phone.serial} is {message}" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_several_devices_need_a_choice(emulated_phones, random_build, apk, tmp_path, run_cli):
    emulated_phones({}, {})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), *QUICK))
    assert result.exit_code == 1 and "--serial or use --all-devices" in result.stderr


def test_serial_picks_one_of_several_phones(emulated_phones, random_build, printing_runner, tmp_path, run_cli):
    first, second = emulated_phones({}, {"props": {**DEVICE["props"], "ro.product.model": "Second Emu"}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--serial", second.serial,
                                 "--runner", str(printing_runner), *QUICKER))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert [case["device"] for case in report["cases"]] == [second.serial]
    assert [device["model"] for device in report["devices"]] == ["Second Emu"]
    assert not first.path("/data/local/tmp").joinpath("mnv3-sdk").exists()


@pytest.mark.slow
def test_all_devices_keep_results_when_one_disconnects(emulated_phones, random_build, runner, tmp_path, run_cli):
    steady, vanishing = emulated_phones({}, {"fail": {"disconnect_after": 19}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--all-devices", "--runner", str(runner),
                                 "--threads", "1", "--warmup", "0", "--iterations", "10"))
    assert result.exit_code == 1 and f"device {vanishing.serial}" in result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert [case["device"] for case in report["cases"]] == [steady.serial], result.stderr
    assert report["failures"][0]["device"] == vanishing.serial
    assert not steady.path(WORK_FOLDER).exists()


@pytest.mark.parametrize("failure, message", [({"app_crash": True}, "the app crashed"),
                                              ({"app_timeout": True}, "no result after 3 s")])
def test_app_failures_are_reported_per_device(emulated_phones, random_build, apk, tmp_path, run_cli, failure, message):
    [phone] = emulated_phones({"fail": failure})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--apk", str(apk), "--timeout", "3", *QUICK))
    assert result.exit_code == 1 and message in result.stderr and phone.serial in result.stderr
    assert not phone.path(WORK_FOLDER).exists()


def test_runner_that_exits_non_zero_names_device_and_step(emulated_phones, random_build, printing_runner, tmp_path,
                                                          run_cli):
    [phone] = emulated_phones({"fail": {"runner_exit": 134}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(printing_runner), *QUICK))
    assert result.exit_code == 1
    assert f"device {phone.serial}: warming up mnv3-small-fp32.pte failed" in result.stderr


def test_unparsable_runner_output(emulated_phones, random_build, tmp_path, run_cli):
    emulated_phones({})
    silent = tmp_path / "silent_runner"
    silent.write_text("#!/bin/sh\necho hello\n")
    silent.chmod(0o755)
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(silent), *QUICK))
    assert result.exit_code == 1 and "cannot parse the runner's output" in result.stderr


def test_adb_without_an_app_or_runner_uses_our_runner(random_build):
    """No APK to install and no --runner: runner mode with mnv3-sdk's own arm64 runner, built when
    the run starts (test_runner_mode_pushes_our_arm64_runner_and_runs_it runs it)."""
    device = BenchConfig(models=(random_build,), adb=True).device
    assert device is not None and (device.mode, device.runner, device.runner_folder) == ("runner", None, None)
    with pytest.raises(SdkError, match=r"^--runner nowhere: no such file \(give an executor_runner built for the device"):
        BenchConfig(models=(random_build,), adb=True, runner=Path("nowhere"))


@pytest.mark.parametrize("mode", ["runner", "app"])
def test_paths_with_spaces_and_quotes_reach_the_phone_intact(emulated_phones, random_build, printing_runner, apk,
                                                            tmp_path, run_cli, mode):
    """The real adb client joins `adb shell` arguments with spaces and the phone's sh splits them
    again: a model named like this must survive push, the runner's --model_path and am start's --es."""
    [phone] = emulated_phones({})
    odd = tmp_path / "it's a model.pte"
    odd.write_bytes((random_build / "mnv3-small-fp32.pte").read_bytes())
    how = ["--runner", str(printing_runner)] if mode == "runner" else ["--apk", str(apk), "--app-package", DEVICE["app_package"]]
    result = run_cli(*bench_args(tmp_path, str(odd), "--adb", *how, *QUICKER))
    assert result.exit_code == 0, result.stderr
    [case] = json.loads((tmp_path / "out" / "b.json").read_text())["cases"]
    assert case["model"] == "it's a model" and case["device"] == phone.serial


def test_a_remote_adb_server_is_used_and_recorded(emulated_phones, adb_server, random_build, printing_runner,
                                                  tmp_path, run_cli, monkeypatch):
    """--adb-server HOST:PORT reaches a server that is not the local default (a device lab's
    machine; here the session's server on a loopback port), as adb -H/-P does, and bench.json
    records which server answered; without the flag, adb's own variables are honoured."""
    [phone] = emulated_phones({})
    monkeypatch.delenv("ANDROID_ADB_SERVER_PORT")  # only the flag says where the server is
    arguments = ["--adb", "--runner", str(printing_runner), *QUICKER]
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb-server", f"127.0.0.1:{adb_server.port}",
                                 *arguments))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert report["adb_server"] == f"tcp:127.0.0.1:{adb_server.port}"
    assert [case["device"] for case in report["cases"]] == [phone.serial]
    assert f"adb server tcp:127.0.0.1:{adb_server.port}" in (tmp_path / "out" / "b.md").read_text()

    monkeypatch.setenv("ADB_SERVER_SOCKET", f"tcp:127.0.0.1:{adb_server.port}")
    result = run_cli(*bench_args(tmp_path, str(random_build), *arguments))
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "out" / "b.json").read_text())["adb_server"] == f"tcp:127.0.0.1:{adb_server.port}"


def test_an_unreachable_adb_server_is_one_clear_line(emulated_phones, random_build, runner, tmp_path, run_cli):
    closed = free_port()
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--adb-server", f"127.0.0.1:{closed}",
                                 "--runner", str(runner), *QUICK))
    assert result.exit_code == 1 and f"127.0.0.1:{closed}" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["lab-host", "lab-host:0", ":5037", "lab-host:port"])
def test_bad_adb_server_values(random_build, runner, tmp_path, run_cli, value):
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--adb-server", value, "--runner", str(runner)))
    assert result.exit_code == 1 and "--adb-server takes HOST:PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c to the process group", "sigint to mnv3-sdk only"])
def test_ctrl_c_mid_run_removes_what_was_pushed(emulated_phones, adb_server, random_build, tmp_path, group):
    """Ctrl-C in a terminal signals the whole process group (adb children included: the step in
    flight stops at once); `kill -INT` only mnv3-sdk (the step in flight finishes, no other starts).
    Either way the run stops, says so in one line, exits 130, and the phone keeps nothing of ours.

    mnv3-sdk gets SIGINT's default disposition, as from a terminal: a shell without job control
    starts background jobs (`make test &` in a script, CI) with SIGINT ignored, and an ignored
    signal is inherited across exec, so the interrupt never arrived and the run finished (this
    test failed only when the suite ran as such a job). The runner waits on the phone until the
    signal has been sent, so how long start-up takes on a loaded machine does not matter either
    (it used to sleep 5 s, after a fixed 60 s wait for it to start)."""
    [phone] = emulated_phones({})
    slow = tmp_path / "slow_runner"
    # Ends when told to, or when the clean-up removes its folder (an emulated phone does not kill it).
    slow.write_text("#!/bin/sh\ntouch started\nwhile [ ! -e stop ] && [ -e started ]; do sleep 0.1; done\n")
    slow.chmod(0o755)
    command = [sys.executable, "-m", "mnv3_sdk", *bench_args(tmp_path, str(random_build), "--adb", "--runner",
                                                            str(slow), *QUICK)]
    environment = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = phone.path(f"{WORK_FOLDER}/started")
    try:
        while not started.exists():  # until the runner runs, or mnv3-sdk stopped without it
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.1)
    finally:
        if process.poll() is None and not started.exists():
            process.kill()
    (os.killpg if group else os.kill)(process.pid, signal.SIGINT)
    phone.path(f"{WORK_FOLDER}/stop").touch()  # the step in flight may finish now (kill -INT waits for it)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130 and stderr.strip().splitlines() == ["mnv3-sdk: interrupted"], stderr
    assert not phone.path(WORK_FOLDER).exists()


def test_a_phone_without_the_shell_protocol_is_refused(emulated_phones, random_build, runner, tmp_path, run_cli):
    """Android 6 and older report no shell_v2: adb falls back to the `shell:` service, where a failed
    command exits 0 with its error in stdout. The harness refuses such a phone by name rather than
    misread it (the library needs API 26 anyway)."""
    [phone] = emulated_phones({"features": "cmd,stat_v2,ls_v2,fixed_push_mkdir"})
    # What the old service does to a failing command, through the real client: exit 0, error in stdout.
    old = subprocess.run(["adb", "-s", phone.serial, "shell", "cat /nonexistent"], capture_output=True, text=True)
    assert old.returncode == 0 and "No such file or directory" in old.stdout
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", "--runner", str(runner), *QUICKER))
    assert result.exit_code == 1 and f"device {phone.serial} has no adb shell protocol v2" in result.stderr
    assert not phone.path(WORK_FOLDER).exists()


# --- arm64: our runner on the emulated phones, and emulated instruction counts --------------------

def test_runner_mode_pushes_our_arm64_runner_and_runs_it(emulated_phones, digits_models, tmp_path, run_cli):
    """Without --runner, the folder of mnv3-sdk's arm64 runner (runner, libraries, glibc's loader) is
    pushed and started through that loader; the emulated phone runs the aarch64 code under qemu with
    its CPU model, so these are the real arm64 kernels' outputs and per-iteration times."""
    [phone] = emulated_phones({"cpu": "neoverse-n1"})
    result = run_cli(*bench_args(tmp_path, str(digits_models["int8"]), "--adb", "--mode", "runner", "--pin-big-cores",
                                 "--threads", "1", "--warmup", "1", "--iterations", "3", "--min-seconds", "0"))
    assert result.exit_code == 0, result.stderr
    [case] = json.loads((tmp_path / "out" / "b.json").read_text())["cases"]
    assert case["engine"] == "mnv3 runner" and case["device"] == phone.serial and case["threads"] == 1
    assert len(case["samples_ms"]) == 3 and case["load_ms"] > 0
    assert "own glibc loader" in case["notes"] and "pinned to cores mask 80" in case["notes"]
    [started] = [line.split() for line in (phone.root / "executed").read_text().splitlines()]
    assert started[:3] == [shutil.which("qemu-aarch64"), "-cpu", "neoverse-n1"]
    assert started[3].endswith("/data/local/tmp/mnv3-sdk/runner-arm64/ld-linux-aarch64.so.1")
    assert started[4:6] == ["--library-path", "./runner-arm64"]
    assert not phone.path(WORK_FOLDER).exists()


# profile --adb shares bench's device path (push, run, clean-up), so its tests share these phones.

@pytest.mark.slow
def test_profile_adb_pulls_the_etdump_and_maps_it(emulated_phones, digits_models, tmp_path, run_cli):
    """profile --adb: our arm64 runner with the event tracer on the (emulated) phone, the ETDump
    pulled and mapped here: the phone's microseconds, labelled as that device's and, since it says
    it is an emulator, as emulated; nothing of ours left on the phone."""
    [phone] = emulated_phones({"cpu": "neoverse-n1", "props": {**DEVICE["props"], "ro.kernel.qemu": "1"}})
    out = tmp_path / "out"
    result = run_cli("profile", str(digits_models["int8"]), "--adb", "--runs", "3", "--json", str(out / "p.json"),
                     "--markdown", str(out / "p.md"), "--plot", str(out / "p.png"), "--etdump", str(out / "p.etdp"))
    assert result.exit_code == 0, result.stderr
    profile = json.loads((out / "p.json").read_text())
    assert profile["device"]["serial"] == phone.serial and profile["device"]["emulator"] is True
    assert profile["cpu"] == "" and profile["tables"]["unit"] == "µs" and profile["runs"] == 3
    operators = profile["tables"]["operators"]
    assert any(row["module"].startswith("features.") and row["precision"] == "int8" for row in operators)
    assert 0.5 < profile["tables"]["operators_median"] / profile["tables"]["inference_median"] <= 1.0
    assert f"on device {phone.serial} (an emulator: emulated times)" in result.stdout.strip().splitlines()[-1]
    assert "these times are emulated" in (out / "p.md").read_text()
    [started] = [line.split() for line in (phone.root / "executed").read_text().splitlines()]
    assert started[:3] == [shutil.which("qemu-aarch64"), "-cpu", "neoverse-n1"] and "--etdump" in started
    assert (out / "p.etdp").stat().st_size > 0
    assert not phone.path(WORK_FOLDER).exists()


def test_profile_adb_failure_is_one_line_and_leaves_nothing(emulated_phones, digits_models, tmp_path, run_cli,
                                                            monkeypatch):
    """A runner that fails on the phone: one line naming the device and the step, no output file
    here, nothing of ours on the phone."""
    monkeypatch.chdir(tmp_path)  # the outputs not named below would be written here
    [phone] = emulated_phones({"fail": {"runner_exit": 134}})
    result = run_cli("profile", str(digits_models["fp32"]), "--adb", "--runs", "1", "--json", str(tmp_path / "p.json"))
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"device {phone.serial}: profiling {digits_models['fp32'].name} failed" in result.stderr
    assert not (tmp_path / "p.json").exists() and not list(tmp_path.glob("profile.*"))
    assert not phone.path(WORK_FOLDER).exists()


def test_our_runner_is_refused_for_a_phone_that_is_not_arm64(emulated_phones, random_build, tmp_path, run_cli):
    [phone] = emulated_phones({"props": {**DEVICE["props"], "ro.product.cpu.abi": "x86_64"}})
    result = run_cli(*bench_args(tmp_path, str(random_build), "--adb", *QUICKER))
    assert result.exit_code == 1
    assert f"device {phone.serial} reports ABI x86_64; mnv3-sdk's runner is built for arm64-v8a" in result.stderr
    assert not phone.path(WORK_FOLDER).exists()


def test_bench_arch_arm64_counts_instructions_per_cpu_model(digits_models, tmp_path, run_cli):
    result = run_cli(*bench_args(tmp_path, str(digits_models["fp32"]), str(digits_models["int8"]), "--arch", "arm64"))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "b.json").read_text())
    assert report["cases"] == [] and report["settings"]["arch"] == "arm64" and report["settings"]["threads"] == 1
    counts = {(count["model"], count["cpu"]): count for count in report["instruction_counts"]}
    assert list(counts) == [("digits-fp32", "cortex-a53"), ("digits-fp32", "neoverse-n1"), ("digits-int8", "cortex-a53"),
                            ("digits-int8", "neoverse-n1")]
    for count in counts.values():
        assert count["repeatable"] and len(set(count["instructions"])) == 1 and len(count["instructions"]) == 2
        assert count["instructions_per_inference"] == count["instructions"][0] > 100_000
    # The dot-product int8 kernels (neoverse-n1) do the same work in fewer instructions; fp32 hardly differs.
    int8_ratio = counts[("digits-int8", "neoverse-n1")]["instructions_per_inference"] / counts[("digits-int8", "cortex-a53")][
        "instructions_per_inference"]
    assert int8_ratio < 0.9
    assert counts[("digits-int8", "neoverse-n1")]["ratio_to_first"] == pytest.approx(
        counts[("digits-int8", "neoverse-n1")]["instructions_per_inference"]
        / counts[("digits-fp32", "neoverse-n1")]["instructions_per_inference"])
    markdown = (tmp_path / "out" / "b.md").read_text()
    assert "## Emulated arm64 instruction counts (qemu-aarch64; not time)" in markdown and " ms |" not in markdown
    assert (tmp_path / "out" / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Deterministic: a baseline one instruction lower on cortex-a53 is a regression even at --max-regression 0,
    # the unchanged neoverse-n1 count is not.
    baseline = json.loads((tmp_path / "out" / "b.json").read_text())
    for count in baseline["instruction_counts"]:
        count["instructions_per_inference"] -= count["cpu"] == "cortex-a53"
    (tmp_path / "old.json").write_text(json.dumps(baseline))
    again = run_cli(*bench_args(tmp_path / "again", str(digits_models["int8"]), "--arch", "arm64", "--baseline",
                                str(tmp_path / "old.json"), "--max-regression", "0"))
    assert again.exit_code == 1
    assert again.stderr.strip().splitlines()[-1] == (
        "mnv3-sdk: error: 1 regression(s) over 0%: digits-int8 · qemu-aarch64 instructions · 1t · qemu-aarch64 -cpu "
        f"cortex-a53: instructions per inference {counts[('digits-int8', 'cortex-a53')]['instructions_per_inference'] - 1:,} → "
        f"{counts[('digits-int8', 'cortex-a53')]['instructions_per_inference']:,} (+0.00%)")


@pytest.mark.parametrize("arguments, message", [
    (["--arch", "arm64", "--adb"], "--arch arm64 counts emulated instructions on this host: it takes no --adb"),
    (["--arch", "arm64", "--eager"], "it takes no --adb, --eager or --mlperf"),
    (["--cpu-models", "cortex-a53"], "--cpu-models only applies with --arch arm64"),
    (["--arch", "arm64", "--cpu-models", "cortex-a53,cortex-a99"], "qemu-aarch64 has no CPU model 'cortex-a99'"),
    (["--arch", "arm64", "--cpu-models", "max"], "name a model such as cortex-a53"),
])
def test_arch_option_errors(random_build, tmp_path, run_cli, arguments, message):
    result = run_cli(*bench_args(tmp_path, str(random_build), *arguments))
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
