"""The original's ten validation scenarios, in Python, through codex_plus and agentperf.

Each function is one scenario; test_seed_scenarios.py runs each in a fresh interpreter
against a fresh agentperfd of its own deployment (AGENTPERF_NAME), as
tests/e2e/test_task_seed.c does in C, so that every count read back from the collector is
exact: nothing of one scenario leaks into the next.
"""

import errno
import json
import math
import os
import time

import agentperf
from codex_plus import Task, establish_performance_baseline, export_performance_metrics, list_available_agents
from codex_plus.performance_monitor import get_performance_monitor
from support import series, series_count, wait_count, wait_for

MS = 1e6  # nanoseconds
SEED_AGENTS = ["code-reviewer", "test-runner", "doc-writer", "debugger", "refactor-agent"]
PROMPTS = {
    "code-reviewer": "Review this function\nint f(void); // TODO",
    "test-runner": "run the check:\n$ echo 'check passed'",
    "doc-writer": "The parser takes tokens. It builds a tree.\n\nThe printer walks it.",
    "debugger": "main.c:42:7: error: expected ';'",
    "refactor-agent": "int x;   \n\n\n\tint y;\n",
}


def run_tasks(count, types):
    for i in range(count):
        kind = types[i % len(types)]
        result = Task(kind, PROMPTS[kind], "seed scenario")
        assert result["success"], (kind, result["error"])


def aggregated():
    return agentperf.status()["aggregated"]


def start_workers_first():
    """Starts the Task API with every worker forked and waits until the collector sees all ten
    live, so that the tasks that follow measure their trips, not a worker's start (a first task
    waits for its agent's workers: hundreds of ms under a sanitizer on a loaded machine)."""
    agentperf.configure(eager_workers=True)
    list_available_agents()

    def live():
        return sum(a["state"] == "live" and a["type"] in SEED_AGENTS for a in agentperf.agents()["agents"]) == 10

    wait_for(live, what="ten live workers")


def agents_available():
    """1. The five seed agents are there; started eagerly, their ten workers are live agents."""
    agentperf.configure(eager_workers=True)
    assert [agent["id"] for agent in list_available_agents()] == SEED_AGENTS

    def live_workers():
        counts = {kind: 0 for kind in SEED_AGENTS}
        for agent in agentperf.agents()["agents"]:
            if agent["type"] in counts and agent["state"] == "live":
                counts[agent["type"]] += 1
        return counts if all(n == 2 for n in counts.values()) else None

    wait_for(live_workers, what="two live workers of each seed agent")
    for kind in SEED_AGENTS:
        assert wait_count(2, metric="agent_initialization", agent_type=kind) == 2
        found = series(metric="agent_initialization", agent_type=kind)
        assert 0 < found["min"] and found["max"] < 5000 * MS


def single_task_structured_result():
    """2. One task gives the seed's structured result, and the collector has its trip."""
    result = Task("code-reviewer", "Review this function", "Performance test")
    assert result["success"] and "lines: 1" in result["output"] and result["error"] == ""
    meta = result["metadata"]
    assert meta["agent_id"] == "code-reviewer" and meta["status"] == "completed"
    assert set(meta) >= {"agent_id", "task_id", "status", "execution_time"}
    overhead = series(metric="coordination_overhead", agent_type="task-api")
    assert overhead["count"] == 1
    assert abs(overhead["mean"] - meta["coordination_overhead"] * 1e9) <= 1.0  # the exact mean
    assert series_count(metric="task_execution_time", agent_type="code-reviewer") == 1
    assert series_count(metric="result_processing", agent_type="task-api") == 1
    assert wait_count(1, metric="memory_usage", agent_type="code-reviewer") == 1


