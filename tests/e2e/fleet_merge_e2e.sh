#!/bin/bash
# [multiprocess] Exact fleet merges: the same samples recorded split over four agentperfd
# ("hosts") and all of them into a fifth give identical figures in `agentperf fleet stats`
# (count, mean, min, max, p50/p95/p99/p99.9), whether it reads the hosts' GET /hlog
# (--from) or files saved from it (--files); the figures agree with a sorted copy of what the
# producers sent (count exact, percentiles and max within one HDR bucket), and the host that
# sent the slow samples is named as the tail's. Also: /hlog's refusals (400 with a sentence
# naming the parameter, 405), and a host that does not answer (exit 3, the others' figures).
# Usage: fleet_merge_e2e.sh BUILD_DIR
set -u
BUILD=$(cd "$1" && pwd)
CLI="$BUILD/tools/agentperf"
REC="$BUILD/tests/export_record"

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in curl python3; do
	command -v $tool >/dev/null || fail "$tool is needed"
done

WORK=$(mktemp -d /tmp/agp-fleet-merge.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Hosts 1..4 and "all" (index 0), each its own deployment, folder and port.
NAMES=() PORTS=()
for h in 0 1 2 3 4; do
	NAMES[h]="fleetmerge-$$-$h"
	PORTS[h]=$(free_port)
	mkdir -p "$WORK/host$h/.codexplus/performance"
	echo '{"monitoring":{"aggregation_window_seconds":1}}' \
		>"$WORK/host$h/.codexplus/performance/config.json"
	(cd "$WORK/host$h" && exec "$BUILD/collector/agentperfd" --name "${NAMES[h]}" \
		--http "127.0.0.1:${PORTS[h]}" --unlink-on-exit >daemon.log 2>&1 </dev/null) &
	PIDS[h]=$!
done
for h in 0 1 2 3 4; do
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:${PORTS[h]}/metrics" >/dev/null && break
		sleep 0.1
	done
	curl -sf "http://127.0.0.1:${PORTS[h]}/metrics" >/dev/null ||
		{ cat "$WORK/host$h/daemon.log" >&2; fail "host $h does not serve on ${PORTS[h]}"; }
done

# The samples: "host TYPE AGENT METRIC_ID FIRST STEP COUNT", arithmetic series; host 4 sends
# the slow ones (150 ms and up), so the tail above the fleet's p99 is its.
cat >"$WORK/plan" <<'PLAN'
1 worker w1 0 1012345 997 800
1 reviewer r1 1 5000000 7919 300
2 worker w2 0 2024690 1994 600
2 reviewer r2 1 7000000 3001 500
3 worker w3 0 3037035 2991 900
3 debugger d3 0 500000 13 400
4 worker w4 0 4049380 3988 700
4 worker w5 0 150000000 100000 90
PLAN
while read -r host type agent metric first step count; do
	timeout 30 "$REC" "${NAMES[host]}" "$type" "$agent" "$metric" "$first" "$step" "$count" ||
		fail "recording on host $host"
	timeout 30 "$REC" "${NAMES[0]}" "$type" "$agent" "$metric" "$first" "$step" "$count" ||
		fail "recording on the single host"
done <"$WORK/plan"
EXPECTED_CO=$(awk '$4 == 0 {n += $7} END {print n}' "$WORK/plan")
EXPECTED_TE=$(awk '$4 == 1 {n += $7} END {print n}' "$WORK/plan")

URLS=()
for h in 1 2 3 4; do URLS+=("http://127.0.0.1:${PORTS[h]}"); done
ALL="http://127.0.0.1:${PORTS[0]}"

count_of() { # JSON on stdin, metric -> its count ("" when absent)
	python3 -c 'import json,sys
m=[x for x in json.load(sys.stdin)["metrics"] if x["metric"]==sys.argv[1]]
print(m[0]["count"] if m else "")' "$1"
}
# Until every sample is drained and published (the snapshot is at most 250 ms old).
for _ in $(seq 100); do
	"$CLI" fleet stats --json --from "${URLS[@]}" >"$WORK/fleet.json" 2>"$WORK/fleet.err"
	"$CLI" fleet stats --json --from "$ALL" >"$WORK/single.json" 2>"$WORK/single.err"
	[ "$(count_of coordination_overhead <"$WORK/fleet.json")" = "$EXPECTED_CO" ] &&
		[ "$(count_of coordination_overhead <"$WORK/single.json")" = "$EXPECTED_CO" ] &&
		[ "$(count_of task_execution_time <"$WORK/fleet.json")" = "$EXPECTED_TE" ] &&
		[ "$(count_of task_execution_time <"$WORK/single.json")" = "$EXPECTED_TE" ] && break
	sleep 0.1
done
[ "$(count_of coordination_overhead <"$WORK/fleet.json")" = "$EXPECTED_CO" ] ||
	fail "fleet count $(count_of coordination_overhead <"$WORK/fleet.json"), sent $EXPECTED_CO: $(cat "$WORK/fleet.err")"
[ "$(count_of coordination_overhead <"$WORK/single.json")" = "$EXPECTED_CO" ] ||
	fail "single count, sent $EXPECTED_CO: $(cat "$WORK/single.err")"

# The same answers saved as files, merged offline.
FILES=()
for h in 1 2 3 4; do
	curl -sf "http://127.0.0.1:${PORTS[h]}/hlog" -o "$WORK/host$h.hlog" || fail "GET /hlog of host $h"
	FILES+=("$WORK/host$h.hlog")
done
"$CLI" fleet stats --json --files "${FILES[@]}" >"$WORK/files.json" || fail "fleet stats --files"
"$CLI" fleet stats --files "${FILES[@]}" >"$WORK/files.txt" || fail "fleet stats --files (text)"
cat "$WORK/files.txt"

python3 - "$WORK" "${URLS[3]}" <<'PY' || exit 1
import json, sys
work, slow_host = sys.argv[1], sys.argv[2]
load = lambda n: {m["metric"]: m for m in json.load(open(f"{work}/{n}.json"))["metrics"]}
fleet, single, files = load("fleet"), load("single"), load("files")
keys = ["count", "mean", "min", "max", "p50", "p95", "p99", "p99_9"]
for metric in ("coordination_overhead", "task_execution_time"):
    for k in keys:
        if fleet[metric][k] != single[metric][k]:
            sys.exit(f"FAIL: {metric} {k}: four hosts {fleet[metric][k]}, one host {single[metric][k]}")
        if files[metric][k] != fleet[metric][k]:
            sys.exit(f"FAIL: {metric} {k}: --files {files[metric][k]}, --from {fleet[metric][k]}")
# The independent witness: the values the producers were told to send, sorted.
values = {0: [], 1: []}
for line in open(f"{work}/plan"):
    host, _, _, metric, first, step, count = line.split()
    values[int(metric)] += [int(first) + k * int(step) for k in range(int(count))]
for metric_id, metric in ((0, "coordination_overhead"), (1, "task_execution_time")):
    data = sorted(values[metric_id])
    got = fleet[metric]
    if got["count"] != len(data):
        sys.exit(f"FAIL: {metric}: count {got['count']}, sent {len(data)}")
    for key, p in (("p50", 50), ("p95", 95), ("p99", 99), ("p99_9", 99.9)):
        rank = max(1, int(p / 100 * len(data) + 0.5))  # HdrHistogram_c: rank rounded to nearest
        want = data[rank - 1]
        if abs(got[key] - want) > want / 1024:
            sys.exit(f"FAIL: {metric} {key}: {got[key]}, the sorted data says {want}")
    if abs(got["max"] - data[-1]) > data[-1] / 1024:
        sys.exit(f"FAIL: {metric} max {got['max']}, sent {data[-1]}")
    exact_mean = sum(data) / len(data)
    if abs(got["mean"] - exact_mean) > exact_mean / 1024:
        sys.exit(f"FAIL: {metric} mean {got['mean']}, exact {exact_mean}")
tail = fleet["coordination_overhead"]["tail"]
if tail["source"] != slow_host or tail["source_count"] != tail["count"]:
    sys.exit(f"FAIL: the tail is {tail}, not all of {slow_host}")
print("four hosts = one host = files; figures within a bucket of the sorted data; tail:", tail)
PY

# --metric and --window narrow it; one host's figures alone are its own.
"$CLI" fleet stats --json --metric task_execution_time --window 10m --from "${URLS[@]}" >"$WORK/te.json" ||
	fail "fleet stats --metric --window"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]
