#!/bin/sh
# The metric's unit in every output that shows an alert's value: a custom count
# metric (queue_depth), a custom bytes metric (heap_bytes) and a duration
# (coordination_overhead) raise one alert each against thresholds from the
# config (a count metric given thresholds in ms has them refused, and raises
# nothing); the daemon's stderr line, alerts.jsonl, `agentperf alerts` (text and
# --json), `agentperf top` (in tmux, 80x24) and the report (JSON and HTML) must
# show each value in its own unit. The witness is what the agents say they
# recorded ("recorded METRIC VALUE").
# Usage: test_alert_units.sh AGENTPERFD AGENTPERF UNIT_AGENT
# Exit 77 (skipped) when tmux or python3 is missing.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3
for tool in tmux python3; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool missing: skipped"; exit 77; }
done

dir=$(mktemp -d /tmp/agp-alert-units-XXXXXX)
name="alertunits-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
tmux_socket="agp-units-$$"
daemon_pid=
cleanup() {
	tmux -L "$tmux_socket" kill-server >/dev/null 2>&1
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/daemon.log" ] && cat "$dir/daemon.log"; exit 1; }

cd "$dir" || exit 1
cat > config.json <<JSON
{"monitoring": {"storage_dir": "$dir/storage"},
 "metrics": {"queue_depth": {"warning": 10, "critical": 100},
             "heap_bytes": {"warning_mb": 1, "critical_mb": 4},
             "wrong_unit": {"warning_ms": 1}}}
JSON
"$daemon_bin" --name "$name" --config "$dir/config.json" --unlink-on-exit > daemon.log 2>&1 &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "agentperfd did not answer"; sleep 0.05
done

# A count against thresholds in ms: refused when the metric is resolved, before its sample counts.
"$agent_bin" "$name" unitw u1 wrong_unit count 200 5000000 > wrong.txt || fail "agent wrong_unit"
grep -qx "recorded wrong_unit 5000000" wrong.txt || fail "wrong_unit not recorded"
refusal="agentperfd: WARNING - config: metrics.wrong_unit: thresholds in ms, but the metric is registered in count: its thresholds are ignored"
i=0
until grep -qxF "$refusal" daemon.log; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "no refusal of wrong_unit's thresholds"; sleep 0.05
done

# 42 is above the warning (10), 3.5 MiB above 1 MiB, 250.5 ms above the default critical 200 ms.
"$agent_bin" "$name" unitw u1 queue_depth count 200 42 > recorded.txt || fail "agent queue_depth"
"$agent_bin" "$name" unitw u1 heap_bytes bytes 200 3670016 >> recorded.txt || fail "agent heap_bytes"
"$agent_bin" "$name" unitw u1 coordination_overhead nanoseconds 200 250500000 >> recorded.txt ||
	fail "agent coordination_overhead"
[ "$(wc -l < recorded.txt)" -eq 3 ] || { cat recorded.txt; fail "the agents did not record 3 samples"; }

# Wait for the three alerts (one per metric and level; the cooldown holds any repeat).
i=0
until [ "$("$cli_bin" -n "$name" alerts --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]))')" = 3 ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "3 alerts not raised"; sleep 0.05
done
"$cli_bin" -n "$name" alerts --json > alerts.json || fail "alerts --json"
"$cli_bin" -n "$name" alerts > alerts.txt || fail "alerts"
"$cli_bin" -n "$name" report --json "$dir/report.json" --html "$dir/report.html" || fail "report"
cat alerts.txt

# The stderr line: the seed's form, each value in the metric's seed unit.
i=0
until [ "$(grep -c 'Performance threshold violation' daemon.log)" -ge 3 ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "3 alert lines not logged"; sleep 0.05
done
for line in \
	"Performance threshold violation: queue_depth = 42 (Level: warning) agent_type=unitw agent=u1 task_id=1 threshold=10" \
	"Performance threshold violation: heap_bytes = 3.5MB (Level: warning) agent_type=unitw agent=u1 task_id=1 threshold=1.0MB" \
	"Performance threshold violation: coordination_overhead = 250.5ms (Level: critical) agent_type=unitw agent=u1 task_id=1 threshold=200.0ms"; do
	grep -qF "$line" daemon.log || fail "stderr lacks: $line"
done

# alerts.jsonl, alerts --json and the report's threshold_violations, against what was recorded.
python3 - recorded.txt storage/alerts.jsonl alerts.json report.json <<'PY' || fail "JSON outputs"
import json, sys
recorded = {}
for line in open(sys.argv[1]):
    word, metric, value = line.split()
    recorded[metric] = int(value)
MiB = 1048576
# metric: (unit, threshold on the wire, seed keys: {key: value}, message value, report unit)
expected = {
    "queue_depth": ("count", 10, {}, "42", "count", 1),
    "heap_bytes": ("bytes", 1 * MiB, {"value_mb": recorded["heap_bytes"] / MiB, "threshold_mb": 1.0}, "3.5MB", "MB", MiB),
    "coordination_overhead": ("nanoseconds", 200000000, {"value_ms": recorded["coordination_overhead"] / 1e6, "threshold_ms": 200.0}, "250.5ms", "ms", 1e6),
}
seed_keys = {"value_ms", "threshold_ms", "value_mb", "threshold_mb"}
levels = {"queue_depth": "warning", "heap_bytes": "warning", "coordination_overhead": "critical"}
def check_alert(alert, where):
    metric = alert["metric"]
    unit, threshold, seed, shown, _, _ = expected[metric]
    problems = []
    if alert["unit"] != unit: problems.append(f"unit {alert['unit']!r}, expected {unit!r}")
    if alert["value"] != recorded[metric]: problems.append(f"value {alert['value']}, recorded {recorded[metric]}")
    if alert["threshold"] != threshold: problems.append(f"threshold {alert['threshold']}, expected {threshold}")
    for key in seed_keys:
        if key in seed and alert.get(key) != seed[key]: problems.append(f"{key} {alert.get(key)}, expected {seed[key]}")
        if key not in seed and key in alert: problems.append(f"{key} present for a {unit} metric")
    message = f"Performance threshold violation: {metric} = {shown} (Level: {levels[metric]})"
    if alert["message"] != message: problems.append(f"message {alert['message']!r}")
    if problems: sys.exit(f"{where}: {metric}: " + "; ".join(problems))
lines = [json.loads(l) for l in open(sys.argv[2])]
answered = json.load(open(sys.argv[3]))["alerts"]
for where, alerts in (("alerts.jsonl", lines), ("alerts --json", answered)):
    if sorted(a["metric"] for a in alerts) != sorted(expected): sys.exit(f"{where}: metrics {[a['metric'] for a in alerts]}")
    for alert in alerts: check_alert(alert, where)
if lines != answered: sys.exit("alerts.jsonl and alerts --json differ")
report = json.load(open(sys.argv[4]))
violations = report["threshold_violations"]
if sorted(v["metric"] for v in violations) != sorted(expected): sys.exit(f"report: metrics {[v['metric'] for v in violations]}")
for v in violations:
    metric = v["metric"]
    unit, threshold, _, shown, report_unit, divisor = expected[metric]
    if v["unit"] != report_unit or v["value"] != recorded[metric] / divisor or v["threshold"] != threshold / divisor:
        sys.exit(f"report: {metric}: unit {v['unit']} value {v['value']} threshold {v['threshold']}")
    if v["message"] != f"Performance threshold violation: {metric} = {shown} (Level: {levels[metric]})":
        sys.exit(f"report: {metric}: message {v['message']!r}")
print("JSON outputs: ok")
PY

# agentperf alerts: values for people in the metric's unit.
grep -Eq "queue_depth = 42 \(threshold 10\)" alerts.txt || fail "alerts text: queue_depth"
grep -Eq "heap_bytes = 3\.5 MiB \(threshold 1\.0 MiB\)" alerts.txt || fail "alerts text: heap_bytes"
grep -Eq "coordination_overhead = 250\.50 ms \(threshold 200\.00 ms\)" alerts.txt ||
	fail "alerts text: coordination_overhead"

# The HTML report: the alerts table, the statistics rows and the plots' threshold lines.
grep -q "<td>queue_depth</td><td>unitw</td><td>u1</td><td>42</td><td>10</td>" report.html ||
	fail "report.html: queue_depth alert"
grep -q "<td>heap_bytes</td><td>unitw</td><td>u1</td><td>3.5 MiB</td><td>1.0 MiB</td>" report.html ||
	fail "report.html: heap_bytes alert"
grep -q "<td>coordination_overhead</td><td>unitw</td><td>u1</td><td>250.50 ms</td><td>200.00 ms</td>" report.html ||
	fail "report.html: coordination_overhead alert"
grep -q "<tr><td>unitw</td><td>1</td><td>42</td>" report.html || fail "report.html: queue_depth statistics"
grep -q "<tr><td>unitw</td><td>1</td><td>3.5 MiB</td>" report.html || fail "report.html: heap_bytes statistics"
grep -q ">warning 10 count<" report.html || fail "report.html: queue_depth's warning line"
grep -q ">warning 1 MiB<" report.html || fail "report.html: heap_bytes's warning line"

# top: the series rows' p50/p99 and the alert rows, each in its unit.
tmux -L "$tmux_socket" new-session -d -x 80 -y 24 -s top \
	"AGENTPERF_SOCKET_DIR=$AGENTPERF_SOCKET_DIR $cli_bin -n $name top; echo exited-\$?; sleep 5"
i=0
screen=
until echo "$screen" | grep -q "^#.*coordination_overhead"; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "$screen"; fail "top did not show the alerts"; }
	sleep 0.1
	screen=$(tmux -L "$tmux_socket" capture-pane -p -t top)
done
echo "$screen"
echo "$screen" | grep -Eq "^unitw +queue_depth +[-0-9.]+ +42 +42 " || fail "top: queue_depth row"
echo "$screen" | grep -Eq "^unitw +heap_bytes +[-0-9.]+ +3\.5 MiB +3\.5 MiB " || fail "top: heap_bytes row"
echo "$screen" | grep -Eq "^#[0-9]+ +warning +queue_depth +unitw +42 *$" || fail "top: queue_depth alert"
echo "$screen" | grep -Eq "^#[0-9]+ +warning +heap_bytes +unitw +3\.5 MiB *$" || fail "top: heap_bytes alert"
echo "$screen" | grep -Eq "^#[0-9]+ +critical +coordination_overhead +unitw +250\.50 ms *$" ||
	fail "top: coordination_overhead alert"
tmux -L "$tmux_socket" send-keys -t top q
echo "ok"
