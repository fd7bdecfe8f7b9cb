"""Every user mistake: one line on stderr, a non-zero exit, and no output folder."""

import os
import stat

import pytest

from conftest import DATA

CHECKPOINT = str(DATA / "torchvision_small_w025_c5.pth")


def five_labels(tmp_path, count=5):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(f"class {i}" for i in range(count)) + "\n", encoding="utf-8")
    return str(path)


CASES = {
    "unknown variant": lambda t: ["--variant", "tiny"],
    "width too small": lambda t: ["--width", "0.01"],
    "width not a number": lambda t: ["--width", "wide"],
    "missing weights file": lambda t: ["--weights", str(t / "nope.pth")],
    "corrupt weights file": lambda t: ["--weights", str(_write(t / "bad.pth", b"not a checkpoint"))],
    "weights for another width": lambda t: ["--weights", CHECKPOINT, "--width", "1.0"],
    "labels count mismatch": lambda t: ["--weights", CHECKPOINT, "--width", "0.25", "--labels", five_labels(t, 7)],
    "missing labels file": lambda t: ["--labels", str(t / "labels.txt")],
    "input size too small": lambda t: ["--input-size", "8"],
    "input size too large": lambda t: ["--input-size", "5000"],
    "crop fraction zero": lambda t: ["--crop-fraction", "0"],
    "accuracy ratio above one": lambda t: ["--min-accuracy-ratio", "1.5"],
    "missing validation folder": lambda t: ["--val-dir", str(t / "val")],
    "validation folder without classes": lambda t: ["--val-dir", str(_mkdir(t / "val"))],
    "validation class not a label": lambda t: [
        "--weights", CHECKPOINT, "--width", "0.25", "--labels", five_labels(t),
        "--val-dir", str(_image_in(t / "val" / "dog")),
    ],
    "unreadable image in validation folder": lambda t: [
        "--weights", CHECKPOINT, "--width", "0.25", "--labels", five_labels(t),
        "--val-dir", str(_write(t / "val" / "class 0" / "x.jpg", b"garbage").parent.parent),
    ],
    "unwritable output": lambda t: ["--out", str(_write(t / "file", b"x") / "sub" / "out")],
    # Unwritable even for root (CI runs as root, where permission bits do not stop a mkdir).
    "output under /proc": lambda t: ["--out", "/proc/mnv3-sdk-test/out"],
    "output on a read-only file system": lambda t: ["--out", "/sys/mnv3-sdk-test"],
    "calibration flags without int8": lambda t: ["--quant", "fp32", "--calibration-samples", "16"],
    "missing calibration folder": lambda t: ["--quant", "int8", "--calibration-dir", str(t / "cal")],
    "calibration folder without images": lambda t: [
        "--quant", "int8", "--calibration-dir", str(_write(t / "cal" / "notes.txt", b"hi").parent),
    ],
    "unreadable calibration image": lambda t: [
        "--quant", "int8", "--calibration-dir", str(_write(t / "cal" / "a" / "broken.png", b"not png").parent.parent),
    ],
    "calibration samples zero": lambda t: ["--quant", "int8", "--calibration-samples", "0"],
    "unknown layer to exclude": lambda t: ["--quant", "int8", "--quant-exclude", "first,features.99"],
    "unknown option": lambda t: ["--colour", "blue"],
}


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir(parents=True)
    return path


def _image_in(folder):
    from PIL import Image

    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    return folder.parent


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gives_one_line_and_no_output(case, tmp_path, run_cli):
    out = tmp_path / "out" / "model"
    args = CASES[case](tmp_path)
    if "--out" not in args:
        args += ["--out", str(out)]
    if "--weights" not in args:
        args += ["--weights", "random"]
    result = run_cli("build", *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert lines[-1].startswith("mnv3-sdk: error: ")
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("folder_flag", ["--val-dir", "--calibration-dir"])
def test_a_file_that_is_not_an_image_stops_the_build_before_the_export(folder_flag, tmp_path, run_cli, monkeypatch):
    """The export takes a minute: a folder's files are opened (headers only) before it starts."""

    def export_reached(*_args, **_kwargs):
        raise AssertionError("the export started before the folder's images were checked")

    monkeypatch.setattr("mnv3_sdk.pipeline.stages.export_pte", export_reached)
    monkeypatch.setattr("mnv3_sdk.pipeline.stages.quantize_int8", export_reached)
    garbage = _write(tmp_path / "images" / "class 0" / "x.jpg", b"garbage")
    args = ["--weights", CHECKPOINT, "--width", "0.25", "--labels", five_labels(tmp_path),
            folder_flag, str(tmp_path / "images"), "--out", str(tmp_path / "out")]
    if folder_flag == "--calibration-dir":
        args += ["--quant", "int8"]
    result = run_cli("build", *args)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"mnv3-sdk: error: cannot read image {garbage}: ")
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(tmp_path, run_cli):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("build", "--weights", "random", "--out", str(out))
    assert result.exit_code == 1
    assert "--force" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_info_on_a_file_that_is_not_a_model(tmp_path, run_cli):
    path = _write(tmp_path / "model.pte", b"\x00" * 64)
    result = run_cli("info", str(path))
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_published_folder_gets_the_users_umask(random_build):
    """Like any folder the user creates; mkdtemp's 0700 used to survive the final rename."""
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(random_build.stat().st_mode) == 0o777 & ~umask
