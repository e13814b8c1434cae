"""Recording from Python: exact counts read back from a real collector.

The witnesses are what the recording code itself says it sent (the True returns of
record(), the values it chose, what forked children write into a pipe), compared with the
collector's series (agentperf.statistics, the same answer as `agentperf stats --json`).
"""

import os
import threading
import time

import pytest

import agentperf
from support import series_count, wait_count

PID = os.getpid()
THREADS = 8
PER_THREAD = 1000  # 8 x 1000 = 8000 samples fit one ring (8192): nothing may be dropped


def test_eight_threads_share_one_agent(collector):
    agent_type = "shared-%d" % PID
    agent = agentperf.Agent("shared-%d" % PID, agent_type, strict=True)
    sent = [0] * THREADS
    start = threading.Barrier(THREADS)

    def work(k):
        start.wait()
        for i in range(PER_THREAD):
            # The GIL serialises these records: the ring's single producer.
            if agent.record("coordination_overhead", 1000 * (k + 1) + i):
                sent[k] += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == THREADS * PER_THREAD
    assert agent.recorded == THREADS * PER_THREAD and agent.dropped == 0
    assert wait_count(THREADS * PER_THREAD, agent_type=agent_type, metric="coordination_overhead") == 8000
    (series,) = agentperf.statistics(agent_type=agent_type, metric="coordination_overhead")["series"]
    values = [1000 * (k + 1) + i for k in range(THREADS) for i in range(PER_THREAD)]
    assert series["min"] == min(values)
    assert series["max"] == max(values)
    assert abs(series["mean"] - sum(values) / len(values)) < 1e-6
    agent.close()


def test_eight_threads_with_their_own_agents(collector):
    agent_type = "own-%d" % PID
    names = ["own-%d-%d" % (PID, k) for k in range(THREADS)]
    sent = {}

    def work(k):
        with agentperf.Agent(names[k], agent_type, strict=True) as agent:
            sent[names[k]] = sum(agent.record("task_execution_time", 5000 + i, k + 1) for i in range(PER_THREAD + k))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, name in enumerate(names):
        assert sent[name] == PER_THREAD + k
        assert wait_count(sent[name], agent=name, metric="task_execution_time") == sent[name]
    assert series_count(agent_type=agent_type, metric="task_execution_time") == sum(sent.values())


@agentperf.timer("child_call")
def timed_in_whichever_process():
    return os.getpid()


def test_forked_children_record_through_their_own_agents(collector):
    agentperf.configure(agent_type="forked-%d" % PID)
    parent = agentperf.Agent("parent-%d" % PID, "forkparent-%d" % PID, strict=True)
    for i in range(10):
        assert parent.record("memory_usage", 1 << 20)
    children = {}
    for k in range(4):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                # Through the parent's Agent: a closed handle here, nothing reaches its slot.
                through_parent = sum(parent.record("memory_usage", 1) for _ in range(100))
                recorded = sum(agentperf.record("coordination_overhead", 2_000_000 + i) for i in range(500 * (k + 1)))
                timed_in_whichever_process()
                report = "%d %d %d %d %s" % (
                    os.getpid(),
                    recorded,
                    through_parent,
                    int(parent.closed),
                    agentperf.default_agent().name,
                )
                os.write(write_end, report.encode())
            finally:
                os._exit(0)
        os.close(write_end)
        children[pid] = read_end
    reports = {}
    for pid, read_end in children.items():
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        with os.fdopen(read_end) as text:
            child, recorded, through_parent, closed, name = text.read().split()
        assert int(child) == pid
        assert int(through_parent) == 0 and closed == "1"
        reports[name] = int(recorded)
    assert sorted(reports.values()) == [500, 1000, 1500, 2000]
    for name, recorded in reports.items():
        assert name.endswith("-%s" % name.rsplit("-", 1)[1]) and name != agentperf.default_agent().name
        assert wait_count(recorded, agent=name, metric="coordination_overhead") == recorded
        assert wait_count(1, agent=name, metric="child_call") == 1
    assert series_count(agent_type="forked-%d" % PID, metric="coordination_overhead") == 5000
    # The parent's slot got its own ten samples, and none of the children's hundred each.
    assert wait_count(10, agent="parent-%d" % PID, metric="memory_usage") == 10
    assert parent.record("memory_usage", 1 << 20) and parent.recorded == 11


def test_recording_into_a_failed_or_closed_agent_is_a_no_op(collector):
    failed = agentperf.Agent("", "nothing")
    assert failed.closed and "name" in failed.error
    assert failed.record("coordination_overhead", 1) is False
    with failed.timer("coordination_overhead"):
        pass
    assert failed.recorded == 0
    with pytest.raises(agentperf.Error, match="agent name is empty"):
        agentperf.Agent("", "nothing", strict=True)
    agent = agentperf.Agent("closing-%d" % PID, "closing-%d" % PID, strict=True)
    assert agent.record("coordination_overhead", 7)
    agent.close()
    assert agent.closed
    assert agent.record("coordination_overhead", 8) is False
    assert agent.record("a_new_custom_metric", 8) is False  # no registration on a closed agent
    assert wait_count(1, agent="closing-%d" % PID, metric="coordination_overhead") == 1


def test_timer_as_with_and_as_decorator(collector):
    agent_type = "timers-%d" % PID
    agent = agentperf.Agent("timers-%d" % PID, agent_type, strict=True)
    with agent.timer("task_execution_time", task_id=42):
        time.sleep(0.002)

    @agent.timer("result_processing")
    def fails():
        raise KeyError("boom")

    for _ in range(3):
        with pytest.raises(KeyError):
            fails()
    assert fails.__name__ == "fails" and fails.__wrapped__ is not None

    class Thing:
        @agent.timer("agent_initialization")
        def method(self, x):
            return x + 1

    assert Thing().method(1) == 2
    assert wait_count(1, agent_type=agent_type, metric="task_execution_time") == 1
    (run,) = agentperf.statistics(agent_type=agent_type, metric="task_execution_time")["series"]
    assert run["mean"] >= 2_000_000  # the sleep's 2 ms at least (one sample: its exact value)
    assert wait_count(3, agent_type=agent_type, metric="result_processing") == 3
    (failed,) = agentperf.statistics(agent_type=agent_type, metric="result_processing")["series"]
    assert failed["failed_count"] == 3
    assert wait_count(1, agent_type=agent_type, metric="agent_initialization") == 1


def test_custom_metrics_by_name(collector):
    agent_type = "custom-%d" % PID
    agent = agentperf.Agent("custom-%d" % PID, agent_type, strict=True)
    assert agent.metric("queue_depth_%d" % PID, "count") >= agentperf.COORDINATION_OVERHEAD + 7
    for depth in (3, 5, 7):
        assert agent.record("queue_depth_%d" % PID, depth)
    assert agent.record("bytes_sent_%d" % PID, 10)  # registered on first use as a count
    with pytest.raises(ValueError, match="metric name"):
        agent.record("not a name", 1)
    with pytest.raises(agentperf.Error, match="unit"):
        agent.metric("queue_depth_%d" % PID, "bytes")
    assert wait_count(3, agent_type=agent_type, metric="queue_depth_%d" % PID) == 3
    (series,) = agentperf.statistics(agent_type=agent_type, metric="queue_depth_%d" % PID)["series"]
    assert series["unit"] == "count" and series["mean"] == 5
