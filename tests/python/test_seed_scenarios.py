"""The original's ten validation scenarios (seed_scenarios.py), each in a fresh interpreter
against a fresh agentperfd of its own deployment, started and stopped here by its pid."""

import os
import subprocess

import pytest

from conftest import PYTHON, Collector, python_env
from seed_scenarios import SCENARIOS

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("scenario", [s.__name__ for s in SCENARIOS])
def test_seed_scenario(scenario):
    name = "py%d-s%d" % (os.getpid(), [s.__name__ for s in SCENARIOS].index(scenario) + 1)
    daemon = Collector(name)
    try:
        env = python_env(
            AGENTPERF_NAME=name,
            AGP_TEST_DAEMON_PID=daemon.pid,
            PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]),
        )
        # Waits for the daemon itself: the scenario's first request must find it.
        code = (
            "import agentperf, seed_scenarios, support\n"
            "def up():\n"
            "    try:\n"
            "        return agentperf.status()\n"
            "    except agentperf.CollectorUnreachable:\n"
            "        return None\n"
            "support.wait_for(up, what='agentperfd')\n"
            "seed_scenarios.%s()\n" % scenario
        )
        run = subprocess.run([PYTHON, "-c", code], cwd=daemon.folder, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, "scenario %s failed:\n%s%s\n--- agentperfd:\n%s" % (
            scenario,
            run.stdout,
            run.stderr,
            daemon.log_text(),
        )
    finally:
        daemon.stop()
