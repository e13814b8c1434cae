#!/bin/sh
# Every option a command takes is in its --help: the options of each command's
# table (AGENTPERF_LIST_OPTIONS=1 makes the one option parser, tools/cli_options.c,
# print them) against the command's --help text. Every command of `agentperf
# --help` is asked, and a subcommand's own table where a command has one.
# Arguments: agentperf.
set -u
cli_bin=$1
failed=0
commands=$("$cli_bin" --help | awk '/^Commands:/ { l = 1; next } l && /^  [a-z]/ { print $1 } l && /^$/ { exit }')
checked=0
for words in $(echo "$commands" | sed 's/^fleet$/fleet:stats/') baseline:establish config:check "stats:--hgrm"; do
	# shellcheck disable=SC2046 # the words are meant to split
	set -- $(echo "$words" | tr ':' ' ')
	listed=$(AGENTPERF_LIST_OPTIONS=1 "$cli_bin" "$@" 2>/dev/null | grep -E '^--[a-z]')
	[ -n "$listed" ] || continue # not the one parser's (task, agents --available: libagentperf)
	help=$("$cli_bin" "$@" --help 2>&1)
	for option in $listed; do
		echo "$help" | grep -qF -- "$option" || {
			echo "FAIL: 'agentperf $*' takes $option, which its --help does not list"
			failed=1
		}
	done
	checked=$((checked + 1))
done
[ "$checked" -ge 15 ] || { echo "FAIL: only $checked commands listed their options"; failed=1; }
[ "$failed" = 0 ] && echo "--help lists every option of $checked commands"
exit "$failed"
