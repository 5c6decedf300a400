"""Fuzzing the options of every sub-command through the real command line (app.main.main): any values either
pass the command's checks, up to where its work would start (stopped there: the model load, the training loop,
the shard writer...), or end with exit 2 and one line on stderr; never a traceback, another exit code or a hang.

The options come from each command's own parser, so an option added later is fuzzed too. Values: numbers of
every kind as typed (nan, 1e309, -0, 0x10, ...), each option's choices and random text, and for paths a few
names that break (a file, a folder under a file, /proc, an empty name). Runs in a scratch folder: relative
folders a command creates land there. Options that reach the network are fixed (--vmc, stream --source) or left
out (--ray: app/cluster.py, tests/app/test_process_inputs.py); inputs and checkpoints are fixed small files.
"""

import argparse
import contextlib
import dataclasses
import importlib
import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.main import COMMANDS, main
from model.training.train_config import TrainConfig
from tests.app.bad_videos import write_video
from tests.fuzz.harness import time_limit


class Accepted(Exception):
    """The command got past its checks: its work would start here."""


def _accept(*args, **kwargs):
    raise Accepted


# Where each command's work starts (module, attribute): replaced by _accept.
WORK = {
    "gui": [("app.ui.cli", "_use_offscreen_if_no_display")],
    "process": [("app.process", "FrameProcessor")],
    "stream": [("app.stream.cli", "FrameProcessor")],
    "train": [("model.training.train", "Trainer")],
    "eval": [("model.training.evaluate", "read_checkpoint")],
    "export": [("model.net.checkpoint", "load_checkpoint")],
    "distill": [("model.data.distill", name) for name in ("stage_teacher", "stage_labels", "stage_crops",
                                                           "stage_mocap")],
    "synth": [("model.data.synth.generate", "complete_shards")],
}
LEFT_OUT = {"--ray", "--vmc", "--source", "-h"}  # network, or fixed below
PATH_DESTS = {"out", "out_dir", "screenshot", "calibration", "root", "resume", "config", "footage_poses"}
TRAIN_KEYS = sorted({f.name for f in dataclasses.fields(TrainConfig)} - {"out_dir", "data_root"})


def _numbers():
    return st.one_of(
        st.integers(-10**6, 10**6).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["0", "-0", "nan", "-inf", "1e309", "1e-05", "2147483647", "1000000000000", "", " ", "ten",
                         "1,5", "0x10", "1_000", "9" * 30, "-1", "1.5", "32", "100000"]),
        st.text(max_size=6),
    )


def _paths():
    return st.sampled_from(["out", "a/b", "", " ", "FILE", "FILE/under", "/proc/cascade3d-fuzz", "x\ny", "日本",
                            "-", "missing.yaml", "BYTES.yaml"])


def _words(known):
    return st.one_of(st.sampled_from(sorted(known)), st.text(max_size=12),
                     st.lists(st.sampled_from(sorted(known) + ["", "x"]), min_size=1, max_size=3).map(",".join))


def _set_values():
    key = st.one_of(st.sampled_from(TRAIN_KEYS), st.sampled_from(["model.input_size", "model.backbone",
                                                                   "augment.flip", "nope"]), st.text(max_size=8))
    return st.tuples(key, st.one_of(_numbers(), st.text(max_size=10))).map("=".join)


KNOWN_WORDS = {"engine": {"auto", "onnxruntime", "torch", "tensorrt"}, "detector": {"default", "mediapipe",
               "ssdlite", "none"}, "format": {"json", "bvh", "csv"}, "device": {"cpu", "cuda", "auto", "tpu", "cuda:1"},
               "camera_size": {"640x480", "0x0", "x"}, "name": {"Ours"}, "only": {"cam01"}}


def _value(action: argparse.Action):
    if action.dest == "overrides":
        return _set_values()
    if action.dest in PATH_DESTS:
        return _paths()
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), st.text(max_size=8))
    if action.type in (int, float):
        return _numbers()
    return _words(KNOWN_WORDS.get(action.dest, {"x"}))


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    return parser


def fuzzed_options(command: str) -> list[argparse.Action]:
    return [a for a in _parser(command)._actions if a.option_strings and not set(a.option_strings) & LEFT_OUT]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A scratch folder holding a 2-frame video, a file in the way and a config of random bytes."""
    folder = tmp_path_factory.mktemp("commands")
    write_video(folder / "clip.mp4", 2)
    (folder / "FILE").write_text("a file, not a folder")
    (folder / "BYTES.yaml").write_bytes(bytes(range(256)))
    return folder


def _fixed(command: str) -> list[str]:
    """The positional arguments and the options that would reach the network: fixed, local values."""
    return {"gui": ["--source", "clip.mp4"], "process": ["clip.mp4", "--out", "out"],
            "stream": ["--vmc", "127.0.0.1:39539", "--source", "clip.mp4"], "eval": ["missing.pt", "synthetic"],
            "export": ["missing.pt"], "synth": ["--out", "set", "--count", "10"]}.get(command, [])


@st.composite
def command_lines(draw, command: str):
    argv = [command] + _fixed(command)
    for action in draw(st.lists(st.sampled_from(fuzzed_options(command)), unique=True, max_size=4)):
        name = action.option_strings[-1]
        argv += [name] if action.nargs == 0 else [f"{name}={draw(_value(action))}"]
    return argv


@pytest.mark.parametrize("command", sorted(COMMANDS))
@given(data=st.data())
def test_any_options_pass_the_checks_or_are_one_line_and_exit_2(scratch, examples, command, data):
    argv = data.draw(command_lines(command))
    examples()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        for module, attribute in WORK[command]:
            patch.setattr(importlib.import_module(module), attribute, _accept)
        patch.chdir(scratch)
        stack.enter_context(time_limit())
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(argv)
        except Accepted:
            return
    lines = [line for line in err.getvalue().splitlines() if line.strip() and not line.startswith("note:")]
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue())
    assert code in (0, 2), (argv, code, err.getvalue())
    if code == 2:
        assert len(lines) == 1, (argv, lines)
    else:
        assert "--print-config" in argv or "-h" in argv, (argv, out.getvalue())


def test_every_option_of_every_command_is_fuzzed():
    """The counts for the report, and a guard: a command whose options all fell out would fuzz nothing."""
    counts = {command: len(fuzzed_options(command)) for command in COMMANDS}
    print("options fuzzed per command:", counts, "in all", sum(counts.values()))
    assert all(counts.values()), counts
