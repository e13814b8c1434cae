"""codex_plus: the original system's Python names over agentperf.

A compatibility package only: every call maps the original's names, arguments and
return shapes onto the `agentperf` extension module, which does the work in C
(libagentperf, the Task API, the collector's answers). See docs/python.md for the
migration table.
"""

from codex_plus.task_api import (
    Task,
    establish_performance_baseline,
    export_performance_metrics,
    get_performance_statistics,
    list_available_agents,
)

__all__ = [
    "Task",
    "establish_performance_baseline",
    "export_performance_metrics",
    "get_performance_statistics",
    "list_available_agents",
]
