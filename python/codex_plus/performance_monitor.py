"""codex_plus.performance_monitor: the original's monitor, timer and metric types.

Samples go into agentperf agents (one per agent_id and process: the agent type is the
agent_id, so the collector keeps them as the series (agent_id, metric)); the monitor's
questions are the collector's answers. Shapes follow the original (docs/python.md).
"""

import enum
import os
import threading
import warnings

import agentperf


class MetricType(enum.Enum):
    """The seven metric types of the original; the values are agentperf's metric names."""

    COORDINATION_OVERHEAD = "coordination_overhead"
    TASK_EXECUTION_TIME = "task_execution_time"
    AGENT_INITIALIZATION = "agent_initialization"
    RESULT_PROCESSING = "result_processing"
    PARALLEL_COORDINATION = "parallel_coordination"
    MEMORY_USAGE = "memory_usage"
    ERROR_RECOVERY_TIME = "error_recovery_time"


# The wire's units: durations in nanoseconds, memory in bytes, counts as they are.
_DURATION_UNITS = {"ns": 1, "us": 1e3, "\u00b5s": 1e3, "ms": 1e6, "s": 1e9, "seconds": 1e9}
_MEMORY_UNITS = {"b": 1, "bytes": 1, "kb": 1024, "mb": 1048576, "gb": 1073741824}
_COUNT_UNITS = {"count": 1, "": 1}
_BUILTIN_FAMILY = {m.value: "duration" for m in MetricType}
_BUILTIN_FAMILY["memory_usage"] = "memory"
_AGENT_UNIT = {"duration": "nanoseconds", "memory": "bytes", "count": "count"}

# enable_performance_monitoring(False) switches codex_plus's recording off in this process.
_recording_enabled = True
_context_warned = False


def _unit_family(unit):
    key = (unit or "").lower()
    if key in _DURATION_UNITS:
        return "duration", _DURATION_UNITS[key]
    if key in _MEMORY_UNITS:
        return "memory", _MEMORY_UNITS[key]
    if key in _COUNT_UNITS:
        return "count", 1
    raise ValueError(
        "unit %r: expected a duration (ns, us, ms, s), a size (B, KB, MB, GB) or 'count'" % (unit,)
    )


def _metric_name(metric_type):
    if isinstance(metric_type, MetricType):
        return metric_type.value
    if isinstance(metric_type, str):
        return metric_type
    raise TypeError("metric_type: expected a MetricType or a metric name, not %s" % type(metric_type).__name__)


def task_id_of(task_id):
    """The 64-bit task id a sample carries: an int as it is, a decimal string's number, and for
    any other string (the original's "task-123") its FNV-1a 64-bit hash, the same in every process."""
    if task_id is None:
        return 0
    if isinstance(task_id, int):
        return task_id
    text = str(task_id)
    if text.isdigit():
        return int(text)
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def _label(agent_id):
    """An agent type of at most 31 characters without control characters, quotes or backslashes."""
    text = "".join("_" if ord(c) < 0x20 or c in "\"\\" else c for c in str(agent_id))
    return text[:31] or "codex_plus"


def _warn_context(context):
    global _context_warned
    if context and not _context_warned:
        _context_warned = True
        warnings.warn(
            "codex_plus: context is not recorded (a sample is its time, value, task id and metric)",
            RuntimeWarning,
            stacklevel=3,
        )


class _NoTimer:
    """What performance_timer gives while monitoring is switched off: times nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, function):
        return function


class PerformanceMonitor:
    """The original's PerformanceMonitor over agentperf (use get_performance_monitor())."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._agents = {}

    def _agent(self, agent_id):
        if agent_id is None:
            return agentperf.default_agent()
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's agents are closed here
                self._pid, self._agents = os.getpid(), {}
            agent = self._agents.get(agent_id)
            if agent is None:
                label = _label(agent_id)
                agent = agentperf.Agent("%s-%d" % (label[:20], os.getpid()), label)
                self._agents[agent_id] = agent
            return agent

    def record_metric(self, metric_type, value, unit="ms", agent_id=None, task_id=None, context=None):
        """Records one sample of value in unit (converted to the wire's ns, bytes or count).
        True when it went into the ring; False when it was dropped, monitoring is off, or the
        agent could not open (agentperf's no-op)."""
        _warn_context(context)
        name = _metric_name(metric_type)
        family, scale = _unit_family(unit)
        expected = _BUILTIN_FAMILY.get(name)
        if expected and expected != family:
            raise ValueError("metric %s is a %s; unit %r is not" % (name, expected, unit))
        if not _recording_enabled:
            return False
        agent = self._agent(agent_id)
        if expected is None and not agent.closed:
            agent.metric(name, _AGENT_UNIT[family])
        return agent.record(name, round(value * scale), task_id_of(task_id))

    def performance_timer(self, metric_type, agent_id=None, task_id=None, context=None):
        return performance_timer(metric_type, agent_id, task_id, context)

    def establish_baseline(self, measurement_period_hours=None, min_samples=None, confidence_interval=None):
        """Establishes and saves the baseline; its seed keys (coordination_overhead_ms, ...,
        samples_count, established_at) and the statistics per metric. None when the collector
        has too few samples or none in the period (the reason: agentperf.baseline_establish)."""
        try:
            return agentperf.baseline_establish(
                hours=measurement_period_hours, min_samples=min_samples, confidence=confidence_interval
            )
        except agentperf.CollectorError:
            return None

    def validate_performance_requirements(self):
        """The seed's validation object (validated, avg/p95_coordination_overhead_ms,
        meets_sub_200ms_requirement, meets_consistency_requirement, recommendations, ...)."""
        return agentperf.validate()

    def generate_performance_report(self):
        """The seed's report (report_id, overall_health, avg/p95/p99_coordination_overhead, task counts, ...)."""
        return agentperf.report()

    def export_metrics_for_ci(self, output_file=None):
        """Writes the CI JSON to output_file (default $CODEX_CI_EXPORT_FILE, then the
        collector's monitoring.ci_export_file) and returns it."""
        return agentperf.export_ci(output_file)["export"]

    def get_performance_statistics(self):
        from codex_plus.task_api import get_performance_statistics

        return get_performance_statistics()


_monitor = None
_monitor_lock = threading.Lock()


def get_performance_monitor():
    """The process's monitor."""
    global _monitor
    with _monitor_lock:
        if _monitor is None:
            _monitor = PerformanceMonitor()
        return _monitor


def performance_timer(metric_type, agent_id=None, task_id=None, context=None):
    """A timer of metric_type on agent_id's agent: `with performance_timer(...):` records the
    block's duration, `@performance_timer(...)` every call's (agentperf.Timer)."""
    _warn_context(context)
    name = _metric_name(metric_type)
    if not _recording_enabled:
        return _NoTimer()
    if agent_id is None:
        return agentperf.timer(name, task_id_of(task_id))
    agent = get_performance_monitor()._agent(agent_id)
    return agent.timer(name, task_id_of(task_id))


__all__ = [
    "MetricType",
    "PerformanceMonitor",
    "get_performance_monitor",
    "performance_timer",
    "task_id_of",
]
