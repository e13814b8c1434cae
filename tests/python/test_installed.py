"""The module as `cmake --install` leaves it: under the prefix's site-packages, finding
libagentperf through its RPATH and the agentperfd installed with it (no $AGENTPERFD)."""

import glob
import os
import shutil
import subprocess

from conftest import PYTHON, WORK, python_env


def test_installed_module_runs_a_task_on_its_own_collector():
    prefix = os.path.join(WORK, "prefix")
    subprocess.run(
        [os.environ["AGP_CMAKE"], "--install", os.environ["AGP_BUILD_DIR"], "--prefix", prefix],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (module,) = glob.glob(os.path.join(prefix, "**", "agentperf.cpython-*.so"), recursive=True)
    site = os.path.dirname(module)
    assert os.path.isfile(os.path.join(site, "codex_plus", "performance_monitor.py"))
    env = python_env(PYTHONPATH=site, AGENTPERF_NAME="py%d-installed" % os.getpid())
    for variable in ("AGENTPERFD", "AGENTPERF_PRIVATE_DAEMON", "LD_LIBRARY_PATH"):
        env.pop(variable, None)
    code = (
        "import os, agentperf, codex_plus\n"
        "assert agentperf.__file__ == %r\n"
        "result = codex_plus.Task('doc-writer', 'The parser takes tokens. It builds a tree.')\n"
        "assert result['success'], result\n"
        "print(os.readlink('/proc/%%d/exe' %% agentperf.private_daemon_pid()))\n" % module
    )
    run = subprocess.run([PYTHON, "-c", code], cwd=WORK, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == os.path.join(prefix, "sbin", "agentperfd")
    shutil.rmtree(prefix)
