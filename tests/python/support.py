"""Helpers the tests share, without side effects (conftest.py sets the environment up)."""

import time

import agentperf


def wait_for(condition, timeout=10.0, what="the condition"):
    """Polls condition() until it returns a true value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.01)


def series(**selection):
    """The collector's one series the selection matches, or None."""
    try:
        found = agentperf.statistics(**selection)["series"]
    except agentperf.CollectorError:
        return None
    assert len(found) <= 1, found
    return found[0] if found else None


def series_count(**selection):
    """The collector's sample count of the one series the selection matches (0 without one)."""
    found = series(**selection)
    return found["count"] if found else 0


def wait_count(expected, **selection):
    """Waits until the series holds at least expected samples; returns its count (== expected
    is the caller's check: more would be samples that should not be there)."""
    wait_for(lambda: series_count(**selection) >= expected, what="%d samples of %s" % (expected, selection))
    return series_count(**selection)
