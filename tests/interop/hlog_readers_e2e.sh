#!/bin/bash
# [slow] agentperfd's HdrHistogram interval log read by independent readers:
#   - Java: Debian's libhdrhistogram-java, org.HdrHistogram.HistogramLogProcessor;
#   - JavaScript: npm's hdr-histogram-js (installed by this test into a temp folder).
# Total count, max and p50/p90/p99/p99.9 must equal agentperf's own figures (its reader
# over the same log), the count must equal what was recorded, and `agentperf hlog` /
# `agentperf stats --hgrm` must reproduce the same data.
# Usage: hlog_readers_e2e.sh BUILD_DIR. Exit 77 (skip) only when a package cannot be installed.
set -u
BUILD=$1
SKIP=77
JAR=/usr/share/java/hdrhistogram.jar

fail() { echo "FAIL: $*" >&2; exit 1; }

if [ ! -f "$JAR" ] || ! command -v java >/dev/null; then
	echo "trying apt-get install -y libhdrhistogram-java default-jre-headless" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y libhdrhistogram-java \
		default-jre-headless >/dev/null 2>&1; then
		echo "SKIP: Debian packages libhdrhistogram-java / default-jre-headless cannot be installed" >&2
		exit $SKIP
	fi
fi
command -v npm >/dev/null && command -v node >/dev/null || {
	echo "SKIP: npm and node are needed to install hdr-histogram-js" >&2
	exit $SKIP
}

WORK=$(mktemp -d /tmp/agp-hlog-e2e.XXXXXX)
DAEMON_PID=
cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

(cd "$WORK" && timeout 300 npm install --no-audit --no-fund --silent hdr-histogram-js@3 >npm.log 2>&1) || {
	echo "SKIP: npm install hdr-histogram-js failed: $(tail -3 npm.log)" >&2
	exit $SKIP
}

NAME="hlogtest-$$-$RANDOM"
mkdir -p .codexplus/performance
echo '{"monitoring":{"aggregation_window_seconds":1}}' >.codexplus/performance/config.json
"$BUILD/collector/agentperfd" --name "$NAME" --unlink-on-exit >daemon.log 2>&1 </dev/null &
DAEMON_PID=$!
sleep 0.3
REC="$BUILD/tests/export_record"
# Several windows with different shapes: a wide uniform range, a narrow one, then a long tail.
timeout 30 "$REC" "$NAME" worker w1 0 1000000 1000000 1000 || fail "recording"
timeout 30 "$REC" "$NAME" reviewer r1 1 5000 7919 20000 || fail "recording"
sleep 1.1
# 6007 samples in all: p90 is where HdrHistogram_c's rounding and the readers' ceiling differ.
timeout 30 "$REC" "$NAME" worker w1 0 1000 997 5007 || fail "recording"
timeout 30 "$REC" "$NAME" reviewer r1 1 3000000000 1 3 || fail "recording"
sleep 1.1
timeout 30 "$REC" "$NAME" worker w2 5 250000 13 7 || fail "recording"
kill "$DAEMON_PID" # the final tick also writes the open window
wait "$DAEMON_PID"
DAEMON_PID=
LOG=.codexplus/performance/hlog/agentperf.hlog
[ -s "$LOG" ] || fail "no interval log at $LOG"
echo "$(grep -c '^Tag=' "$LOG") intervals in $LOG"

cat >read.js <<'JS'
const hdr = require("hdr-histogram-js");
const fs = require("fs");
const [file, tag] = process.argv.slice(2);
const reader = new hdr.HistogramLogReader(fs.readFileSync(file, "utf8"));
const total = hdr.build({ numberOfSignificantValueDigits: 3 });
let h;
while ((h = reader.nextIntervalHistogram()) !== null)
	if (h.tag === tag) total.add(h);
// max in HdrHistogram's reported convention: the highest value of its bucket.
console.log([total.totalCount, total.highestEquivalentValue(total.maxValue),
	total.getValueAtPercentile(50), total.getValueAtPercentile(90),
	total.getValueAtPercentile(99), total.getValueAtPercentile(99.9)].join(" "));
JS