assert [x["metric"] for x in m] == ["task_execution_time"] and m[0]["count"] == int(sys.argv[2]), m' \
	"$WORK/te.json" "$EXPECTED_TE" || fail "--metric task_execution_time"

# /hlog's refusals name what was wrong.
H="http://127.0.0.1:${PORTS[1]}"
check_400() { # query, words the answer must hold
	local body code
	body=$(curl -s -w '\n%{http_code}' "$H/hlog?$1")
	code=${body##*$'\n'}
	[ "$code" = 400 ] || fail "/hlog?$1 answered $code, not 400"
	grep -q "$2" <<<"$body" || fail "/hlog?$1: '$body' does not say '$2'"
}
check_400 'since=yesterday' "since 'yesterday'"
check_400 'metric=nope' "no metric 'nope'; known: coordination_overhead"
check_400 'limit=5' "unknown parameter 'limit'"
check_400 'since=1h&since=2h' "'since' is given twice"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$H/hlog")" = 405 ] || fail "POST /hlog is not 405"
curl -sf "$H/hlog?since=1h&metric=coordination_overhead" | head -1 | grep -q '^#\[Histogram log format version 1.3\]' ||
	fail "/hlog is not a 1.3 interval log"
# since selects by the windows' starts: Unix seconds in the future select none, in the past
# (and a relative 1h) all of them.
tags() { curl -sf "$H/hlog?$1" | grep -c '^Tag=' ; }
[ "$(tags "since=$(($(date +%s) + 3600))")" = 0 ] || fail "/hlog?since=<an hour ahead> has intervals"
ALL_TAGS=$(tags "")
[ "$ALL_TAGS" -gt 0 ] && [ "$(tags "since=$(($(date +%s) - 3600))")" = "$ALL_TAGS" ] &&
	[ "$(tags "since=1h")" = "$ALL_TAGS" ] || fail "/hlog?since=<an hour ago> is not every interval"
