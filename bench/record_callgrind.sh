#!/bin/sh
# Counts instructions per agp_record() call and per AGP_TIMER_SCOPE: runs
# bench/record_callgrind (a fixed workload, see record_callgrind.c) under
# callgrind and divides the inclusive counts of agp_record, agp_record_at
# and agp_clock_now_ns by their calls.
# Usage: bench/record_callgrind.sh [BUILD_DIR]   (default: build)
set -eu
build=${1:-build}
harness="$build/bench/record_callgrind"
[ -x "$harness" ] || { echo "record_callgrind.sh: $harness not built (-DAGP_BUILD_BENCH=ON)" >&2; exit 2; }
out=$(mktemp "${TMPDIR:-/tmp}/record_callgrind.XXXXXX")
trap 'rm -f "$out" "$out.log"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$harness" >"$out.log" 2>&1 ||
	{ cat "$out.log" >&2; exit 1; }
grep '^bench/record_callgrind:' "$out.log"
# Inclusive Ir and calls of a function, from callgrind_annotate's tree of callers/callees.
inclusive() {
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		awk -v fn="$1" '$0 ~ (":" fn " ") || $0 ~ (":" fn "$") { gsub(",", "", $1); print $1; exit }'
}
record=$(inclusive agp_record)
record_at=$(inclusive agp_record_at)
now=$(inclusive agp_clock_now_ns)
[ -n "$record" ] && [ -n "$record_at" ] && [ -n "$now" ] || { echo "record_callgrind.sh: no counts" >&2; exit 1; }
awk -v r="$record" -v a="$record_at" -v n="$now" 'BEGIN {
	printf "  agp_record          %9d Ir  %5.1f Ir per call (4000 calls)\n", r, r / 4000
	printf "  agp_clock_now_ns    %9d Ir  %5.1f Ir per call (2 per timer, 4000 calls)\n", n, n / 4000
	printf "  agp_record_at       %9d Ir  %5.1f Ir per call (1 per timer, 2000 calls)\n", a, a / 2000
}'
