"""model.commands: the one wrapper every command runs under, its exit codes and lines, and the output-folder check."""

import os
import signal
import time

import pytest

from model.commands import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE, CommandFailed,
                            Terminated, UsageError, output_folder, run_command, safe_text)


def _raise(error):
    def run():
        raise error
    return run


def _import_interrupted(interrupt):
    """What onnxruntime's import does when Ctrl-C lands in its initialisation (pybind11's raise_from)."""
    def run():
        try:
            raise interrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc
    return run


@pytest.mark.parametrize("run, code, line", [
    (lambda: None, EXIT_OK, None),
    (lambda: 0, EXIT_OK, None),
    (_raise(UsageError("--count 0: must be from 1\nsecond line")), EXIT_USAGE, "error: --count 0: must be from 1"),
    (_raise(CommandFailed("clip.mp4: stopped")), EXIT_FAILED, "failed: clip.mp4: stopped"),
    (_raise(KeyboardInterrupt()), EXIT_INTERRUPTED, "interrupted"),
    (_raise(Terminated()), EXIT_TERMINATED, "terminated"),
    (_import_interrupted(KeyboardInterrupt()), EXIT_INTERRUPTED, "interrupted"),  # issue 26.17
    (_import_interrupted(Terminated()), EXIT_TERMINATED, "terminated"),
])
def test_each_outcome_is_its_documented_code_and_at_most_one_line(capsys, run, code, line):
    assert run_command(run) == code
    err = capsys.readouterr().err
    assert err.splitlines() == ([line] if line else []), err


def test_a_real_sigterm_while_running_is_143(capsys):
    def run():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler raises in here at once
        raise AssertionError("SIGTERM did not stop the command")

    before = signal.getsignal(signal.SIGTERM)
    assert run_command(run) == EXIT_TERMINATED
    assert capsys.readouterr().err == "terminated\n"
    assert signal.getsignal(signal.SIGTERM) == before  # put back afterwards


def test_an_unrelated_import_error_is_a_bug_and_propagates():
    with pytest.raises(ImportError):
        run_command(_raise(ImportError("no module named x")))


def test_names_with_control_characters_print_on_one_line():
    assert safe_text("clip\nname\x1b[31m.mp4") == "clip\\nname\\x1b[31m.mp4"
    assert safe_text("日本.avi") == "日本.avi"


def test_output_folder_creates_checks_and_names_the_option(tmp_path):
    created = output_folder(str(tmp_path / "a" / "b"), "--out-dir")
    assert created == [tmp_path / "a", tmp_path / "a" / "b"] and (tmp_path / "a" / "b").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path, problem in ((blocker, "is a file, not a folder"), (blocker / "sub", "cannot create the folder"),
                          ("/proc/cascade3d", "cannot create the folder"), (" ", "a folder is needed")):
        with pytest.raises(UsageError) as error:
            output_folder(str(path), "--out-dir")
        assert str(error.value).startswith("--out-dir") and problem in str(error.value), error.value
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "file"]


@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),
                                                (signal.SIGTERM, EXIT_TERMINATED, "terminated")])
def test_an_interrupt_a_library_swallowed_still_ends_the_command_with_its_code(capsys, signum, code, line):
    """Ctrl-C landing in an import that catches ImportError (an interrupted C extension's import raises one) was
    lost: the run went on and exited 0 (issue 26.17, one try in five)."""
    def run():
        try:
            os.kill(os.getpid(), signum)
            time.sleep(30)  # the handler raises in here at once
        except KeyboardInterrupt:
            pass  # what `try: import x; except ImportError: x = None` amounts to, after the interrupt
        return 0

    # As a terminal runs it: a suite started in the background (`nohup pytest &`) inherits an ignored SIGINT,
    # which run_command rightly leaves ignored (the next test).
    outer = signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    try:
        before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
        assert run_command(run) == code
        assert capsys.readouterr().err == f"{line}\n"
        assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before
    finally:
        signal.signal(signum, outer)


def test_a_signal_the_caller_ignores_stays_ignored(capsys):
    """`nohup main.py process ... &` ignores SIGINT: run_command must not take it over (the run goes on)."""
    def run():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
        return 0

    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert run_command(run) == 0
        assert capsys.readouterr().err == ""
    finally:
        signal.signal(signal.SIGINT, outer)
