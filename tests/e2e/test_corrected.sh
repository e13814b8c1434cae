#!/bin/bash
# Raw and coordinated-omission corrected histograms in every output that shows a distribution.
# A workload with stalls (coordination_overhead with an expected interval of 10 ms from the
# config: 2 ms samples, a few near the interval, and four stalls of 250 ms .. 1 s) is recorded
# by an agent that prints each sample its ring took (the witness). From that list the test
# computes by itself, with HdrHistogram's rule (a value v also counts v - I, v - 2I, ... while
# that is at least I), the corrected samples; then
#   - `stats --json` and `stats --corrected --json` count the raw and the corrected samples and
#     say which histogram they show ("histogram"), as the table's heading line does;
#   - `hlog --corrected` tags the corrected series <type>/<metric>:corrected, `hlog` the raw
#     one <type>/<metric>; with --metric and --agent-type the lines are untagged; each
#     decodes (tests/interop/hlog_stats.c) to the witness' counts;
#   - `stats --hgrm --corrected` totals the corrected count and says so in its first line;
#   - /metrics passes `promtool check metrics` and has both families, the raw one with the
#     raw count and agentperf_corrected_duration_seconds with the corrected count;
#   - the HTML report draws both curves on the metric's plot, and their data (count, and
#     each percentile's value) match the sorted witness lists within the HDR precision;
#   - the text report, validate and the CI export say their figures are raw;
#   - the collector's interval log, read after its stop with `hlog --files --corrected`.
# Usage: test_corrected.sh AGENTPERFD AGENTPERF UNIT_AGENT HLOG_STATS
# Exit 77 (skipped) when python3, curl or promtool (Debian's prometheus) is missing.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3 hlog_stats=$4
for tool in python3 curl promtool; do
	command -v $tool >/dev/null 2>&1 || { echo "$tool missing: skipped"; exit 77; }
done

dir=$(mktemp -d /tmp/agp-corrected-XXXXXX)
name="corrected-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/daemon.log" ] && cat "$dir/daemon.log"; exit 1; }
cli() { "$cli_bin" -n "$name" "$@"; }

cd "$dir" || exit 1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > config.json <<JSON
{"monitoring": {"storage_dir": "$dir/storage"},
 "metrics": {"coordination_overhead": {"expected_interval_ms": 10}}}
JSON
"$daemon_bin" --name "$name" --config "$dir/config.json" --http "127.0.0.1:$port" \
	--unlink-on-exit > daemon.log 2>&1 &
daemon_pid=$!
i=0
until cli status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "agentperfd did not answer"; sleep 0.05
done

# The workload, in ns: 500 samples of 2 ms, 10/15/20/25 ms around the interval, 4 stalls.
values=$(python3 -c 'print(" ".join([str(2000000)] * 500 + [str(v * 1000000) for v in (10, 15, 20, 25, 250, 500, 750, 1000)]))')
# shellcheck disable=SC2086
"$agent_bin" "$name" worker w1 coordination_overhead nanoseconds 0 $values > recorded.txt ||
	fail "the agent"
# A second agent type, so that the unselected series must be left out.
"$agent_bin" "$name" reviewer r1 coordination_overhead nanoseconds 0 3000000 40000000 \
	> reviewer.txt || fail "the reviewer agent"

# What HdrHistogram's correction gives, computed here from the witness alone.
python3 - recorded.txt > expected.txt <<'PY' || fail "the witness"
import sys
interval = 10_000_000
raw = [int(line.split()[2]) for line in open(sys.argv[1]) if line.startswith("recorded ")]
corrected = list(raw)
for v in raw:
    missing = v - interval
    while missing >= interval:  # the samples a stalled recorder did not take
        corrected.append(missing)
        missing -= interval
print(len(raw), len(corrected))
PY
read -r raw_count corrected_count < expected.txt
[ "$raw_count" = 508 ] || fail "the agent recorded $raw_count samples, not 508"
[ "$corrected_count" -gt "$raw_count" ] || fail "the stalls add no corrected samples"
echo "witness: $raw_count raw samples, $corrected_count corrected"

