#!/bin/bash
# [multiprocess] The service's control socket, as the CLI finds it: a daemon
# serving /run/agentperf/NAME.sock (as agentperfd.service does) is found by a
# CLI whose own default ($XDG_RUNTIME_DIR/agentperf) has no socket, but not
# when AGENTPERF_SOCKET_DIR chose the folder; and root may use the socket of a
# daemon running as another uid (65534 here), which refuses everyone else.
# Usage: test_service_socket.sh AGENTPERFD AGENTPERF. Needs root (/run, setpriv): else 77.
set -u
daemon_bin=$1 cli_bin=$2
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
dir=$(mktemp -d /tmp/agp-service-socket-XXXXXX)
chmod 0755 "$dir"
name="svcsock-$$"
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
	rm -f "/run/agentperf/$name.sock" "/dev/shm/agentperf.$name"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$dir/daemon.log" ] && { echo "--- daemon.log"; cat "$dir/daemon.log"; }
	exit 1
}
wait_for() { # SECONDS COMMAND...
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}
stop_daemon() {
	kill "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
}

# 1: the system service's socket, found after the CLI's own default.
mkdir -p /run/agentperf "$dir/xdg"
(cd "$dir" && exec "$daemon_bin" --name "$name" --socket "/run/agentperf/$name.sock" \
	--unlink-on-exit 2>"$dir/daemon.log") &
daemon_pid=$!
wait_for 10 test -S "/run/agentperf/$name.sock" || fail "no socket"
env XDG_RUNTIME_DIR="$dir/xdg" "$cli_bin" --name "$name" status >"$dir/status.out" 2>&1 ||
	fail "the CLI did not find /run/agentperf/$name.sock: $(cat "$dir/status.out")"
if env AGENTPERF_SOCKET_DIR="$dir/xdg" "$cli_bin" --name "$name" status >"$dir/status.out" 2>&1; then
	fail "with AGENTPERF_SOCKET_DIR the CLI still went to /run/agentperf"
fi
grep -q "$dir/xdg/$name.sock" "$dir/status.out" || fail "the error names $(cat "$dir/status.out")"
stop_daemon
echo "the service's socket: found after the CLI's own default, not past AGENTPERF_SOCKET_DIR"

# 2: a daemon of uid 65534: root gets in, uid 65533 does not.
mkdir -m 0755 "$dir/nobody" "$dir/nobody/sock"
chown 65534:65534 "$dir/nobody" "$dir/nobody/sock"
(cd "$dir/nobody" && exec setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$daemon_bin" --name "$name" --socket "$dir/nobody/sock/c.sock" --unlink-on-exit \
	2>"$dir/daemon.log") &
daemon_pid=$!
wait_for 10 test -S "$dir/nobody/sock/c.sock" || fail "no socket of the uid 65534 daemon"
chmod 0711 "$dir/nobody/sock" # so that uid 65533 reaches the daemon's own check
chmod 0777 "$dir/nobody/sock/c.sock"
"$cli_bin" --socket "$dir/nobody/sock/c.sock" status >"$dir/status.out" 2>&1 ||
	fail "root refused by a uid 65534 daemon: $(cat "$dir/status.out")"
if setpriv --reuid 65533 --regid 65533 --clear-groups "$cli_bin" --socket "$dir/nobody/sock/c.sock" \
	status >"$dir/status.out" 2>&1; then
	fail "uid 65533 got into a uid 65534 daemon"
fi
grep -q "refused: uid 65533" "$dir/status.out" || fail "uid 65533: $(cat "$dir/status.out")"
stop_daemon
echo "a uid 65534 daemon: root served, uid 65533 refused with the reason"
exit 0
