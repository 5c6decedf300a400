"""Exit codes and the one wrapper every command runs under, so bad input, failures and interrupts answer alike.

Documented exit codes (README, docs/cli.md): 0 done, 1 failed, 2 bad usage or input, 130 interrupted by
Ctrl-C (SIGINT), 143 terminated (SIGTERM). Commands check their input before work starts and raise
UsageError with one line naming the option or file; main.py runs every command through run_command.
"""

import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Callable

from model.errors import one_line

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class UsageError(Exception):
    """Bad usage or input, found before work starts: printed as one line, exit 2."""


class CommandFailed(Exception):
    """The work was tried and failed (a source that stopped, a run that diverged): one line, exit 1."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that the same clean-up (finalising files) runs for both."""


def safe_text(text) -> str:
    """`text` with control characters (newlines, escape sequences) shown as escapes, for a terminal line."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def output_folder(path: str, option: str = "--out") -> list[Path]:
    """Create folder `path` if missing and check that files can be written in it, before any work starts.

    Returns the folders it created (deepest last), for remove_empty_folders() when the command fails early.
    Raises UsageError (one line naming the option and folder): a file in the way, /proc, no permission.
    """
    if not str(path).strip():
        raise UsageError(f"{option}: a folder is needed")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {safe_text(path)}: is a file, not a folder")
    missing, folder = [], Path(path).absolute()
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        remove_empty_folders(missing[::-1])
        raise UsageError(f"{option} {safe_text(path)}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        remove_empty_folders(missing[::-1])
        raise UsageError(f"{option} {safe_text(path)}: cannot write files in this folder "
                         f"({exc.strerror or exc})") from None
    return missing[::-1]


def remove_empty_folders(created: list[Path]) -> None:
    """Remove the folders a command created (deepest first) while they are empty: a failed start leaves nothing."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def run_command(run: Callable[[], int | None], stream=None) -> int:
    """Run one command's `run()` and turn its outcome into the documented exit code, printing one line.

    While the command runs (imports included, when the caller imports inside `run`), Ctrl-C raises
    KeyboardInterrupt and SIGTERM raises Terminated (a KeyboardInterrupt), so a command that finalises its
    files on Ctrl-C does the same on SIGTERM; both are also remembered, so that one a library swallowed (an
    import that catches ImportError, which is what an interrupted C extension's import raises) still ends the
    command with 130 / 143 instead of 0. A command may install its own handlers meanwhile (app.process,
    the app): they answer for the signals they catch. Exceptions other than these propagate (a bug: the
    traceback is the useful report).
    """
    stream = stream or sys.stderr
    received: list[int] = []

    def stop(signum, frame):
        received.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by the caller (nohup, `cmd &`): stays so
                previous[signum] = signal.signal(signum, stop)
    except ValueError:  # not the main thread (an in-process caller): leave the signals as they are
        pass
    try:
        code = int(run() or EXIT_OK)
        if code == EXIT_OK and received:  # swallowed on the way: the user still asked to stop
            return _stopped(received[-1] == signal.SIGTERM, stream)
        return code
    except UsageError as exc:
        print(f"error: {safe_text(one_line(exc))}", file=stream)
        return EXIT_USAGE
    except CommandFailed as exc:
        print(f"failed: {safe_text(one_line(exc))}", file=stream)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        return _stopped(isinstance(exc, Terminated), stream)
    except ImportError as exc:
        # Ctrl-C while a C extension initialises (onnxruntime, loading the models) surfaces as
        # "ImportError: initialization failed" raised from the interrupt: it is the interrupt.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            return _stopped(isinstance(cause, Terminated), stream)
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stopped(terminated: bool, stream) -> int:
    print("terminated" if terminated else "interrupted", file=stream)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
