"""codex_plus.task_api: Task() and the original's module-level performance functions."""

import agentperf

# Keys of a figure in the seed's units: durations in ms, memory in MB, counts as they are.
_SUFFIX = {"nanoseconds": ("_ms", 1e-6), "bytes": ("_mb", 1.0 / 1048576), "count": ("", 1.0)}


def Task(agent_type, prompt, description=""):
    """Runs a task on a worker of agent_type and returns the seed's result: success, output,
    error, metadata {agent_id, task_id, status, execution_time (s), ...}. A task that cannot
    run (empty type or prompt, unknown agent, ...) is a failed result, never an exception."""
    return agentperf.task(agent_type, prompt, description)


def list_available_agents():
    """The agents tasks can run on: dicts of id, name, description, capabilities, ..."""
    return agentperf.list_agents()


def _scaled(unit, figures):
    suffix, scale = _SUFFIX.get(unit, _SUFFIX["count"])
    out = {}
    for key, value in figures.items():
        out[("avg" if key == "mean" else key) + suffix] = None if value is None else value * scale
    return out


def get_performance_statistics():
    """Per metric over every agent (the collector's merged histograms): count, avg_ms, min_ms,
    max_ms (_mb for memory); per agent type also std/p50/p95/p99 (by_agent_type); the
    validation (validation_results), overall_health and total_metrics."""
    stats = agentperf.statistics()
    names = [m for m in agentperf.METRICS]
    for series in stats["series"]:
        if series["metric"] not in names:
            names.append(series["metric"])
    result = {}
    total = 0
    for name in names:
        try:
            merged = agentperf.percentiles(metric=name)
        except agentperf.CollectorError:  # a known metric without any series yet
            merged = {"count": 0, "unit": "nanoseconds" if name != "memory_usage" else "bytes"}
        count = merged["count"]
        total += count
        entry = {"count": count}
        figures = {k: (merged.get(k) if count else None) for k in ("mean", "min", "max")}
        entry.update(_scaled(merged["unit"], figures))
        result[name] = entry
    by_type = {}
    for series in stats["series"]:
        figures = {k: series.get(k) for k in ("mean", "stddev", "min", "p50", "p95", "p99", "max")}
        entry = {"count": series["count"]}
        entry.update(_scaled(series["unit"], figures))
        by_type.setdefault(series["agent_type"], {})[series["metric"]] = entry
    result["by_agent_type"] = by_type
    result["validation_results"] = agentperf.validate()
    result["overall_health"] = agentperf.status().get("health", "unknown")
    result["total_metrics"] = total
    return result


def establish_performance_baseline(measurement_period_hours=None, min_samples=None, confidence_interval=None):
    """{success, baseline (the seed's keys: coordination_overhead_ms, ...), meets_200ms_requirement
    (the baseline's coordination overhead below thresholds.coordination_overhead_critical_ms)};
    {success: False, error} when the collector refuses (too few samples, none in the period)."""
    try:
        baseline = agentperf.baseline_establish(
            hours=measurement_period_hours, min_samples=min_samples, confidence=confidence_interval
        )
    except agentperf.Error as error:
        return {
            "success": False,
            "error": getattr(error, "message", str(error)),
            "baseline": None,
            "meets_200ms_requirement": False,
        }
    critical = agentperf.config()["thresholds"]["coordination_overhead_critical_ms"]
    overhead = baseline.get("coordination_overhead_ms")
    return {
        "success": True,
        "baseline": baseline,
        "meets_200ms_requirement": overhead is not None and overhead < critical,
        "critical_threshold_ms": critical,
    }


def export_performance_metrics(output_file=None):
    """Writes the CI JSON (default file: $CODEX_CI_EXPORT_FILE, then monitoring.ci_export_file)
    and returns it: performance_validation, coordination_overhead_ms, overall_health,
    baseline_established, meets_requirements, validation_passed, ..."""
    return agentperf.export_ci(output_file)["export"]


__all__ = [
    "Task",
    "establish_performance_baseline",
    "export_performance_metrics",
    "get_performance_statistics",
    "list_available_agents",
]
