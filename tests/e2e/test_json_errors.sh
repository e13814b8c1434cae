#!/bin/sh
# [multiprocess] With --json, errors are JSON too, for every command that
# `agentperf --help` lists: a usage error (an option no command has) and a
# collector that is not there each print one JSON object on standard output,
# {"error": {"code": STATUS, "kind": ..., "message": ...}} with code equal to
# the exit status (status answers {"up": false} instead), and the message still
# reaches standard error as it is written. Python's json module is the reader.
# Usage: test_json_errors.sh AGENTPERF
set -u
cli_bin=$1
dir=$(mktemp -d /tmp/agp-json-errors-XXXXXX)
trap 'rm -rf "$dir"' EXIT
export AGENTPERF_SOCKET_DIR="$dir/sock"
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# check EXPECTED_STATUS KIND ARGS...: the exit status, and stdout one JSON object saying so.
check() {
	want=$1 kind=$2
	shift 2
	"$cli_bin" "$@" >"$dir/out" 2>"$dir/err"
	status=$?
	[ "$status" = "$want" ] || { fail "agentperf $*: exit $status (wanted $want)"; return; }
	python3 - "$dir/out" "$status" "$kind" "$*" <<'PY' || failed=1
import json, sys
path, status, kind, words = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    value = json.load(open(path))
except ValueError as error:
    print(f"FAIL: agentperf {words}: stdout is not one JSON document: {error}")
    sys.exit(1)
if kind == "up":
    ok = value.get("up") is False
else:
    error = value.get("error", {})
    ok = error.get("code") == status and error.get("kind") == kind and error.get("message")
if not ok:
    print(f"FAIL: agentperf {words}: {value}")
    sys.exit(1)
PY
	[ -s "$dir/err" ] || fail "agentperf $*: nothing on standard error"
}

commands=$("$cli_bin" --help | awk '/^Commands:/ { l = 1; next } l && /^  [a-z]/ { print $1 } l && /^$/ { exit }')
[ -n "$commands" ] || fail "no commands in --help"
for command in $commands; do
	check 2 usage "$command" --json --no-such-option
done
check 2 usage --json no-such-command

# No collector for this deployment: every command that asks one.
name="absent-$$"
check 3 up --name "$name" status --json
for words in "agents" "stats" "baseline show" "validate" "export --ci -" "report" "alerts" \
	"config show" "top" "hlog"; do
	# shellcheck disable=SC2086 # the words are meant to split
	check 3 unreachable --name "$name" --json $words
done
[ "$failed" = 0 ] && echo "--json errors: one JSON object with the exit status, for $(echo $commands | wc -w) commands"
exit "$failed"
