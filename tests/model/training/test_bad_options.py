"""`main.py train` and `main.py eval` refuse bad input in one line with exit 2, before any data, network or epoch
(issue 26.6-26.11): every case below was a traceback, or a crash after a whole epoch, before."""

import os

import pytest

import main

# A checkpoint that does not exist: each option below is refused before the checkpoint would be read.
MISSING = "no-such-checkpoint.pt"


def _one_line(capsys, argv) -> str:
    code = main.main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


@pytest.mark.parametrize("option, value", [("--batch-size", "0"), ("--limit", "-3"), ("--workers", "-1")])
def test_eval_numbers_are_checked_first(capsys, option, value):
    line = _one_line(capsys, ["eval", MISSING, "synthetic", option, value])
    assert option in line and value in line


@pytest.mark.parametrize("command", [["eval", MISSING, "synthetic"], ["train"]])
def test_a_device_torch_does_not_know_is_one_line(capsys, command):
    line = _one_line(capsys, command + ["--device", "tpu"])
    assert "'tpu'" in line and "cpu, cuda" in line


def test_a_config_of_random_bytes_is_one_line(tmp_path, capsys):
    config = tmp_path / "random.yaml"
    config.write_bytes(bytes(range(256)) * 4)  # was UnicodeDecodeError
    line = _one_line(capsys, ["train", str(config), "--print-config"])
    assert str(config) in line and "UTF-8" in line


@pytest.mark.parametrize("argv", [["--set", "lr=nan"], ["--set", "lr=-1"], ["--set", "stage2_lr=inf"],
                                  ["--set", "lr_decay_factor=nan"], ["--set", "weight_decay=-0.1"]])
def test_a_learning_rate_that_cannot_train_is_refused_before_printing_the_config(capsys, argv):
    line = _one_line(capsys, ["train", "--print-config"] + argv)
    assert argv[1].split("=")[0] in line


def test_a_nan_learning_rate_in_a_yaml_file_is_refused(tmp_path, capsys):
    config = tmp_path / "nan.yaml"
    config.write_text("lr: .nan\n")  # passed --print-config before
    line = _one_line(capsys, ["train", str(config), "--print-config"])
    assert str(config) in line and "lr" in line


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_an_out_dir_that_cannot_hold_checkpoints_is_refused_before_the_first_epoch(tmp_path, capsys, where):
    """Was a whole epoch, then a traceback that lost it."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = blocker if where == "file" else blocker / "run"
    settings = ["model=tiny", "datasets_3d=synthetic", "datasets_2d=synthetic", "synthetic_size=8", "batch_size=4",
                "epochs=1", "max_steps_per_epoch=1", "num_workers=0", "cpu_threads=1"]
    line = _one_line(capsys, ["train", "--out", str(out), "--device", "cpu"]
                     + [a for s in settings for a in ("--set", s)])
    assert "--out" in line and str(out) in line
    assert sorted(os.listdir(tmp_path)) == ["blocker"]
