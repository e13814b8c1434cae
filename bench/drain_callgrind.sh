#!/bin/sh
# Counts instructions per drained sample and per snapshot built: runs
# bench/drain_callgrind (a fixed workload, see drain_callgrind.c) under
# callgrind and divides the inclusive counts of agp_drain_pass and
# agp_drain_publish by the samples drained and the snapshots built.
# Usage: bench/drain_callgrind.sh [BUILD_DIR]   (default: build)
set -eu
build=${1:-build}
harness="$build/bench/drain_callgrind"
[ -x "$harness" ] || { echo "drain_callgrind.sh: $harness not built (-DAGP_BUILD_BENCH=ON)" >&2; exit 2; }
out=$(mktemp "${TMPDIR:-/tmp}/drain_callgrind.XXXXXX")
trap 'rm -f "$out" "$out.log"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$harness" >"$out.log" 2>&1 ||
	{ cat "$out.log" >&2; exit 1; }
summary=$(grep '^bench/drain_callgrind:' "$out.log")
echo "$summary"
samples=$(echo "$summary" | sed -n 's/.* \([0-9]*\) drained.*/\1/p')
snapshots=$(echo "$summary" | sed -n 's/.* \([0-9]*\) snapshots$/\1/p')
inclusive() {
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		awk -v fn="$1" '$0 ~ (":" fn " ") || $0 ~ (":" fn "$") { gsub(",", "", $1); print $1; exit }'
}
pass=$(inclusive agp_drain_pass)
publish=$(inclusive agp_drain_publish)
[ -n "$pass" ] && [ -n "$publish" ] || { echo "drain_callgrind.sh: no counts for the drain functions" >&2; exit 1; }
awk -v p="$pass" -v s="$samples" -v q="$publish" -v n="$snapshots" 'BEGIN {
	printf "  agp_drain_pass     %12d Ir  %7.1f Ir per drained sample\n", p, p / s
	printf "  agp_drain_publish  %12d Ir  %7.0f Ir per snapshot\n", q, q / n
}'
