#!/bin/sh
# libagentperf.so must carry no code that acts on prompt text: the seed
# agents' runners and the exec template runner live in agentperf-runners.so.
# The same checks on the module are the witness that they can see the code
# where it is (symbols in the symbol table, the template's placeholder text).
# Arguments: nm libagentperf.so agentperf-runners.so.
set -eu
NM=$1
LIBRARY=$2
MODULE=$3
RUNNERS="agp__runner_code_review agp__runner_test_run agp__runner_doc_outline
agp__runner_debug_trace agp__runner_refactor agp__runner_exec_template"

symbols() {
	# Every defined symbol, local ones included (the symbol table, not only the dynamic one).
	"$NM" --defined-only "$1" | awk '{ print $3 }'
}

status=0
library_symbols=$(symbols "$LIBRARY")
module_symbols=$(symbols "$MODULE")
if [ "$(echo "$module_symbols" | wc -l)" -lt 10 ]; then
	echo "FAIL: nm lists almost nothing in $MODULE: the check could not see the code"
	exit 1
fi
for runner in $RUNNERS; do
	if echo "$library_symbols" | grep -qx "$runner"; then
		echo "FAIL: $LIBRARY contains the runner $runner"
		status=1
	fi
	if ! echo "$module_symbols" | grep -qx "$runner"; then
		echo "FAIL: $MODULE lacks the runner $runner"
		status=1
	fi
done
# Text only the runners hold: the exec template's placeholder, the test-run runner's usage.
for text in "{prompt}" "test-run: no command in the prompt"; do
	if grep -qF "$text" "$LIBRARY"; then
		echo "FAIL: $LIBRARY contains the runners' text '$text'"
		status=1
	fi
	if ! grep -qF "$text" "$MODULE"; then
		echo "FAIL: $MODULE lacks the runners' text '$text'"
		status=1
	fi
done
# The module exports its entry point and nothing else of its own.
exported=$("$NM" -D --defined-only "$MODULE" | awk '{ print $3 }')
if [ "$exported" != "agp_runners_module" ]; then
	echo "FAIL: $MODULE exports more than agp_runners_module:"
	echo "$exported"
	status=1
fi
[ "$status" -eq 0 ] && echo "ok: the runners are in $MODULE only"
exit "$status"
