"""Every python code block of the seed document (../shared/seed/ beside the checkout) runs
unchanged, each in a fresh interpreter, against a real agentperfd, and prints the
collector's figures.

The blocks use four names the document never defines: `performance_monitor` (the monitor
of blocks 1-3), `some_operation` (the timed work of the timer block), `true` (the JSON
literal pasted into the CI block) and `sys` (used by the CI block without an import). The
runner binds them, and only them, before it executes a block's text as it stands.
"""

import glob
import json
import os
import re
import subprocess

import pytest

import agentperf
from conftest import PYTHON, WORK, python_env
from support import series, wait_for

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = r'''
import sys
from codex_plus.performance_monitor import get_performance_monitor
names = {
    "__name__": "__main__",
    "performance_monitor": get_performance_monitor(),
    "some_operation": lambda: sum(range(10000)),
    "true": True,
    "sys": sys,
}
with open(sys.argv[1]) as block:
    code = compile(block.read(), sys.argv[2], "exec")
exec(code, names)
'''


def seed_folder():
    """The seed documents: $AGP_SEED_DIR, else shared/seed in a folder above the source tree
    (../shared/seed beside a CI checkout, ../../shared/seed beside a work tree)."""
    given = os.environ.get("AGP_SEED_DIR")
    candidates = [given] if given else [os.path.join(SOURCE, *[".."] * up, "shared", "seed") for up in (1, 2)]
    for candidate in candidates:
        if os.path.isdir(candidate):
            return os.path.abspath(candidate)
    pytest.skip("no seed documents in %s" % ", ".join(candidates))


def seed_blocks():
    blocks = []
    for path in sorted(glob.glob(os.path.join(seed_folder(), "*"))):
        with open(path, encoding="utf-8") as text:
            for number, block in enumerate(re.findall(r"```python\n(.*?)```", text.read(), re.S), 1):
                blocks.append(("%s block %d" % (os.path.basename(path), number), block))
    return blocks


@pytest.fixture(scope="module")
def examples(collector):
    """A folder for the blocks, and enough tasks for the seed's default baseline (100 samples)."""
    folder = os.path.join(WORK, "examples")
    os.makedirs(folder, exist_ok=True)
    runner = os.path.join(folder, "run_block.py")
    with open(runner, "w") as out:
        out.write(RUNNER)
    agentperf.configure(eager_workers=True)  # the warm-up measures trips, not a worker's start
    agentperf.list_agents()
    wait_for(
        lambda: sum(a["state"] == "live" for a in agentperf.agents()["agents"] if a["type"] == "doc-writer") == 2,
        what="the doc-writer's workers",
    )
    for i in range(110):
        assert agentperf.task("doc-writer", "The parser takes tokens. It builds a tree.", "warm-up")["success"]
    agentperf.task_shutdown()
    wait_for(
        lambda: series(metric="coordination_overhead", agent_type="task-api")["count"] >= 110,
        what="the warm-up's coordination_overhead samples",
    )
    return folder, runner, collector


def run_block(examples, title, block, statuses=(0,)):
    folder, runner, collector = examples
    path = os.path.join(folder, "block.py")
    with open(path, "w") as out:
        out.write(block)
    env = python_env(AGENTPERF_NAME=collector.name)
    run = subprocess.run(
        [PYTHON, runner, path, title], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode in statuses, "%s failed:\n%s\n%s%s" % (title, block, run.stdout, run.stderr)
    return run.stdout, run.returncode


def printed(output, label):
    """The text after `label` on the line that starts with it."""
    for line in output.splitlines():
        if line.startswith(label):
            return line[len(label) :]
    raise AssertionError("no line %r in:\n%s" % (label, output))


def last_statement(block):
    """The block's last line of code (comments and blank lines left out)."""
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line][-1]


def config_file(folder):
    with open(os.path.join(folder, ".codexplus", "performance", "config.json")) as text:
        return json.load(text)


def test_every_seed_example_runs_against_the_collector(examples):
    folder = examples[0]
    blocks = seed_blocks()
    assert len(blocks) >= 10, [title for title, _ in blocks]
    seen = set()
    with pytest.raises(agentperf.CollectorError):
        agentperf.baseline_show()  # none yet: the first baseline block establishes it
    for title, block in blocks:
        # The CI block exits 1 when the requirements are not met: what the collector says decides.
        ci_block = 'export_performance_metrics("ci_performance.json")' in block
        output, status = run_block(examples, title, block, (0, 1) if ci_block else (0,))
        if "performance_monitor.establish_baseline(" in block:
            seen.add("establish_baseline")
            assert agentperf.baseline_show()["samples_count"] >= 100
        if "export_metrics_for_ci(" in block:
            seen.add("export_metrics_for_ci")
            with open(os.path.join(folder, "performance_metrics.json")) as text:
                written = json.load(text)
            assert written["validation_passed"] is written["meets_requirements"]
            assert written["meets_requirements"] is agentperf.export_ci(write=False)["meets_requirements"]
        if "stats = get_performance_statistics()" in block:
            seen.add("statistics")
            merged = agentperf.percentiles(metric="coordination_overhead")
            assert printed(output, "Coordination overhead: ") == "%sms" % (merged["mean"] * 1e-6)
            meets = agentperf.validate()["meets_sub_200ms_requirement"]
            assert printed(output, "Meets 200ms requirement: ") == str(meets)
        if "baseline_result = establish_performance_baseline()" in block:
            seen.add("baseline")
            shown = agentperf.baseline_show()
            critical = agentperf.config()["thresholds"]["coordination_overhead_critical_ms"]
            assert printed(output, "Baseline coordination overhead: ") == "%sms" % shown["coordination_overhead_ms"]
            assert printed(output, "Meets requirements: ") == str(shown["coordination_overhead_ms"] < critical)
        if ci_block:
            seen.add("ci")
            with open(os.path.join(folder, "ci_performance.json")) as text:
                meets = json.load(text)["meets_requirements"]
            assert meets is agentperf.export_ci(write=False)["meets_requirements"]
            assert ("Performance validation passed" in output) is meets and status == (0 if meets else 1)
        if "with performance_timer(" in block:
            seen.add("timer")
            found = series(metric="coordination_overhead", agent_type="test-agent")
            assert found["count"] == 1 and found["min"] > 0
        if last_statement(block) == "set_development_mode()":
            seen.add("development")
            assert config_file(folder)["thresholds"]["coordination_overhead_critical_ms"] == 300.0
        if last_statement(block) == "set_production_mode()":
            seen.add("production")
            assert config_file(folder)["thresholds"]["coordination_overhead_critical_ms"] == 150.0
    assert seen == {
        "establish_baseline",
        "export_metrics_for_ci",
        "statistics",
        "baseline",
        "ci",
        "timer",
        "development",
        "production",
    }
