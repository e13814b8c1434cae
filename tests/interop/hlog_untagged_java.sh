#!/bin/bash
# HdrHistogram Java's HistogramLogProcessor, without -tag, on `agentperf hlog` of one series.
# Runs verbatim the commands docs/hdr.md gives (the sh block after the line that names this
# test) against a running agentperfd whose coordination_overhead has an expected interval and
# a workload with stalls, then checks what the processor printed:
#   - co.hgrm (raw) and co-corrected.hgrm have the rows and the footer of agentperf's own
#     `stats --hgrm` of the same series (`--corrected` for the second);
#   - the processor's total counts (the last line of co and co-corrected) are what the agent
#     says it recorded, and what HdrHistogram's correction rule gives for it (computed here);
#   - a log of several series (tagged) gives the processor nothing without -tag, so the
#     untagged form is what makes the documented command work; with -tag it selects the raw
#     series, and the corrected one by its tag <type>/<metric>:corrected.
# Usage: hlog_untagged_java.sh BUILD_DIR SOURCE_DIR. Exit 77 (skip) without java or the jar.
set -u
BUILD=$1
SOURCE=$2
JAR=/usr/share/java/hdrhistogram.jar
[ -f "$JAR" ] && command -v java >/dev/null && command -v python3 >/dev/null || {
	echo "SKIP: java, python3 and $JAR (Debian libhdrhistogram-java) are needed" >&2
	exit 77
}

WORK=$(mktemp -d /tmp/agp-hlog-untagged.XXXXXX)
DAEMON_PID=
cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/daemon.log" ] && cat "$WORK/daemon.log" >&2; exit 1; }
cd "$WORK" || exit 1

# The documented commands, as docs/hdr.md prints them.
sed -n '/tests\/interop\/hlog_untagged_java.sh -->/,/^```$/p' "$SOURCE/docs/hdr.md" |
	sed '1,2d;$d' > documented.sh
grep -q '^agentperf hlog ' documented.sh && grep -q '^java ' documented.sh ||
	fail "docs/hdr.md has no command block for this test: $(cat documented.sh)"

export AGENTPERF_NAME="untagged-$$"
export AGENTPERF_SOCKET_DIR="$WORK/sock"
export PATH="$BUILD/tools:$PATH" # `agentperf` as the documentation calls it
cat > config.json <<JSON
{"monitoring": {"storage_dir": "$WORK/storage"},
 "metrics": {"coordination_overhead": {"expected_interval_ms": 10}}}
JSON
"$BUILD/collector/agentperfd" --config config.json --unlink-on-exit > daemon.log 2>&1 &
DAEMON_PID=$!
i=0
until agentperf status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "agentperfd did not answer"; sleep 0.05
done

# 3000 samples of a skewed distribution with stalls up to 1.2 s, and another type beside it.
values=$(python3 -c '
import random
random.seed(11)
v = [int(random.lognormvariate(15, 0.8)) for _ in range(3000)]
v += [k * 150_000_000 for k in range(1, 9)]
print(" ".join(map(str, v)))')
# shellcheck disable=SC2086
"$BUILD/tests/unit_agent" "$AGENTPERF_NAME" worker w1 coordination_overhead nanoseconds 0 \
	$values > recorded.txt || fail "the agent"
"$BUILD/tests/unit_agent" "$AGENTPERF_NAME" reviewer r1 coordination_overhead nanoseconds 0 \
	7000000 70000000 > /dev/null || fail "the reviewer agent"
read -r raw_count corrected_count < <(python3 - recorded.txt <<'PY'
import sys
interval = 10_000_000
raw = [int(line.split()[2]) for line in open(sys.argv[1]) if line.startswith("recorded ")]
corrected = len(raw)
for v in raw:
    missing = v - interval
    while missing >= interval:  # HdrHistogram's recordValueWithExpectedInterval
        corrected += 1
        missing -= interval
print(len(raw), corrected)
PY
)
[ "$raw_count" = 3008 ] || fail "the agent recorded $raw_count samples, not 3008"
i=0
until [ "$(agentperf --json stats --metric coordination_overhead --agent-type worker |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["series"][0]["count"])')" = "$raw_count" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "the collector never counted $raw_count samples"; sleep 0.05
done

bash -e documented.sh > documented.out 2>&1 || fail "the documented commands: $(cat documented.out)"
agentperf stats --hgrm --metric coordination_overhead --agent-type worker > ours.hgrm ||
	fail "stats --hgrm"
agentperf stats --hgrm --metric coordination_overhead --agent-type worker --corrected \
	> ours-corrected.hgrm || fail "stats --hgrm --corrected"

# The processor's .hgrm against ours: the same rows (Java prints 12 decimals of the
# percentile where HdrHistogram_c prints 6) and the same footer; its total count from the
# interval lines ("T:<count>") against the witness.
compare() { # ours.hgrm java.hgrm java-intervals expected-count
	python3 - "$@" <<'PY'
import re, sys
def rows(path):
    table, footer = [], []
    for line in open(path):
        if line.startswith(("#[Mean", "#[Max", "#[Buckets")):
            footer.append(" ".join(line.split()))
        elif line.strip() and not line.startswith("#") and not line.strip().startswith("Value"):
            f = line.split()
            table.append((f[0], round(float(f[1]), 6), int(f[2])))
    return table, footer
ours, java = rows(sys.argv[1]), rows(sys.argv[2])
if not ours[0] or ours != java:
    sys.exit(f"FAIL: {sys.argv[2]} ({len(java[0])} rows) differs from {sys.argv[1]} ({len(ours[0])} rows)")
totals = re.findall(r"T:(\d+)", open(sys.argv[3]).read())
if not totals or totals[-1] != sys.argv[4]:
    sys.exit(f"FAIL: {sys.argv[3]}: HistogramLogProcessor counts {totals[-1:]} samples, "
             f"the witness {sys.argv[4]}")
print(f"{sys.argv[2]}: {len(java[0])} rows, footer and {sys.argv[4]} samples as agentperf's")
PY
}
compare ours.hgrm co.hgrm co "$raw_count" || exit 1
compare ours-corrected.hgrm co-corrected.hgrm co-corrected "$corrected_count" || exit 1
[ "$corrected_count" -gt "$raw_count" ] || fail "the stalls added no corrected samples"

# Several series keep their tags: without -tag the processor finds no interval in them.
agentperf hlog --metric coordination_overhead > tagged.hlog || fail "hlog of two types"
grep -q '^Tag=worker/coordination_overhead,' tagged.hlog || fail "the two-type log is untagged"
java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i tagged.hlog -o tagged > /dev/null 2>&1
grep -q 'T:' tagged && fail "the processor read tagged intervals without -tag"
# ... and -tag selects one of them, the corrected series by its own tag too.
agentperf hlog --metric coordination_overhead --corrected > tagged-corrected.hlog ||
	fail "hlog --corrected of two types"
for tag in worker/coordination_overhead worker/coordination_overhead:corrected; do
	file=tagged.hlog expected=$raw_count
	[ "${tag%:corrected}" != "$tag" ] && file=tagged-corrected.hlog expected=$corrected_count
	java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i "$file" -tag "$tag" -o selected \
		> /dev/null 2>&1 || fail "the processor with -tag $tag"
	[ "$(grep -o 'T:[0-9]*' selected | tail -1)" = "T:$expected" ] ||
		fail "-tag $tag: the processor counts $(grep -o 'T:[0-9]*' selected | tail -1), not $expected"
done
echo "PASS"
