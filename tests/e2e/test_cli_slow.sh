#!/bin/sh
# The HTML report rendered by headless Chromium to a PNG, and `agentperf top`
# driven in tmux (80x24) with its screen read back. Labelled slow.
# Usage: test_cli_slow.sh AGENTPERFD AGENTPERF CLI_AGENT
# Exit 77 (skipped) when chromium or tmux is missing. AGP_KEEP_PNG=DIR copies the
# rendered PNG and the HTML there for a look.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3
command -v tmux >/dev/null 2>&1 || { echo "tmux missing: skipped"; exit 77; }
chromium_bin=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium_bin" ] || { echo "chromium missing: skipped"; exit 77; }

dir=$(mktemp -d /tmp/agp-cli-slow-XXXXXX)
name="clislow-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
tmux_socket="agp-test-$$"
daemon_pid=
cleanup() {
	tmux -L "$tmux_socket" kill-server >/dev/null 2>&1
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
[ -n "${AGP_KEEP_PNG:-}" ] && trap "cp \"$dir/report.png\" \"$dir/report.html\" $AGP_KEEP_PNG/ 2>/dev/null; cleanup" EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/daemon.log" ] && cat "$dir/daemon.log"; exit 1; }

cd "$dir" || exit 1
printf '{"monitoring": {"storage_dir": "%s/storage"}}\n' "$dir" > config.json
"$daemon_bin" --name "$name" --config "$dir/config.json" --unlink-on-exit > daemon.log 2>&1 &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "agentperfd did not answer"; sleep 0.05
done
"$agent_bin" "$name" worker w1 0 200 500000 0 >/dev/null || fail "agent"
"$agent_bin" "$name" worker w2 1 50 40000000 0 >/dev/null || fail "agent"
"$cli_bin" -n "$name" baseline establish --min-samples 100 >/dev/null || fail "baseline"

# The HTML report, rendered.
"$cli_bin" -n "$name" report --html "$dir/report.html" || fail "report --html"
timeout 60 "$chromium_bin" --headless --no-sandbox --disable-gpu --screenshot="$dir/report.png" \
	--window-size=1200,900 --disable-background-networking --no-first-run \
	--user-data-dir="$dir/chromium" "file://$dir/report.html" >chromium.log 2>&1
[ -s "$dir/report.png" ] || { cat chromium.log; fail "no PNG"; }
size=$(stat -c %s "$dir/report.png")
# The PNG header holds width and height (bytes 16..23, big-endian).
dims=$(od -An -tu1 -j16 -N8 "$dir/report.png" | tr -s ' ' | sed 's/^ //')
set -- $dims
width=$(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 ))
height=$(( ($5 << 24) | ($6 << 16) | ($7 << 8) | $8 ))
echo "report.png: $size bytes, ${width}x${height}"
[ "$width" -eq 1200 ] && [ "$height" -eq 900 ] || fail "PNG is ${width}x${height}, not 1200x900"
# A blank or broken page compresses to a few KB; plots, text and tables make tens of KB.
[ "$size" -gt 20000 ] || fail "PNG of $size bytes looks empty"
[ "$size" -lt 5000000 ] || fail "PNG of $size bytes is implausibly large"

# top in an 80x24 terminal.
tmux -L "$tmux_socket" new-session -d -x 80 -y 24 -s top \
	"AGENTPERF_SOCKET_DIR=$AGENTPERF_SOCKET_DIR $cli_bin -n $name top; echo exited-\$?; sleep 5"
sleep 2.5
screen=$(tmux -L "$tmux_socket" capture-pane -p -t top)
echo "$screen"
echo "$screen" | grep -q "agentperf top - $name" || fail "top header missing"
echo "$screen" | grep -q "coordination_overhead" || fail "top lacks coordination_overhead"
echo "$screen" | grep -q "task_execution_time" || fail "top lacks task_execution_time"
echo "$screen" | grep -q "recent alerts" || fail "top lacks the alerts"
lines=$(echo "$screen" | awk 'length > 80' | wc -l)
[ "$lines" -eq 0 ] || fail "top wrote lines wider than 80 columns"
tmux -L "$tmux_socket" send-keys -t top q
sleep 0.5
tmux -L "$tmux_socket" capture-pane -p -t top | grep -q "exited-0" || fail "top did not quit on q"
echo "ok"
