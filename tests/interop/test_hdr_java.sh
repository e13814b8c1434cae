#!/bin/sh
# Interoperability: Java's HistogramLogProcessor (Debian libhdrhistogram-java) reads the .hlog
# agentperf writes and must report the same count, p50, p90, p99, p99.9 and max per tag.
# Usage: test_hdr_java.sh WRITER_BINARY. Exits 77 (skipped) when java or the jar is missing.
set -eu
writer=$1
jar=/usr/share/java/hdrhistogram.jar
if ! command -v java >/dev/null 2>&1 || [ ! -r "$jar" ]; then
	echo "SKIP: needs java and $jar (apt-get install default-jre-headless libhdrhistogram-java)"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$writer" "$dir/x.hlog" > "$dir/ours.txt"
status=0
while read -r tag count p50 p90 p99 p999 max; do
	java -cp "$jar" org.HdrHistogram.HistogramLogProcessor -i "$dir/x.hlog" -o "$dir/$tag" \
		-tag "$tag" -outputValueUnitRatio 1 > /dev/null 2>&1
	# Last interval line: "... T:<count> ( p50 p90 p99 p99.9 p99.99 max )", values "%.3f".
	theirs=$(grep 'T:' "$dir/$tag" | tail -1 |
		sed 's/.*T:\([0-9]*\) ( \([^ ]*\) \([^ ]*\) \([^ ]*\) \([^ ]*\) [^ ]* \([^ ]*\) ).*/\1 \2 \3 \4 \5 \6/' |
		sed 's/\.000//g')
	mine="$count $p50 $p90 $p99 $p999 $max"
	if [ "$theirs" = "$mine" ]; then
		echo "ok   $tag: $mine"
	else
		echo "FAIL $tag: agentperf '$mine', HistogramLogProcessor '$theirs'"
		status=1
	fi
done < "$dir/ours.txt"
exit $status
