"""The command line (app.main): the help, --version, a mistyped command, and one name for the output folder."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.main import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_every_command_and_no_module(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (module, _) in COMMANDS.items():
        assert f"  {name} " in out
        assert module not in out  # internal module names are not the user's business


def test_version_is_the_package_version():
    result = subprocess.run([sys.executable, "main.py", "--version"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"cascade3d {__version__}"


@pytest.mark.parametrize("word, line", [
    ("proces", "unknown command 'proces'; did you mean 'process'?"),
    ("stram", "unknown command 'stram'; did you mean 'stream'?"),
    ("xyzzy", "unknown command 'xyzzy'; commands: " + ", ".join(COMMANDS)),
])
def test_a_mistyped_command_is_one_line_and_exit_2(word, line, capsys):
    assert main([word, "clip.mp4"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [line] and captured.out == ""


def parser_of(command: str) -> argparse.ArgumentParser:
    module = __import__(COMMANDS[command][0], fromlist=["add_arguments"])
    parser = argparse.ArgumentParser(prog=command)
    module.add_arguments(parser)
    return parser


@pytest.mark.parametrize("command, argv, dest", [
    ("gui", [], "out"),
    ("process", ["clip.mp4"], "out"),
    ("train", [], "out_dir"),
    ("export", ["model.pt"], "out"),
    ("distill", [], "out"),
    ("synth", ["--count", "1"], "out"),
])
def test_every_command_names_its_output_folder_out(command, argv, dest):
    parser = parser_of(command)
    assert "--out" in parser.format_help()
    for hidden in ("--out-dir", "--recordings", "--output"):
        assert hidden not in parser.format_help()
    assert getattr(parser.parse_args([*argv, "--out", "somewhere"]), dest) == "somewhere"


@pytest.mark.parametrize("command, old, dest, default", [
    ("gui", "--recordings", "out", "recordings"),
    ("train", "--out-dir", "out_dir", None),
])
def test_old_output_folder_names_still_work_unlisted(command, old, dest, default):
    parser = parser_of(command)
    assert getattr(parser.parse_args([old, "elsewhere"]), dest) == "elsewhere"
    assert getattr(parser.parse_args([]), dest) == default


def test_export_has_no_onnx_switch_that_does_nothing():
    with pytest.raises(SystemExit) as stop:
        parser_of("export").parse_args(["model.pt", "--onnx"])
    assert stop.value.code == 2
