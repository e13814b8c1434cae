"""The private collector: when no agentperfd serves the deployment, the module starts one for
the process, uses it, and stops exactly that process at exit; switchable off; never started
when one serves already, never stopped by a forked child."""

import json
import os
import subprocess

import pytest

from conftest import PYTHON, WORK, python_env
from support import wait_for

SCRIPT = r'''
import json, os, sys
import agentperf, support
agent = agentperf.Agent("private-%d" % os.getpid(), "private-test")
pid = agentperf.private_daemon_pid()
sent = sum(agent.record("coordination_overhead", 1000 + i) for i in range(100))
count = support.wait_count(100, agent_type="private-test", metric="coordination_overhead")
if os.fork() == 0:
    sys.exit(0)  # runs the child's exit hooks: they must leave the parent's daemon alone
os.wait()
status = agentperf.status()
print(json.dumps({"pid": pid, "sent": sent, "count": count, "served_by": status["pid"],
                  "socket": status["socket"]}), flush=True)
sys.stdin.readline()  # the test looks at the daemon meanwhile
'''


def run(code, name, stdin=None, **env):
    environment = python_env(AGENTPERF_NAME=name, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), os.environ["PYTHONPATH"]]), **env)
    for key in [k for k, v in env.items() if v is None]:
        environment.pop(key, None)
    return subprocess.Popen(
        [PYTHON, "-c", code], cwd=WORK, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def test_started_for_the_process_and_stopped_at_its_exit():
    name = "py%d-private" % os.getpid()
    process = run(SCRIPT, name, AGENTPERF_PRIVATE_DAEMON=None)
    line = process.stdout.readline()
    assert line, process.communicate()[1]
    seen = json.loads(line)
    daemon = seen["pid"]
    assert isinstance(daemon, int) and seen["served_by"] == daemon
    assert seen["sent"] == 100 and seen["count"] == 100
    with open("/proc/%d/cmdline" % daemon) as text:
        arguments = text.read().split("\0")
    assert os.path.basename(arguments[0]) == "agentperfd" and arguments[1:3] == ["--name", name]
    assert os.path.exists("/dev/shm/agentperf.%s" % name) and os.path.exists(seen["socket"])
    with open("/proc/%d/stat" % daemon) as text:
        assert int(text.read().rsplit(")", 1)[1].split()[1]) == process.pid  # its parent
    _, errors = process.communicate("\n", timeout=30)
    assert process.returncode == 0, errors
    # Stopped and reaped by the process that started it: no such pid, segment or socket left.
    assert not os.path.exists("/proc/%d" % daemon)
    assert not os.path.exists("/dev/shm/agentperf.%s" % name)
    assert not os.path.exists(seen["socket"])


@pytest.mark.parametrize("switch", ["environment", "configure"])
def test_switched_off(switch):
    name = "py%d-off-%s" % (os.getpid(), switch)
    code = r'''
import agentperf
%s
agent = agentperf.Agent("off", "off")
assert agent.record("coordination_overhead", 5) is True  # recording waits in the ring
assert agentperf.private_daemon_pid() is None
try:
    agentperf.status()
except agentperf.CollectorUnreachable as error:
    print("unreachable:", error)
''' % ("agentperf.configure(private_daemon=False)" if switch == "configure" else "")
    env = {"AGENTPERF_PRIVATE_DAEMON": "0" if switch == "environment" else None}
    process = run(code, name, **env)
    out, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "unreachable: status: no collector answers for deployment '%s'" % name in out
    os.unlink("/dev/shm/agentperf.%s" % name)  # made by the agent, with no collector to remove it


def test_not_started_when_one_serves(collector):
    code = "import agentperf\nprint(agentperf.private_daemon_pid(), agentperf.status()['pid'])\n"
    process = run(code, collector.name, AGENTPERF_PRIVATE_DAEMON=None)
    out, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert out.split() == ["None", str(collector.pid)]


def test_a_bad_switch_is_refused_naming_the_variable():
    process = run("import agentperf", "py%d-bad" % os.getpid(), AGENTPERF_PRIVATE_DAEMON="maybe")
    _, errors = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "AGENTPERF_PRIVATE_DAEMON='maybe': expected 1/true/on or 0/false/off" in errors


def test_gone_when_the_process_is_killed_outright():
    name = "py%d-killed" % os.getpid()
    code = r'''
import os, signal, agentperf
agentperf.status()  # starts the private daemon (from the main thread: PR_SET_PDEATHSIG)
print(agentperf.private_daemon_pid(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no exit hook runs
'''
    process = run(code, name, AGENTPERF_PRIVATE_DAEMON=None)
    daemon = int(process.stdout.readline())
    process.communicate(timeout=30)
    assert process.returncode == -9

    def gone():
        try:
            with open("/proc/%d/stat" % daemon) as text:
                return text.read().rsplit(")", 1)[1].split()[0] == "Z"  # dead, not yet reaped by init
        except FileNotFoundError:
            return True

    wait_for(gone, what="the orphaned private agentperfd %d to end" % daemon)
    # Its SIGTERM path ran: the segment went with it (--unlink-on-exit).
    wait_for(lambda: not os.path.exists("/dev/shm/agentperf.%s" % name), what="its segment to go")