def twenty_tasks_three_types():
    """3. 20 parallel tasks over three types: average under 200 ms, maximum under 250 ms,
    and every metric of every trip counted."""
    types = ["code-reviewer", "doc-writer", "debugger"]
    handles = [agentperf.submit(types[i % 3], PROMPTS[types[i % 3]], "batch") for i in range(20)]
    results = agentperf.wait_all(handles)
    for i, result in enumerate(results):
        assert result["success"], (i, result["error"])
        assert result["metadata"]["agent_id"] == types[i % 3]
    total_ns = sum(r["metadata"]["coordination_overhead"] * 1e9 for r in results)
    agentperf.task_shutdown()  # the workers close their agents: all they recorded is there
    overhead = series(metric="coordination_overhead", agent_type="task-api")
    assert overhead["count"] == 20
    assert overhead["mean"] < 200 * MS and overhead["max"] < 250 * MS
    assert abs(overhead["mean"] - total_ns / 20) <= 1.0
    assert series_count(metric="result_processing", agent_type="task-api") == 20
    assert series_count(metric="parallel_coordination", agent_type="task-api") == 1
    assert sum(series_count(metric="task_execution_time", agent_type=k) for k in types) == 20
    for kind in types:
        assert series_count(metric="agent_initialization", agent_type=kind) == 2
        assert series(metric="memory_usage", agent_type=kind)["min"] > 100 * 1024
    try:
        agentperf.statistics(agent_type="test-runner")
        raise AssertionError("a type without tasks is known to the collector")
    except agentperf.CollectorError as error:
        assert error.code == errno.ENOENT and "no agent type 'test-runner'" in error.message


def baseline_from_fifteen_tasks():
    """4. A baseline needs min_samples: 5 tasks are refused, 15 establish it."""
    types = ["code-reviewer", "refactor-agent"]
    run_tasks(5, types)
    refused = establish_performance_baseline(min_samples=10)
    assert refused["success"] is False and refused["error"]
    run_tasks(10, types)
    result = establish_performance_baseline(min_samples=10)
    assert result["success"], result
    baseline = result["baseline"]
    assert baseline["samples_count"] == 15
    assert 0 < baseline["coordination_overhead_ms"] < 200
    assert baseline["task_execution_ms"] > 0 and baseline["memory_usage_mb"] > 0
    assert isinstance(baseline["established_at"], str)
    assert result["meets_200ms_requirement"] is True
    with open(os.path.join(".codexplus", "performance", "baseline.json")) as saved:
        assert json.load(saved)["coordination_overhead_ms"] == baseline["coordination_overhead_ms"]
    assert agentperf.baseline_show()["coordination_overhead_ms"] == baseline["coordination_overhead_ms"]


def validation_after_ten_tasks():
    """5. After 10 tasks: refused without a baseline, validated with one."""
    monitor = get_performance_monitor()
    start_workers_first()
    run_tasks(10, SEED_AGENTS)
    validation = monitor.validate_performance_requirements()
    assert validation["validated"] is False and validation["error"] == "No baseline established"
    assert monitor.establish_baseline(min_samples=10) is not None
    validation = monitor.validate_performance_requirements()
    assert validation["validated"] is True, validation
    assert validation["samples_analyzed"] == 10
    assert validation["avg_coordination_overhead_ms"] < 200
    assert validation["p95_coordination_overhead_ms"] < 250
    assert validation["meets_sub_200ms_requirement"] and validation["meets_consistency_requirement"]
    assert isinstance(validation["recommendations"], list)
    assert isinstance(validation["baseline_established_at"], str)
    assert isinstance(validation["validation_timestamp"], str)


def result_metadata_fields():
    """6. The metadata of a completed and a failed task; the report counts them."""
    done = Task("debugger", "src/b.c:17:3: error: x undeclared", "trace")
    failed = Task("debugger", "nothing to see", "trace")
    meta = done["metadata"]
    assert done["success"] and meta["agent_id"] == "debugger" and meta["task_id"] != 0
    assert meta["status"] == "completed" and meta["execution_time"] > 0
    assert meta["execution_time"] == (meta["end_ns"] - meta["begin_ns"]) / 1e9
    assert meta["worker_pid"] > 0 and meta["worker_pid"] != os.getpid()
    assert meta["output_truncated"] is False
    bad = failed["metadata"]
    assert failed["success"] is False and bad["agent_id"] == "debugger"
    assert bad["task_id"] not in (0, meta["task_id"]) and bad["status"] == "failed"
    assert "no file:line" in failed["error"] and bad["execution_time"] > 0
    execution = series(metric="task_execution_time", agent_type="debugger")
    assert execution["count"] == 2
    spans = (meta["end_ns"] - meta["begin_ns"]) + (bad["end_ns"] - bad["begin_ns"])
    assert abs(execution["mean"] * 2 - spans) <= 2.0
    report = get_performance_monitor().generate_performance_report()
    assert report["total_tasks_executed"] == 2 and report["successful_tasks"] == 1
    assert report["failed_tasks"] == 1 and report["timeout_tasks"] == 0
    assert report["report_id"].startswith("perf_report_")