"$CLI" fleet stats --metric nope --from "$H" >/dev/null 2>"$WORK/err"
[ $? = 2 ] || fail "an unknown metric is not a usage error"
grep -q "no metric 'nope'" "$WORK/err" || fail "the host's sentence is not printed: $(cat "$WORK/err")"

# A host that does not answer: exit 3, named, and the others' figures printed.
DEAD=$(free_port)
"$CLI" fleet stats --json --from "${URLS[@]}" "http://127.0.0.1:$DEAD" >"$WORK/dead.json" 2>"$WORK/err"
[ $? = 3 ] || fail "an unreachable host is not exit status 3"
grep -q "127.0.0.1:$DEAD" "$WORK/err" || fail "the unreachable host is not named: $(cat "$WORK/err")"
[ "$(count_of coordination_overhead <"$WORK/dead.json")" = "$EXPECTED_CO" ] ||
	fail "the answering hosts' figures are not printed"
"$CLI" fleet stats --from "$H/nope" >/dev/null 2>"$WORK/err"
[ $? = 1 ] || fail "a path that is not /hlog is not exit status 1"
grep -q "HTTP 404" "$WORK/err" || fail "the 404 is not named: $(cat "$WORK/err")"
"$CLI" fleet stats --from >/dev/null 2>&1
[ $? = 2 ] || fail "--from without a URL is not a usage error"
"$CLI" fleet stats --from "ftp://x:1" >/dev/null 2>"$WORK/err"
grep -q "is not http://HOST:PORT" "$WORK/err" || fail "a bad URL is not named"
echo PASS
