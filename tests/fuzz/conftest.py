"""Fuzzing harness: Hypothesis profiles, a hang guard, and a per-test count of the examples tried.

Profiles (HYPOTHESIS_PROFILE=...): "ci" (the default: derandomized, so CI runs the same examples every
time, sized to keep tests/fuzz under two minutes on a 2-core machine), "deep" (10x the examples, random,
for a local hunt). Every example runs under time_limit(): a parser that loops forever fails the test
instead of hanging the suite.
"""

import os
import time

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import ExampleCounter

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=600, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_COUNTER_KEY = pytest.StashKey[ExampleCounter]()


def pytest_configure(config):
    config.stash[_COUNTER_KEY] = ExampleCounter()


@pytest.fixture(scope="session")
def examples(request) -> ExampleCounter:
    """Call examples() once per example tried (counted for the test running now)."""
    return request.config.stash[_COUNTER_KEY]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start, cpu = time.perf_counter(), time.process_time()
    yield
    item.config.stash[_COUNTER_KEY].seconds[item.name] = time.perf_counter() - start
    item.config.stash[_COUNTER_KEY].cpu_seconds[item.name] = time.process_time() - cpu


def pytest_terminal_summary(terminalreporter, config):
    counter = config.stash.get(_COUNTER_KEY, None)
    if not counter or not counter.counts:
        return
    terminalreporter.section(f"fuzz examples (profile {settings().max_examples} max, "
                             f"{os.environ.get('HYPOTHESIS_PROFILE', 'ci')})")
    terminalreporter.write_line("examples  wall s  cpu s  test")
    for test in sorted(counter.counts):
        terminalreporter.write_line(f"{counter.counts[test]:8d}  {counter.seconds.get(test, 0.0):6.1f}  "
                                    f"{counter.cpu_seconds.get(test, 0.0):5.1f}  {test}")
    terminalreporter.write_line(f"{sum(counter.counts.values()):8d}  {sum(counter.seconds.values()):6.1f}  "
                                f"{sum(counter.cpu_seconds.values()):5.1f}  in all")
