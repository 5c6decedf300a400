"""Fuzzing `main.py process` options: any values are refused in one line (exit 2) before a model is loaded, or
accepted as valid settings; a couple of random valid settings are also run end to end on the bundled clip.
"""

import argparse
import contextlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app.process
from app.detection import DETECTORS
from app.engines import ENGINE_ORDER
from app.formats.recording import FORMATS
from app.process import ProcessOptions, UsageError, check_options
from app.sources import DEFAULT_SAMPLE
from main import main
from tests.fuzz.harness import time_limit

ENGINES = {name for name, _, _ in ENGINE_ORDER} | {runtime for _, runtime, _ in ENGINE_ORDER}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py process")
    app.process.add_arguments(parser)
    return parser


def _number_text():
    """Option values as a user might type them: numbers of any kind, words, empty, signs, exponents."""
    return st.one_of(
        st.integers(-10**6, 10**6).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["0", "-0", "nan", "NaN", "inf", "-inf", "1e309", "5", "170", "4.999", "170.0001", "",
                         " ", "ten", "1,5", "0x10", "1_000", "9" * 30, "-1", "1.5"]),
        st.text(max_size=6),
    )


def _words(known):
    return st.one_of(st.sampled_from(sorted(known)), st.text(max_size=12),
                     st.lists(st.sampled_from(sorted(known) + ["", "x", " "]), min_size=1, max_size=3)
                     .map("+".join), st.lists(st.sampled_from(sorted(known) + [""]), max_size=3).map(",".join))


@st.composite
def option_lists(draw, out: str):
    argv = [DEFAULT_SAMPLE, "--out", out]
    options = {
        "--fov": _number_text(), "--max-frames": _number_text(), "--detect-every": _number_text(),
        "--format": _words(FORMATS), "--detector": _words(set(DETECTORS) | {"default"}),
        "--engine": _words(ENGINES), "--device": _words({"cpu", "cuda", "auto"}),
        "--backend": _words({"cascade", "mediapipe"}),
    }
    for name in draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=5)):
        argv += [f"{name}={draw(options[name])}"]
    if draw(st.booleans()):
        argv.append("--no-smoothing")
    return argv


@contextlib.contextmanager
def no_model_loading():
    """Building a model inside the block fails the test: options are checked before any model is loaded."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded while checking options")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.process, "FrameProcessor", refuse)
        yield


def assert_valid(options: ProcessOptions) -> None:
    config = options.config
    assert math.isfinite(config.horizontal_fov_deg) and 5.0 <= config.horizontal_fov_deg <= 170.0
    assert options.max_frames is None or options.max_frames >= 1
    assert config.detect_every >= 0
    assert options.formats and set(options.formats) <= set(FORMATS)
    assert config.device in ("cpu", "cuda", "auto") and config.backend in ("cascade", "mediapipe")
    assert config.engine is None or config.engine in ENGINES
    assert all(part in set(DETECTORS) | {"default"} for part in config.detector.split("+"))


@settings(max_examples=300)  # no model, no file: milliseconds each
@given(data=st.data())
def test_any_option_values_are_refused_in_one_line_or_valid(tmp_path_factory, examples, data):
    out = tmp_path_factory.mktemp("options") / "out"
    argv = data.draw(option_lists(str(out)))
    examples()
    stderr = io.StringIO()
    with time_limit(), contextlib.redirect_stderr(stderr), no_model_loading():
        try:
            args = _parser().parse_args(argv)
        except SystemExit as stop:  # argparse: a value of the wrong type or not among the choices
            assert stop.code == 2
            assert stderr.getvalue().strip().splitlines()[-1].startswith("main.py process: error: argument")
            return
        try:
            options = check_options(args)
        except UsageError as error:
            message = str(error)
            assert message.startswith("--") and "\n" not in message, message
            return
    assert_valid(options)
    assert not out.exists()  # checking options touches no file


@pytest.mark.parametrize("fov", ["0", "nan", "200", "inf", "-10", "4.9", "170.1"])
def test_bad_fov_is_refused_before_any_model(tmp_path, capsys, fov):
    out = tmp_path / "out"
    with no_model_loading():
        assert main(["process", DEFAULT_SAMPLE, "--out", str(out), f"--fov={fov}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fov" in err[0] and "5" in err[0] and "170" in err[0], err
    assert not out.exists()


@settings(max_examples=2, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(fov=st.floats(5.0, 170.0), max_frames=st.integers(1, 2), detect_every=st.integers(0, 3),
       formats=st.lists(st.sampled_from(FORMATS), min_size=1, unique=True), smoothing=st.booleans())
def test_random_valid_options_run_end_to_end(tmp_path_factory, examples, fov, max_frames, detect_every, formats,
                                             smoothing):
    out = tmp_path_factory.mktemp("run")
    argv = ["process", DEFAULT_SAMPLE, "--out", str(out), f"--fov={fov!r}", f"--max-frames={max_frames}",
            f"--detect-every={detect_every}", "--format", ",".join(formats)] + ([] if smoothing else ["--no-smoothing"])
    examples()
    with time_limit(300):
        assert main(argv) == 0
    names = {p.name for p in out.iterdir()}
    assert ("sample_two_people.json" in names) == ("json" in formats)
    assert ("sample_two_people.csv" in names) == ("csv" in formats)
    assert any(n.endswith(".bvh") for n in names) == ("bvh" in formats)
    if "json" in formats:
        data = json.loads((out / "sample_two_people.json").read_text())
        assert len(data["frames"]) == max_frames
        assert data["backend"]["horizontal_fov_deg"] == fov and data["backend"]["smoothing"] == smoothing
