#!/bin/bash
# The bash completion, sourced in bash and asked as bash asks it (COMP_WORDS,
# COMP_CWORD): commands, a command's options (as its --help lists them),
# agent types (as `agents --available` lists them), metric names, and the
# words of baseline/config. Arguments: source-dir agentperf.
set -eu
SOURCE=$1
CLI=$2
PATH="$(cd "$(dirname "$CLI")" && pwd):$PATH"
# shellcheck source=/dev/null
. "$SOURCE/contrib/bash-completion/agentperf"
complete -p agentperf >/dev/null
failed=0

# Completes the words given (the last one being completed) and checks that
# every expected word is offered and no offered word fails to start with it.
expect() {
	local expected=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_agentperf
	local word offered=" ${COMPREPLY[*]} "
	for word in $expected; do
		[[ $offered == *" $word "* ]] || {
			echo "FAIL: '${COMP_WORDS[*]}' offers [${COMPREPLY[*]}], not $word" >&2
			failed=1
		}
	done
	for word in "${COMPREPLY[@]}"; do
		[[ $word == "${COMP_WORDS[COMP_CWORD]}"* ]] || {
			echo "FAIL: '${COMP_WORDS[*]}' offers $word" >&2
			failed=1
		}
	done
}

expect "stats status" agentperf st
expect "baseline" agentperf --name x ba
expect "--metric --agent-type --window --corrected" agentperf stats --
expect "--available" agentperf agents --a
expect "--prompt-file --description" agentperf task code-reviewer hello --
expect "code-reviewer" agentperf task code
expect "test-runner" agentperf stats --agent-type te
expect "coordination_overhead" agentperf stats --metric coord
expect "establish show" agentperf baseline ""
expect "development production" agentperf config preset ""
expect "--name --socket --json" agentperf --
# Every command of --help is offered for an empty word.
expect "$("$CLI" --help | awk '/^Commands:/ { l = 1; next } l && /^  [a-z]/ { print $1 } l && /^$/ { exit }')" agentperf ""

[ "$failed" = 0 ] && echo "bash completion: commands, options, agent types, metrics, subcommands"
exit "$failed"
