#!/bin/bash
# [multiprocess] Where agentperfd's log goes: `--daemon --log FILE` detaches and
# appends every line to FILE (created 0600; the witness is the daemon's own
# "serving" and "stopping" lines, and `agentperf status` answering the
# deployment); a link planted at FILE is refused and the file it points to stays
# untouched; `--daemon` with a terminal on standard error and no --log is
# refused (exit 2) instead of logging nowhere (the terminal is a pty made by
# script(1)); without --daemon the log is standard error, as under systemd.
# Usage: test_daemon_log.sh AGENTPERFD AGENTPERF.
set -u
daemon_bin=$1 cli_bin=$2
dir=$(mktemp -d /tmp/agp-daemon-log-XXXXXX)
name="daemonlog-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
cleanup() {
	[ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null
	rm -rf "$dir"
	rm -f "/dev/shm/agentperf.$name"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$dir/daemon.log" ] && { echo "--- daemon.log"; cat "$dir/daemon.log"; }
	exit 1
}
cd "$dir" || exit 1
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

# 1: detached, logging into the file.
"$daemon_bin" --name "$name" --daemon --log "$dir/daemon.log" --pidfile "$dir/pid" \
	--unlink-on-exit </dev/null >"$dir/launch.out" 2>&1 || fail "--daemon --log exited $?"
[ -s "$dir/launch.out" ] && fail "the detached daemon wrote to its launcher: $(cat "$dir/launch.out")"
wait_for 10 "$cli_bin" --name "$name" status >/dev/null || fail "status does not answer"
pid=$(cat "$dir/pid")
[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" != "$$" ] || fail "the daemon is still our child"
grep -q "agentperfd: serving deployment '$name'" "$dir/daemon.log" || fail "no serving line in the log"
[ "$(stat -c %a "$dir/daemon.log")" = 600 ] || fail "log mode $(stat -c %a "$dir/daemon.log")"
kill "$pid"
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "the daemon did not stop"
rm -f "$dir/pid"
grep -q "agentperfd: stopping: final drain" "$dir/daemon.log" || fail "no stopping line in the log"
echo "--daemon --log: detached, both lines in the log, mode 0600"

# 2: a link at the log path is refused; its target stays as it was.
printf 'canary\n' >"$dir/canary"
ln -s "$dir/canary" "$dir/linked.log"
"$daemon_bin" --name "$name" --log "$dir/linked.log" --unlink-on-exit >"$dir/out" 2>&1 &
launched=$!
wait "$launched"
status=$?
[ $status = 1 ] || fail "a link at --log: exit $status (wanted 1)"
grep -q -- "--log $dir/linked.log" "$dir/out" || fail "the refusal does not name the file: $(cat "$dir/out")"
[ "$(cat "$dir/canary")" = canary ] || fail "the canary changed"
[ -e "/dev/shm/agentperf.$name" ] && fail "a refused start left its segment"
echo "--log through a link: refused, naming the file"

# 3: --daemon, a terminal on standard error, no --log: refused.
if command -v script >/dev/null 2>&1; then
	script -qec "'$daemon_bin' --name '$name' --daemon --unlink-on-exit" "$dir/tty.out" >/dev/null 2>&1
	status=$?
	[ $status = 2 ] || fail "--daemon on a terminal without --log: exit $status (wanted 2)"
	grep -q "give --log FILE" "$dir/tty.out" || fail "no reason given: $(cat "$dir/tty.out")"
	echo "--daemon on a terminal without --log: refused"
fi
exit 0
