"""`main.py synth` refuses bad input in one line, exit 2, before any work and without leaving an empty --out
(issue 26.5, 26.6 and the doubtful 'synth without anny')."""

import sys

import pytest

import main


def _one_line(capsys, argv) -> str:
    code = main.main(["synth", *argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


@pytest.mark.parametrize("argv, option", [
    (["--count", "1000000000000"], "--count"),  # built a list of 5e9 shard numbers (8.7 GB) before any check
    (["--count", "10000000", "--shard-size", "1"], "--shard-size"),  # 1e7 shards of one sample
    (["--count", "0"], "--count"),
    (["--count", "10", "--size", "100000"], "--size"),
    (["--count", "10", "--seed", "-1"], "--seed"),
    (["--count", "10", "--card-every", "0"], "--card-every"),
])
def test_numbers_are_bounded_before_any_work(tmp_path, capsys, argv, option):
    out = tmp_path / "set"
    line = _one_line(capsys, ["--out", str(out)] + argv)
    assert option in line and not out.exists()


@pytest.mark.parametrize("where", ["file", "under-file", "proc"])
def test_an_out_that_cannot_be_a_folder_is_one_line(tmp_path, capsys, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = {"file": blocker, "under-file": blocker / "set", "proc": "/proc/cascade3d-synth"}[where]
    line = _one_line(capsys, ["--out", str(out), "--count", "10"])
    assert line.startswith("error: --out") and str(out) in line


def test_without_the_body_model_it_is_exit_2_and_leaves_no_empty_out(tmp_path, capsys, monkeypatch):
    """Was exit 1 and an empty --out. The body model's import is made to fail as it does without anny."""
    monkeypatch.setitem(sys.modules, "model.data.synth.body", None)  # `import` of it raises ImportError
    out = tmp_path / "new" / "set"
    line = _one_line(capsys, ["--out", str(out), "--count", "10", "--footage-poses", ""])
    assert "requirements-synth.txt" in line
    assert not (tmp_path / "new").exists()