def invalid_agent_and_empty_prompt_fail_fast():
    """7. An invalid agent and an empty prompt fail at once (no worker sees them), nothing
    reaches the collector, and nothing raises."""
    before = aggregated()
    cases = [
        ("nope", "Review this", "unknown agent 'nope'"),
        ("code-reviewer", "", "prompt is empty"),
        ("code-reviewer", None, "prompt is empty"),
        ("", "Review this", "agent type is empty"),
        (None, "Review this", "agent type is empty"),
    ]
    for kind, prompt, reason in cases:
        took = math.inf
        for _ in range(5):  # the best of five: one preemption is not the API being slow
            begin = time.perf_counter()
            result = Task(kind, prompt, "d")
            took = min(took, time.perf_counter() - begin)
            assert result["success"] is False and result["metadata"]["status"] == "failed"
            assert reason in result["error"] and result["metadata"]["worker_pid"] == 0
        assert took < 0.1  # the original's "<100ms error handling overhead"
        handle = agentperf.submit(kind, prompt, "d")
        assert reason in handle.wait()["error"]
    assert aggregated() == before


def monitoring_enabled():
    """8. Monitoring is on: the collector runs with it enabled and sees the caller and worker."""
    assert agentperf.config()["monitoring"]["enabled"] is True
    status = agentperf.status()
    assert status["pid"] == int(os.environ["AGP_TEST_DAEMON_PID"])
    result = Task("test-runner", PROMPTS["test-runner"], "monitored")
    assert result["success"], result["error"]

    def both_seen():
        caller = worker = False
        for agent in agentperf.agents()["agents"]:
            if agent["type"] == "task-api" and agent["pid"] == os.getpid():
                caller = agent["samples"] == 2  # coordination, result processing
            if agent["type"] == "test-runner" and agent["pid"] == result["metadata"]["worker_pid"]:
                worker = agent["samples"] == 3  # initialization, execution, memory
        return caller and worker

    wait_for(both_seen, what="the caller's 2 and the worker's 3 samples")


def metric_count_grows_after_a_task():
    """9. The collector's sample count grows by four with every task."""
    agentperf.configure(eager_workers=True)
    list_available_agents()  # starts the Task API: ten workers, one agent_initialization each
    wait_for(lambda: aggregated() >= 10, what="the workers' ten agent_initialization samples")
    before = aggregated()
    assert before == 10
    run_tasks(1, ["refactor-agent"])
    wait_for(lambda: aggregated() >= before + 4, what="four samples of one task")
    after = aggregated()
    assert after - before == 4  # coordination, execution, result processing, memory
    run_tasks(3, ["refactor-agent"])
    wait_for(lambda: aggregated() >= after + 12, what="twelve samples of three tasks")
    assert aggregated() - after == 12


def ci_export_after_five_tasks():
    """10. The CI export after five tasks has the seed's keys, before and after a baseline."""
    start_workers_first()
    run_tasks(5, SEED_AGENTS)
    agentperf.task_shutdown()
    keys = {
        "performance_validation",
        "coordination_overhead_ms",
        "p95_coordination_overhead_ms",
        "overall_health",
        "baseline_established",
        "total_metrics_collected",
        "export_timestamp",
        "meets_requirements",
        "validation_passed",
    }
    for with_baseline in (False, True):
        if with_baseline:
            assert establish_performance_baseline(min_samples=5)["success"]
        metrics = export_performance_metrics()
        with open("performance_metrics.json") as written:
            assert json.load(written) == metrics
        assert keys <= set(metrics), keys - set(metrics)
        assert isinstance(metrics["performance_validation"], dict)
        assert metrics["baseline_established"] is with_baseline
        assert metrics["meets_requirements"] is with_baseline
        assert metrics["validation_passed"] is with_baseline
        assert 0 < metrics["coordination_overhead_ms"] < 200
        assert metrics["total_metrics_collected"] == 5 * 4 + 2 * 5
        assert metrics["overall_health"] == "excellent"


SCENARIOS = [
    agents_available,
    single_task_structured_result,
    twenty_tasks_three_types,
    baseline_from_fifteen_tasks,
    validation_after_ten_tasks,
    result_metadata_fields,
    invalid_agent_and_empty_prompt_fail_fast,
    monitoring_enabled,
    metric_count_grows_after_a_task,
    ci_export_after_five_tasks,
]
