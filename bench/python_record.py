#!/usr/bin/env python3
"""bench/python_record.py: what recording costs from Python, in one interpreter and one run.

ns per call of, in rounds that each run every kind once (medians of the rounds; a ratio is
the median of the per-round ratios):
  - time.perf_counter_ns()                      the floor: a bare clock call
  - agentperf Agent.record(name, value)          into a ring a collector drains meanwhile
  - with agent.timer(name): pass                 two clock reads and a record
  - prometheus_client Histogram.observe(value)   Debian's python3-prometheus-client
  - with histogram.time(): pass
  - the original's record: a dict appended to a list under a threading.Lock
Every figure includes the loop that calls it (the same loop for all), so the ratios compare
what a user's line of code costs. Targets: record <= 2x perf_counter_ns and <= 0.2x
observe; the timer <= 0.25x Histogram.time().

Run from a build tree (the collector is private to the run: its own deployment, socket
folder and working folder under $TMPDIR, started by the module and stopped at exit):
    PYTHONPATH=build/python /usr/bin/python3 bench/python_record.py
"""

import itertools
import os
import statistics
import sys
import tempfile
import threading
import time

# The private collector's files (.codexplus/performance/, the CI export) go to a folder of the run.
FOLDER = tempfile.mkdtemp(prefix="agentperf-bench.")
os.chdir(FOLDER)
os.environ.setdefault("AGENTPERF_SOCKET_DIR", os.path.join(FOLDER, "sock"))
os.environ["AGENTPERF_NAME"] = "bench-python-%d" % os.getpid()

import agentperf  # noqa: E402
import prometheus_client  # noqa: E402

CALLS = 8000  # per trial: fewer than a ring holds (8192), so that no sample is dropped
ROUNDS = 15
METRIC = "coordination_overhead"


def main():
    agent = agentperf.Agent("bench-%d" % os.getpid(), "bench-python", strict=True)
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram("bench_seconds", "bench", registry=registry)
    seed_metrics = []
    seed_lock = threading.Lock()
    perf_counter_ns = time.perf_counter_ns
    record = agent.record
    timer = agent.timer
    observe = histogram.observe
    histogram_time = histogram.time

    def loop_perf_counter(n):
        for _ in itertools.repeat(None, n):
            perf_counter_ns()

    def loop_record(n):
        for _ in itertools.repeat(None, n):
            record(METRIC, 12345)

    def loop_timer(n):
        for _ in itertools.repeat(None, n):
            with timer(METRIC):
                pass

    def loop_observe(n):
        for _ in itertools.repeat(None, n):
            observe(0.0123)

    def loop_histogram_time(n):
        for _ in itertools.repeat(None, n):
            with histogram_time():
                pass

    def loop_seed(n):
        append = seed_metrics.append
        for _ in itertools.repeat(None, n):
            with seed_lock:
                append({"metric_type": METRIC, "value": 12.345, "unit": "ms", "agent_id": "a",
                        "task_id": "t", "timestamp": 0.0, "context": {}})
        seed_metrics.clear()

    kinds = [
        ("time.perf_counter_ns()", loop_perf_counter),
        ("Agent.record(name, value)", loop_record),
        ("with agent.timer(name)", loop_timer),
        ("prometheus Histogram.observe", loop_observe),
        ("with Histogram.time()", loop_histogram_time),
        ("seed: dict appended under a Lock", loop_seed),
    ]
    per_round = {name: [] for name, _ in kinds}
    def drained():
        """Waits until the collector has taken every sample: each trial records into free room."""
        deadline = time.monotonic() + 5
        while agentperf.status()["pending"] and time.monotonic() < deadline:
            time.sleep(0.002)

    for _ in range(ROUNDS):
        for name, loop in kinds:
            drained()
            begin = perf_counter_ns()
            loop(CALLS)
            per_round[name].append((perf_counter_ns() - begin) / CALLS)

    def median(name):
        return statistics.median(per_round[name])

    def ratio(name, floor):
        return statistics.median(a / b for a, b in zip(per_round[name], per_round[floor]))

    print("bench/python_record.py: Python %s, %d rounds of %d calls; medians (ratios: medians of the "
          "per-round ratios)" % (sys.version.split()[0], ROUNDS, CALLS))
    for name, _ in kinds:
        print("  %-34s %8.1f ns" % (name, median(name)))
    targets = [
        ("Agent.record(name, value)", "time.perf_counter_ns()", 2.0),
        ("Agent.record(name, value)", "prometheus Histogram.observe", 0.2),
        ("with agent.timer(name)", "with Histogram.time()", 0.25),
    ]
    met = True
    for name, floor, target in targets:
        value = ratio(name, floor)
        met &= value <= target
        print("  %-26s / %-30s %5.2fx (target <= %.2f): %s" % (name, floor, value, target,
                                                                "met" if value <= target else "MISSED"))
    print("  seed-style record / Agent.record: %.1fx" % ratio("seed: dict appended under a Lock",
                                                               "Agent.record(name, value)"))
    dropped = agent.dropped
    print("  samples recorded %d, dropped %d" % (agent.recorded, dropped))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
