"""Fixtures of the Python tests: a real agentperfd per test file, started and stopped by its pid.

Each pytest process (one per test file, see tests/CMakeLists.txt) gets its own deployment
(`py<pid>`), its own socket folder and working folder (where the collector's
.codexplus/performance/ and the tests' files go), and the module's private daemon switched
off, so that every figure the tests read comes from the daemon started here.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

WORK = tempfile.mkdtemp(prefix="agentperf-py.")
os.environ["AGENTPERF_SOCKET_DIR"] = os.path.join(WORK, "sock")
os.environ["AGENTPERF_PRIVATE_DAEMON"] = "0"
os.environ.pop("AGENTPERF_NAME", None)
for variable in [v for v in os.environ if v.startswith("CODEX_")]:
    del os.environ[variable]
os.chdir(WORK)

import agentperf  # noqa: E402  (after the environment above)
from support import series_count, wait_for  # noqa: E402,F401  (the tests import them from here too)

# One deployment per pytest process (each test file runs in its own, tests/CMakeLists.txt).
DEPLOYMENT = "py%d" % os.getpid()
agentperf.configure(deployment=DEPLOYMENT)

DAEMON = os.environ.get("AGENTPERFD", "agentperfd")


class Collector:
    """An agentperfd of its own deployment, stopped by its pid."""

    def __init__(self, name, config=None):
        self.name = name
        self.folder = os.path.join(WORK, name)
        os.makedirs(os.path.join(self.folder, ".codexplus", "performance"), exist_ok=True)
        arguments = [DAEMON, "--name", name, "--unlink-on-exit"]
        if config is not None:
            path = os.path.join(self.folder, "config.json")
            with open(path, "w") as out:
                json.dump(config, out)
            arguments += ["--config", path]
        self.log_path = os.path.join(self.folder, "agentperfd.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(arguments, cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_text(self):
        with open(self.log_path) as text:
            return text.read()


@pytest.fixture(scope="session")
def collector(request):
    """The session's collector; agentperf is configured for its deployment."""
    daemon = Collector(DEPLOYMENT)

    def answers():
        if daemon.process.poll() is not None:
            raise AssertionError("agentperfd exited with %s:\n%s" % (daemon.process.returncode, daemon.log_text()))
        try:
            return agentperf.status()
        except agentperf.CollectorUnreachable:
            return None

    wait_for(answers, what="agentperfd to answer")
    yield daemon
    agentperf.task_shutdown()
    daemon.stop()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(WORK, ignore_errors=True)


def python_env(**extra):
    """The environment for a child interpreter running the module from the build tree."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


PYTHON = sys.executable
