"""Helpers for the fuzz tests: a hang guard and a counter of the examples tried."""

import collections
import contextlib
import os
import signal

EXAMPLE_LIMIT_S = 10.0  # one example (one file read, one option check) takes milliseconds; this is a hang


class Hang(Exception):
    """An example ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float = EXAMPLE_LIMIT_S):
    """Raise Hang in the main thread if the block runs longer than `seconds` (SIGALRM; POSIX only)."""
    def expire(signum, frame):
        raise Hang(f"example ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ExampleCounter:
    """Examples tried per test and the time each test took, printed at the end of the run."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()
        self.seconds: dict[str, float] = {}  # wall time
        self.cpu_seconds: dict[str, float] = {}  # this process's CPU time: steadier on a shared machine

    def __call__(self, n: int = 1) -> None:
        """Count n examples for the test running now."""
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
        self.counts[test] += n
