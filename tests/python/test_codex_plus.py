"""codex_plus's own mappings: record_metric's units and agent ids, MetricType, the timer,
the monitoring switch and the configuration functions, read back from the collector and the
configuration file."""

import json
import os
import warnings

import pytest

import agentperf
from codex_plus import performance_config
from codex_plus.performance_monitor import MetricType, get_performance_monitor, performance_timer, task_id_of
from support import series, wait_count

PID = os.getpid()


def test_record_metric_converts_units_and_keeps_agent_ids_apart(collector):
    monitor = get_performance_monitor()
    agent_id = "unit-agent-%d" % PID
    assert monitor.record_metric(MetricType.COORDINATION_OVERHEAD, 12.5, "ms", agent_id, "task-123")
    assert monitor.record_metric(MetricType.COORDINATION_OVERHEAD, 250, "us", agent_id, 7)
    assert monitor.record_metric(MetricType.MEMORY_USAGE, 1.5, "MB", agent_id)
    assert monitor.record_metric("queue_depth_%d" % PID, 4, "count", agent_id)
    assert wait_count(2, agent_type=agent_id, metric="coordination_overhead") == 2
    overhead = series(agent_type=agent_id, metric="coordination_overhead")
    assert overhead["mean"] == (250_000 + 12_500_000) / 2  # the mean is exact (min/max are bucket values)
    assert wait_count(1, agent_type=agent_id, metric="memory_usage") == 1
    assert series(agent_type=agent_id, metric="memory_usage")["mean"] == 1_572_864  # 1.5 * 2^20
    queue = series(agent_type=agent_id, metric="queue_depth_%d" % PID)
    assert queue["unit"] == "count" and queue["mean"] == 4
    # One Agent per agent_id and process, named after both.
    names = {a["name"] for a in agentperf.agents()["agents"] if a["type"] == agent_id}
    assert names == {"%s-%d" % (agent_id[:20], PID)}
    with pytest.raises(ValueError, match="is a memory"):
        monitor.record_metric(MetricType.MEMORY_USAGE, 1, "ms", agent_id)
    with pytest.raises(ValueError, match="unit 'parsecs'"):
        monitor.record_metric(MetricType.COORDINATION_OVERHEAD, 1, "parsecs", agent_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.record_metric(MetricType.TASK_EXECUTION_TIME, 1, "s", agent_id, context={"k": 1})
    assert any("context is not recorded" in str(w.message) for w in caught)


def test_task_ids_map_as_documented():
    assert task_id_of(None) == 0 and task_id_of(42) == 42 and task_id_of("42") == 42
    assert task_id_of("task-123") == task_id_of("task-123") != task_id_of("task-124")
    assert task_id_of("") == 0xCBF29CE484222325  # FNV-1a's offset basis: the hash of nothing


def test_the_timer_and_the_monitoring_switch(collector):
    agent_id = "switch-%d" % PID
    with performance_timer(MetricType.RESULT_PROCESSING, agent_id, "t-1"):
        pass

    @performance_timer(MetricType.RESULT_PROCESSING, agent_id)
    def work():
        return 1

    assert work() == 1
    assert wait_count(2, agent_type=agent_id, metric="result_processing") == 2
    written = performance_config.enable_performance_monitoring(False)
    try:
        assert written.monitoring.enabled is False
        with open(agentperf.config_file_path()) as text:
            assert json.load(text)["monitoring"]["enabled"] is False
        assert get_performance_monitor().record_metric(MetricType.RESULT_PROCESSING, 1, "ms", agent_id) is False
        with performance_timer(MetricType.RESULT_PROCESSING, agent_id):
            pass
    finally:
        performance_config.enable_performance_monitoring(True)
    assert get_performance_monitor().record_metric(MetricType.RESULT_PROCESSING, 1, "ms", agent_id)
    assert wait_count(3, agent_type=agent_id, metric="result_processing") == 3


def test_configuration_functions_edit_the_file(collector):
    config = performance_config.set_development_mode()
    assert config.thresholds.coordination_overhead_critical_ms == 300.0
    assert config["baseline"]["min_samples_for_baseline"] == 20
    config = performance_config.set_production_mode()
    assert config.thresholds.coordination_overhead_critical_ms == 150.0
    read = performance_config.get_performance_config()
    assert read.baseline.min_samples_for_baseline == 200
    os.environ["CODEX_BASELINE_MIN_SAMPLES"] = "33"
    try:
        assert performance_config.get_performance_config().baseline.min_samples_for_baseline == 33
    finally:
        del os.environ["CODEX_BASELINE_MIN_SAMPLES"]
    with open(agentperf.config_file_path(), "w") as broken:
        broken.write("{ not json")
    with pytest.raises(agentperf.Error, match="config.json"):
        performance_config.set_development_mode()
    with open(agentperf.config_file_path()) as text:
        assert text.read() == "{ not json"  # a broken file is never replaced
    os.unlink(agentperf.config_file_path())


def test_establish_baseline_refused_is_none(collector):
    monitor = get_performance_monitor()
    assert monitor.establish_baseline(min_samples=10**9) is None
