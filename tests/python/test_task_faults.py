"""What goes wrong in a task, seen from Python: a crashed worker and a timeout are failed
results (never exceptions), the collector records the recovery, and the cap on tasks in
flight holds (checked against the workers' own begin and end stamps)."""

import json
import os

import pytest

import agentperf
from conftest import WORK
from support import series_count, wait_for

AGENTS = os.path.join(WORK, "agents")
os.makedirs(AGENTS, exist_ok=True)
DEFINITIONS = {
    "crasher": {"id": "crasher", "runner": {"kind": "builtin", "name": "crash"}, "workers": 1},
    "nap": {"id": "nap", "runner": {"kind": "builtin", "name": "sleep"}, "workers": 1, "timeout_s": 0.3},
    "sleeper": {"id": "sleeper", "runner": {"kind": "builtin", "name": "sleep"}, "workers": 4},
    "bytes": {"id": "bytes", "runner": {"kind": "exec", "argv": ["printf", "\\377ok"]}, "workers": 1},
}
for name, definition in DEFINITIONS.items():
    with open(os.path.join(AGENTS, name + ".json"), "w") as out:
        json.dump(definition, out)
agentperf.configure(agents_dir=AGENTS, max_concurrency=2)


def test_a_crashed_worker_is_a_failed_result_and_is_replaced(collector):
    ids = sorted(agent["id"] for agent in agentperf.list_agents())
    assert ids == ["bytes", "crasher", "nap", "sleeper"]
    result = agentperf.task("crasher", "boom", "")
    assert result["success"] is False and result["metadata"]["status"] == "failed"
    assert "crashed mid-task" in result["error"]
    first = result["metadata"]["worker_pid"]
    assert first > 0
    again = agentperf.task("crasher", "boom again")
    assert again["success"] is False and again["metadata"]["worker_pid"] not in (0, first)
    # The supervisor measured each recovery; the collector has them.
    wait_for(
        lambda: series_count(metric="error_recovery_time", agent_type="task-api") >= 1,
        what="error_recovery_time samples",
    )


def test_a_timeout_is_a_failed_result_with_its_status(collector):
    fine = agentperf.task("nap", "20")
    assert fine["success"] and fine["metadata"]["status"] == "completed"
    late = agentperf.task("nap", "5000")
    assert late["success"] is False
    assert late["metadata"]["status"] == "timeout"
    assert "timed out after 0.3 s" in late["error"]
    after = agentperf.task("nap", "10")
    assert after["success"] and after["metadata"]["worker_pid"] != late["metadata"]["worker_pid"]
    with pytest.raises(agentperf.Error, match="runs already"):
        agentperf.configure(max_concurrency=5)


def test_submit_and_wait_keep_the_cap(collector):
    handles = [agentperf.submit("sleeper", "80", "batch %d" % i) for i in range(8)]
    results = [handle.wait() for handle in handles[:2]] + agentperf.wait_all(handles[2:])
    assert all(r["success"] for r in results), [r["error"] for r in results]
    assert handles[0].wait() is results[0] and handles[0].done
    # The workers' own stamps (deployment clock): never more than two tasks running at once.
    events = sorted(
        [(r["metadata"]["begin_ns"], 1) for r in results] + [(r["metadata"]["end_ns"], -1) for r in results],
        key=lambda event: (event[0], event[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2
    assert agentperf.peak_concurrency() == 2
    with pytest.raises(TypeError):
        agentperf.wait_all([object()])


def test_a_forked_child_gets_failed_results_not_the_parents_workers(collector):
    assert agentperf.task("nap", "1")["success"]  # the parent's Task API runs
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            result = agentperf.task("nap", "1")
            os.write(write_end, ("%s|%s|%d" % (result["success"], result["error"], result["metadata"]["worker_pid"])).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as text:
        success, error, worker = text.read().split("|")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert success == "False" and worker == "0"
    assert "the Task API belongs to the parent process" in error
    assert agentperf.task("nap", "1")["success"]  # and the parent's still works


def test_output_that_is_not_utf8_comes_back_byte_for_byte(collector):
    result = agentperf.task("bytes", "anything")
    assert result["success"], result["error"]
    assert result["output"].encode("utf-8", "surrogateescape") == b"\xffok"
