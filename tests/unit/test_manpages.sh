#!/bin/sh
# The man pages say what the programs do: every command of `agentperf --help`
# has its section in agentperf(1), every option of `agentperf COMMAND --help`
# and of `agentperfd --help` is in its page, every key of the config file and
# every CODEX_* variable is in agentperf-config(5); and each page renders with
# `man -l` without a warning. Arguments: source-dir agentperf agentperfd.
set -eu
SOURCE=$1
CLI=$2
DAEMON=$3
MAN="$SOURCE/man"
failed=0
fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# A word of the page's text as man renders it (hyphens and quotes made plain).
rendered() {
	MANWIDTH=2000 man -E UTF-8 -l "$1" 2>/dev/null | sed 's/‐/-/g; s/−/-/g'
}

for page in "$MAN/agentperf.1" "$MAN/agentperfd.8" "$MAN/agentperf-config.5"; do
	warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
	[ -z "$warnings" ] || fail "$(basename "$page") renders with warnings: $warnings"
done

CLI_PAGE=$(rendered "$MAN/agentperf.1")
commands=$("$CLI" --help | awk '/^Commands:/ { listing = 1; next } listing && /^  [a-z]/ { print $1 } listing && /^$/ { exit }')
[ -n "$commands" ] || fail "agentperf --help lists no commands"
for command in $commands; do
	# A section of its own: the command's name starts a line of COMMANDS (indented 3).
	echo "$CLI_PAGE" | grep -qE "^   $command( |$)" || fail "agentperf(1) has no section for '$command'"
	for option in $("$CLI" "$command" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		echo "$CLI_PAGE" | grep -qF -- "$option" ||
			fail "agentperf(1) does not mention $option of 'agentperf $command'"
	done
done
for option in $("$CLI" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
	echo "$CLI_PAGE" | grep -qF -- "$option" || fail "agentperf(1) does not mention $option"
done

DAEMON_PAGE=$(rendered "$MAN/agentperfd.8")
for option in $("$DAEMON" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
	echo "$DAEMON_PAGE" | grep -qF -- "$option" || fail "agentperfd(8) does not mention $option"
done

CONFIG_PAGE=$(rendered "$MAN/agentperf-config.5")
# Every key the daemon's config has (the preset output is a whole config file).
keys=$("$CLI" config preset production | grep -oE '^ +"[a-z_]+"' | tr -d ' "' | sort -u)
for key in $keys http_listen group aggregation_window_seconds expected_interval_ms; do
	echo "$CONFIG_PAGE" | grep -qw -- "$key" || fail "agentperf-config(5) does not mention key $key"
done
for variable in $(grep -ohE 'CODEX_[A-Z_]+' "$SOURCE/docs/config.md" | sort -u); do
	echo "$CONFIG_PAGE" | grep -qw -- "$variable" ||
		fail "agentperf-config(5) does not mention $variable (docs/config.md does)"
done

[ "$failed" = 0 ] && echo "man pages: in step with --help, the config keys and variables; no warnings"
exit "$failed"