count_of() { # stats arguments... -> the series' count and its "histogram"
	cli --json stats --metric coordination_overhead --agent-type worker "$@" |
		python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["series"][0]; print(s["count"], s["histogram"], r["histogram"])'
}
i=0
until [ "$(count_of | cut -d' ' -f1)" = "$raw_count" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "stats never counted $raw_count samples"; sleep 0.05
done
[ "$(count_of)" = "$raw_count raw raw" ] || fail "stats: $(count_of)"
[ "$(count_of --corrected)" = "$corrected_count corrected corrected" ] ||
	fail "stats --corrected: $(count_of --corrected), expected $corrected_count"
cli stats --metric coordination_overhead | head -1 | grep -q '^raw histograms' ||
	fail "stats: no heading saying raw"
cli stats --metric coordination_overhead --corrected | head -1 |
	grep -q '^coordinated-omission corrected histograms' || fail "stats --corrected: no heading"

# hlog: tags name the histogram; one series selected gives untagged lines.
cli hlog --corrected > all-corrected.hlog || fail "hlog --corrected"
grep -q '^Tag=worker/coordination_overhead:corrected,' all-corrected.hlog || fail "no corrected tag"
grep -q '^Tag=worker/coordination_overhead,' all-corrected.hlog && fail "hlog --corrected has raw lines"
[ "$("$hlog_stats" all-corrected.hlog worker/coordination_overhead:corrected | cut -d' ' -f1)" = \
	"$corrected_count" ] || fail "hlog --corrected: the corrected series does not count $corrected_count"
cli hlog > all-raw.hlog || fail "hlog"
grep -q ':corrected' all-raw.hlog && fail "hlog without --corrected has corrected lines"
[ "$("$hlog_stats" all-raw.hlog worker/coordination_overhead | cut -d' ' -f1)" = "$raw_count" ] ||
	fail "hlog: the raw series does not count $raw_count"
for kind in raw corrected; do
	flag=; expected=$raw_count; words="raw histogram"
	[ $kind = corrected ] && flag=--corrected && expected=$corrected_count &&
		words="coordinated-omission corrected histogram"
	cli hlog --metric coordination_overhead --agent-type worker $flag > one-$kind.hlog ||
		fail "hlog of one $kind series"
	grep -q '^Tag=' one-$kind.hlog && fail "hlog of one $kind series is tagged"
	grep -q "^#agentperf hlog export, coordination_overhead of agent type worker: $words" \
		one-$kind.hlog || fail "the one-series $kind log does not say what it holds: $(head -2 one-$kind.hlog)"
	[ "$("$hlog_stats" one-$kind.hlog - | cut -d' ' -f1)" = "$expected" ] ||
		fail "the untagged $kind log does not count $expected"
done

# stats --hgrm: the corrected table, and its first line says so.
cli stats --hgrm --metric coordination_overhead --agent-type worker --corrected > corrected.hgrm ||
	fail "stats --hgrm --corrected"
head -1 corrected.hgrm | grep -q 'coordinated-omission corrected histogram' ||
	fail "stats --hgrm --corrected: $(head -1 corrected.hgrm)"
grep -q "Total count    = $(printf '%12d' "$corrected_count")]" corrected.hgrm ||
	fail "stats --hgrm --corrected: $(tail -2 corrected.hgrm)"
cli stats --hgrm --metric coordination_overhead --agent-type worker | head -1 | grep -q 'raw histogram' ||
	fail "stats --hgrm: no raw label"
cli stats --hgrm --metric task_execution_time --corrected > /dev/null 2> nocorr.txt &&
	fail "stats --hgrm --corrected of a metric without an expected interval succeeded"
grep -q 'expected interval' nocorr.txt || fail "no reason given: $(cat nocorr.txt)"

# /metrics: promtool finds nothing; the raw family unchanged, the corrected one beside it.
curl -sf "http://127.0.0.1:$port/metrics" -o metrics.txt || fail "GET /metrics"
promtool check metrics < metrics.txt > promtool.txt 2>&1 || fail "promtool: $(cat promtool.txt)"
[ -s promtool.txt ] && fail "promtool findings: $(cat promtool.txt)"
for family in agentperf_duration_seconds agentperf_corrected_duration_seconds; do
	grep -q "^# TYPE $family histogram$" metrics.txt || fail "no histogram family $family"
	grep -q "^# HELP $family " metrics.txt || fail "no HELP of $family"
done
grep -q '^# HELP agentperf_corrected_duration_seconds .*coordinated omission' metrics.txt ||
	fail "the corrected family's HELP does not say what it is"
series='{agent_type="worker",metric="coordination_overhead"}'
grep -qxF "agentperf_duration_seconds_count$series $raw_count" metrics.txt ||
	fail "raw family: $(grep "_count$series" metrics.txt)"
grep -qxF "agentperf_corrected_duration_seconds_count$series $corrected_count" metrics.txt ||
	fail "corrected family: $(grep "_count$series" metrics.txt)"
grep -q '^agentperf_corrected_duration_seconds_count{agent_type="worker",metric="task_' metrics.txt &&
	fail "a metric without an expected interval has a corrected series"

# The HTML report: both curves on coordination_overhead's plot, their data the witness'.
cli report --html report.html || fail "report --html"
cli report | grep -q '^histogram  *raw' || fail "the text report does not say which histogram"
cli validate | grep -q '^histogram  *raw' || fail "validate does not say which histogram"
cli export --ci ci.json > /dev/null 2>&1 # exit 1: the stalls violate the requirement
python3 -c 'import json,sys; sys.exit(json.load(open("ci.json"))["coordination_overhead_histogram"] != "raw")' ||
	fail "the CI export does not say which histogram its percentiles come from"
python3 - report.html recorded.txt reviewer.txt <<'PY' || fail "report.html"
import math, re, sys
html = open(sys.argv[1]).read()
interval = 10_000_000
raw = []
for path in sys.argv[2:]:
    raw += [int(l.split()[2]) for l in open(path) if l.startswith("recorded ")]
corrected = list(raw)
for v in raw:
    m = v - interval
    while m >= interval:
        corrected.append(m)
        m -= interval
section = html.split("<h2>coordination_overhead</h2>")[1].split("<h2>")[0]
curves = {m.group(1): (int(m.group(2)), m.group(3)) for m in re.finditer(
    r'<polyline class="distribution" data-histogram="(\w+)" data-count="(\d+)" '
    r'data-points="([^"]*)"', section)}
assert set(curves) == {"raw", "corrected"}, f"curves on the plot: {sorted(curves)}"
assert "raw (as recorded)" in section and "corrected for coordinated omission" in section, \
    "the curves are not labelled"
for kind, values in (("raw", raw), ("corrected", corrected)):
    values.sort()
    n = len(values)
    count, points = curves[kind]
    assert count == n, f"{kind}: the curve has {count} samples, the witness {n}"
    checked = 0
    for point in points.split():
        p, v = (float(x) for x in point.split(":"))
        # The sample of that rank, ranks rounded either way; HDR keeps 3 digits (0.1 %).
        low = values[max(0, math.floor(p / 100 * n) - 1)]
        high = values[min(n - 1, math.ceil(p / 100 * n))]
        assert low * 0.999 <= v <= high * 1.001 + 1, \
            f"{kind}: p{p} is {v} on the plot, the sorted samples say {low}..{high}"
        checked += 1
    assert checked > 10, f"{kind}: only {checked} points"
    print(f"{kind}: {n} samples, {checked} points match the sorted witness")
PY

# The collector's own interval log has both series too: after a clean stop (which writes the
# open window) `hlog --files --corrected` reads the corrected one back.
kill "$daemon_pid" && wait "$daemon_pid"
daemon_pid=
cli hlog --files --storage "$dir/storage" --metric coordination_overhead --agent-type worker \
	--corrected > files-corrected.hlog || fail "hlog --files --corrected"
[ "$("$hlog_stats" files-corrected.hlog - | cut -d' ' -f1)" = "$corrected_count" ] ||
	fail "the collector's file does not hold the $corrected_count corrected samples"
grep -q '^Tag=worker/coordination_overhead:corrected,' "$dir/storage/hlog/agentperf.hlog" ||
	fail "the collector's file has no corrected tag"
echo "PASS"
