#!/bin/bash
# [multiprocess] `agentperf top` driven in tmux at 60x12 and 200x50 with its
# screen read back: no line wider than the terminal, a long agent type cut with
# an ellipsis on the narrow screen and whole on the wide one, the wide one's
# extra columns, and a collector that goes away said inside the screen (over
# its last answer), not over it; q quits with status 0.
# Usage: test_top.sh AGENTPERFD AGENTPERF CLI_AGENT. Exit 77 without tmux.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3
command -v tmux >/dev/null 2>&1 || { echo "tmux missing: skipped"; exit 77; }
dir=$(mktemp -d /tmp/agp-top-XXXXXX)
name="top-$$"
type="very-long-agent-type-xyz" # 24 columns: cut at 60, whole at 200
export AGENTPERF_SOCKET_DIR="$dir/sock"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
tmux_socket="agp-top-$$"
daemon_pid=
cleanup() {
	tmux -L "$tmux_socket" kill-server >/dev/null 2>&1
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
	rm -f "/dev/shm/agentperf.$name"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- screen"
	tmux -L "$tmux_socket" capture-pane -p -t "$session" 2>/dev/null
	exit 1
}
cd "$dir" || exit 1
printf '{"monitoring": {"storage_dir": "%s/storage"}}\n' "$dir" >config.json
"$daemon_bin" --name "$name" --config "$dir/config.json" --unlink-on-exit >daemon.log 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do "$cli_bin" -n "$name" status >/dev/null 2>&1 && break; sleep 0.05; done
"$cli_bin" -n "$name" status >/dev/null 2>&1 || fail "agentperfd did not answer"
"$agent_bin" "$name" "$type" w1 0 300 500000 0 >/dev/null || fail "agent"
"$agent_bin" "$name" worker w2 1 50 40000000 0 >/dev/null || fail "agent"

screen() { tmux -L "$tmux_socket" capture-pane -p -t "$session"; }
# wait_screen SECONDS PATTERN: until the screen holds PATTERN (grep -E).
wait_screen() {
	local deadline=$((SECONDS + $1))
	until screen | grep -qE "$2"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}
start_top() { # COLUMNS ROWS
	session="top$1x$2"
	tmux -L "$tmux_socket" -u new-session -d -x "$1" -y "$2" -s "$session" \
		"LANG=C.UTF-8 AGENTPERF_SOCKET_DIR=$AGENTPERF_SOCKET_DIR $cli_bin -n $name top; echo exited-\$?; sleep 30"
	wait_screen 10 "coordination_o" || fail "top at $1x$2 shows no series"
}
check_width() { # COLUMNS
	local widest
	widest=$(screen | wc -L)
	[ "$widest" -le "$1" ] || fail "a line of $widest columns on a $1-column screen"
}
quit_top() {
	tmux -L "$tmux_socket" send-keys -t "$session" q
	wait_screen 5 "exited-0" || fail "top did not quit with 0 on q"
	tmux -L "$tmux_socket" kill-session -t "$session"
}

start_top 60 12
check_width 60
screen | grep -q "agentperf top - $name" || fail "no header at 60x12"
screen | grep -q "very-lo…" || fail "the long type is not cut with an ellipsis at 60x12"
screen | grep -q "$type" && fail "the 24-column type is whole at 60x12"
screen | grep -q "recent alerts" || fail "no alerts at 60x12"
echo "60x12: fits, type cut with an ellipsis"
quit_top

start_top 200 50
check_width 200
screen | grep -q "$type" || fail "the type is not whole at 200x50"
screen | grep -qE "P95 +P99 +MAX +DROPS" || fail "no P95/MAX/DROPS columns at 200x50"
screen | grep -q "task_execution_time" || fail "the second series is missing at 200x50"
echo "200x50: fits, type whole, P95 and MAX shown"

# The collector goes away: said on the second line, over its last answer.
kill "$daemon_pid"
wait "$daemon_pid"
daemon_pid=
wait_screen 10 "collector unreachable at .* for [0-9]+ s" || fail "the collector's absence is not shown"
screen | sed -n 1p | grep -q "agentperf top - $name" || fail "the last answer's header is gone"
screen | grep -q "coordination_overhead" || fail "the last answer's table is gone"
check_width 200
echo "collector gone: said inside the screen, the last answer kept"
quit_top
exit 0
