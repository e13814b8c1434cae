"""codex_plus.performance_config: the original's configuration functions.

The configuration lives where the collector reads it (.codexplus/performance/config.json,
or agentperf.configure(daemon_config=...)); reading and editing go through agentperf's
C configuration library, so a file written here is one agentperfd accepts. An edit takes
effect when agentperfd next starts (the private collector agentperf starts for a process
included, when the edit comes before it); the running collector's own configuration is
agentperf.config().
"""

import agentperf


class PerformanceConfig(dict):
    """The configuration as the original's object: config.thresholds.coordination_overhead_critical_ms
    and config["thresholds"]["coordination_overhead_critical_ms"] both read it."""

    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return PerformanceConfig(value) if isinstance(value, dict) else value


def get_performance_config():
    """The configuration a collector starting now would use: the file, then the CODEX_* variables."""
    return PerformanceConfig(agentperf.config_file())


def enable_performance_monitoring(enabled=True):
    """Sets monitoring.enabled in the file (the collector then aggregates, or discards and counts,
    every sample) and switches codex_plus's own recording (record_metric, performance_timer) on
    or off in this process at once."""
    from codex_plus import performance_monitor

    performance_monitor._recording_enabled = bool(enabled)
    return PerformanceConfig(agentperf.edit_config_file(set={"monitoring": {"enabled": bool(enabled)}}))


def set_development_mode():
    """Writes the development preset into the file (coordination 200/300/400 ms, 20 samples, ...)."""
    return PerformanceConfig(agentperf.edit_config_file(preset="development"))


def set_production_mode():
    """Writes the production preset into the file (coordination 100/150/200 ms, 200 samples, ...)."""
    return PerformanceConfig(agentperf.edit_config_file(preset="production"))


__all__ = [
    "PerformanceConfig",
    "get_performance_config",
    "enable_performance_monitoring",
    "set_development_mode",
    "set_production_mode",
]
