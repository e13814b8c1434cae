#!/bin/sh
# Interoperability both ways: the npm package hdr-histogram-js reads the .hlog agentperf writes,
# and agentperf reads the .hlog hdr-histogram-js writes (its own encoder and deflate); each
# reader must report the writer's count, p50, p90, p99, p99.9 and max per tag. The package is installed with
# npm into NPM_DIR (kept between runs). Exits 77 (skipped) without node/npm or the registry.
# Usage: test_hdr_js.sh WRITER_BINARY READER_JS NPM_DIR
set -eu
writer=$1
reader=$2
npm_dir=$3
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "SKIP: needs node and npm (apt-get install nodejs npm)"
	exit 77
fi
if [ ! -d "$npm_dir/node_modules/hdr-histogram-js" ]; then
	mkdir -p "$npm_dir"
	if ! (cd "$npm_dir" && npm install --no-audit --no-fund --silent hdr-histogram-js@3.0.1); then
		echo "SKIP: npm could not install hdr-histogram-js@3.0.1"
		exit 77
	fi
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$writer" "$dir/x.hlog" | sort > "$dir/ours.txt"
NODE_PATH="$npm_dir/node_modules" node "$reader" "$dir/x.hlog" | sort > "$dir/theirs.txt"
if ! diff -u "$dir/ours.txt" "$dir/theirs.txt"; then
	echo "FAIL: hdr-histogram-js (+) reading our log disagrees with agentperf (-)"
	exit 1
fi
echo "ok: hdr-histogram-js reads our log: $(wc -l < "$dir/ours.txt") tags agree"
NODE_PATH="$npm_dir/node_modules" node "$reader" --write "$dir/js.hlog" | sort > "$dir/js.txt"
"$writer" -r "$dir/js.hlog" | sort > "$dir/read.txt"
if [ ! -s "$dir/js.txt" ] || ! diff -u "$dir/js.txt" "$dir/read.txt"; then
	echo "FAIL: agentperf (+) reading hdr-histogram-js's log disagrees with it (-)"
	exit 1
fi
echo "ok: agentperf reads hdr-histogram-js's log: $(wc -l < "$dir/js.txt") tags agree"
cat "$dir/ours.txt" "$dir/js.txt"
