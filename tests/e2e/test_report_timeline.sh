#!/bin/bash
# [multiprocess] The HTML report's time series: two 1 s windows of result_processing, each
# filled by one batch of known values (the witness: batch A is 10 us .. 2 ms, batch B 100 ns
# .. 20 us, 200 samples each), started where the deployment clock (CLOCK_MONOTONIC) is early
# in a second so that each batch lies in one window. The timeline's p50 and p99 per window
# must be those of the sorted batch within the histogram's precision; the values span more
# than two decades, so both plots of the metric use a log axis; batch A crosses the
# critical threshold (1.5 ms), and the alert is marked inside A's window; the time labels
# do not overlap.
# Usage: test_report_timeline.sh AGENTPERFD AGENTPERF CLI_AGENT
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skipped"; exit 77; }
dir=$(mktemp -d /tmp/agp-timeline-XXXXXX)
name="timeline-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$dir/daemon.log" ] && cat "$dir/daemon.log"
	exit 1
}
cd "$dir" || exit 1
cat >config.json <<JSON
{"monitoring": {"storage_dir": "$dir/storage", "aggregation_window_seconds": 1},
 "metrics": {"result_processing": {"warning_ms": 1, "critical_ms": 1.5}}}
JSON
"$daemon_bin" --name "$name" --config "$dir/config.json" --unlink-on-exit >daemon.log 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do "$cli_bin" -n "$name" status >/dev/null 2>&1 && break; sleep 0.05; done
"$cli_bin" -n "$name" status >/dev/null 2>&1 || fail "agentperfd did not answer"

# A batch, started 0.1 .. 0.4 s into a second of CLOCK_MONOTONIC (a window's start) other
# than the one given: the wait is on the clock, up to 5 s.
early_in_a_second() {
	python3 - "${1:--1}" <<'PY'
import sys, time
not_this, deadline = int(sys.argv[1]), time.monotonic() + 5
while time.monotonic() < deadline:
    now = time.clock_gettime(time.CLOCK_MONOTONIC)
    if 0.1 <= now % 1 <= 0.4 and int(now) != not_this:
        print(int(now))
        sys.exit(0)
    time.sleep(0.02)
sys.exit(1)
PY
}
second_a=$(early_in_a_second) || fail "no early point in a second within 5 s"
"$agent_bin" "$name" worker a 3 200 10000 0 >/dev/null || fail "batch A"
second_b=$(early_in_a_second "$second_a") || fail "no early point in another second within 5 s"
"$agent_bin" "$name" worker b 3 200 100 0 >/dev/null || fail "batch B"
[ "$second_a" != "$second_b" ] || fail "both batches in second $second_a"

"$cli_bin" -n "$name" report --html "$dir/report.html" || fail "report --html"
python3 - "$dir/report.html" <<'PY' || fail "the timeline"
import re, sys
html = open(sys.argv[1]).read()
section = html[html.index("<h2>result_processing</h2>"):]
section = section[: section.find("<h2>", 4) if section.find("<h2>", 4) > 0 else len(section)]
plots = re.findall(r"<svg.*?</svg>", section, re.S)
assert len(plots) >= 2, f"{len(plots)} plots for result_processing"
distribution, timeline = plots[0], plots[1]
assert 'class="timeline"' in timeline
for plot in (distribution, timeline):
    assert "log scale" in plot, "values across three decades, but a linear axis"
def witness(step, percentile):
    values = sorted(step * i for i in range(1, 201))
    return values[max(0, -(-len(values) * percentile // 100) - 1)]
lines = {}
for p, points in re.findall(r'data-percentile="([0-9.]+)" data-points="([^"]*)"', timeline):
    lines[float(p)] = [(float(s), float(v)) for s, v in (x.split(":") for x in points.split())]
assert sorted(lines) == [50.0, 99.0], lines.keys()
assert len(lines[50]) == 2, f"{len(lines[50])} windows, wanted 2 (one per batch)"
for index, step in ((0, 10000), (1, 100)):
    for p in (50, 99):
        got, want = lines[p][index][1], witness(step, p)
        assert abs(got - want) <= want * 0.002, f"p{p} of window {index}: {got}, wanted {want}"
alerts = [float(t) for t in re.findall(r'class="alert" data-time="([0-9.]+)"', timeline)]
start_a, start_b = lines[50][0][0], lines[50][1][0]
assert any(start_a <= t < start_b + 0.5 for t in alerts), f"no alert marked near window A: {alerts}"
xs = [float(x) for x in re.findall(r'<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle">[0-9:]+</text>', timeline)]
assert all(b - a >= 60 for a, b in zip(xs, xs[1:])), f"time labels too close: {xs}"
print(f"timeline: 2 windows, p50 {lines[50][0][1]:.0f} and {lines[50][1][1]:.0f} ns, {len(alerts)} alert(s), log axes")
PY
