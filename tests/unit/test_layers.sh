#!/bin/sh
# The layering of the tree, checked on every include: each folder may include
# only the folders below it (docs/architecture.md draws the picture).
#   common/          common/
#   shm/             shm/ common/
#   hdr/             hdr/ common/
#   agents/record/   agents/record/ shm/ common/
#   agents/          agents/ shm/ common/
#   collector/       collector/ hdr/ shm/ common/
#   tools/           tools/ collector/config/ hdr/ common/
#   include/agentperf/  nothing quoted: public headers include only <agentperf/...>
# Every quoted include is root-relative and names a file of the tree.
# Usage: test_layers.sh SOURCE_DIR
set -eu
cd "$1"
violations=$(mktemp)
trap 'rm -f "$violations"' EXIT

allowed() {
	case "$1" in
	common/*) echo "common/" ;;
	shm/*) echo "shm/ common/" ;;
	hdr/*) echo "hdr/ common/" ;;
	agents/record/*) echo "agents/record/ shm/ common/" ;;
	agents/*) echo "agents/ shm/ common/" ;;
	collector/*) echo "collector/ hdr/ shm/ common/" ;;
	tools/*) echo "tools/ collector/config/ hdr/ common/" ;;
	include/*) echo "" ;;
	*) echo "ANY" ;;
	esac
}

for file in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' | sed 's#^\./##'); do
	rules=$(allowed "$file")
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | while IFS= read -r line; do
		target=$(printf '%s\n' "$line" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
		number=${line%%:*}
		if [ ! -f "$target" ]; then
			echo "$file:$number: #include \"$target\" is not a root-relative path of a file in the tree"
			continue
		fi
		[ "$rules" = ANY ] && continue
		ok=no
		for prefix in $rules; do
			case "$target" in "$prefix"*) ok=yes ;; esac
		done
		[ $ok = yes ] || echo "$file:$number: #include \"$target\": ${file%%/*}/ may include only: ${rules:-<agentperf/...>}"
	done
done >"$violations"
if [ -s "$violations" ]; then
	cat "$violations"
	echo "test_layers: $(wc -l <"$violations") forbidden includes"
	exit 1
fi
echo "test_layers: every include follows the layering"