check() { # tag expected_count
	local tag=$1 expected=$2
	local ours java js
	ours=$("$BUILD/tests/hlog_stats" "$LOG" "$tag") || fail "agentperf cannot read its log ($tag)"
	java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i "$LOG" -tag "$tag" \
		-outputValueUnitRatio 1 -csv -o java_out >java.log 2>&1 || fail "Java: $(tail -3 java.log)"
	# Last CSV row: Total_Count,50%,90%,99%,99.9%,99.99%,Max (columns 6..12).
	local f
	IFS=, read -r -a f < <(tail -1 java_out | sed 's/\.000//g')
	java="${f[5]} ${f[11]} ${f[6]} ${f[7]} ${f[8]} ${f[9]}"
	js=$(node read.js "$LOG" "$tag") || fail "hdr-histogram-js cannot read the log ($tag)"
	echo "$tag: agentperf [$ours] Java [$java] JS [$js]"
	echo "$tag: agentperf, HdrHistogram_c percentile convention [$("$BUILD/tests/hlog_stats" "$LOG" "$tag" --c-convention)]"
	[ "${ours%% *}" = "$expected" ] || fail "$tag: agentperf counts ${ours%% *}, recorded $expected"
	[ "$ours" = "$java" ] || fail "$tag: Java's HistogramLogProcessor disagrees"
	[ "$ours" = "$js" ] || fail "$tag: hdr-histogram-js disagrees"
}
check worker/coordination_overhead 6007
check reviewer/task_execution_time 20003
check worker/memory_usage 7

# `agentperf hlog --metric` exports the same intervals (re-based), `stats --hgrm` the same totals.
CLI="$BUILD/tools/agentperf" # --files: the daemon has stopped; its logs remain
"$CLI" hlog --files --metric task_execution_time >export.hlog || fail "agentperf hlog"
[ "$(grep -c '^Tag=' export.hlog)" = "$(grep -c '^Tag=reviewer/task_execution_time' "$LOG")" ] ||
	fail "agentperf hlog --metric selected other intervals"
[ "$("$BUILD/tests/hlog_stats" export.hlog reviewer/task_execution_time)" = \
	"$("$BUILD/tests/hlog_stats" "$LOG" reviewer/task_execution_time)" ] || fail "export differs"
java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i export.hlog -tag reviewer/task_execution_time \
	-outputValueUnitRatio 1 -csv -o java_export >/dev/null 2>&1 || fail "Java cannot read the export"
[ "$("$CLI" hlog --files --since 1d | grep -c '^Tag=')" = "$(grep -c '^Tag=' "$LOG")" ] || fail "--since 1d"
"$CLI" hlog --files --since "$(($(date +%s) + 3600))" >/dev/null 2>&1 && fail "--since in the future selected intervals"
"$CLI" stats --hgrm --files --metric coordination_overhead >table.hgrm || fail "stats --hgrm"
grep -q 'Total count    =         6007' table.hgrm || fail "stats --hgrm: $(tail -3 table.hgrm)"
java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i "$LOG" -tag worker/coordination_overhead \
	-o java_ms >/dev/null 2>&1
# HdrHistogram's own .hgrm of the same data (ms ratio) has the same rows and footer. Java
# prints the percentile column with 12 decimals where HdrHistogram_c (and we) print 6, and
# leaves 1/(1-p) off the last row: compare the numbers.
python3 - table.hgrm java_ms.hgrm <<'PY' || exit 1
import sys
def rows(path):
    table, footer = [], []
    for line in open(path):
        if line.startswith("#[Mean") or line.startswith("#[Max") or line.startswith("#[Buckets"):
            footer.append(" ".join(line.split()))
        elif line.strip() and not line.startswith("#") and not line.strip().startswith("Value"):
            f = line.split()
            table.append((f[0], round(float(f[1]), 6), int(f[2])))
    return table, footer
ours, theirs = rows(sys.argv[1]), rows(sys.argv[2])
if ours != theirs:
    sys.exit(f"FAIL: stats --hgrm differs from HistogramLogProcessor's .hgrm ({len(ours[0])} and {len(theirs[0])} rows)")
print(f"stats --hgrm: {len(ours[0])} rows and the footer equal HistogramLogProcessor's")
PY
echo "PASS"
