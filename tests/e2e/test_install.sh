#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a tiny
# outside program against it twice: with find_package(agentperf) and with
# pkg-config; then a seed agent's task from the installed prefix, whose
# runner lives in the installed runners module. Arguments: cmake source-dir
# build-dir c-compiler.
set -eu
CMAKE=$1
SOURCE=$2
BUILD=$3
CC=$4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentperf-install.XXXXXX")
DEPLOYMENT="t$$-install"
cleanup() {
	rm -rf "$WORK"
	rm -f "/dev/shm/agentperf.$DEPLOYMENT"
}
trap cleanup EXIT

"$CMAKE" --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
test -f "$WORK/prefix/include/agentperf/agentperf.h"
LIBDIR=$(dirname "$(find "$WORK/prefix" -name 'libagentperf.so' | head -n1)")
# The shared library carries its SONAME.
readelf -d "$LIBDIR/libagentperf.so" | grep -q 'SONAME.*libagentperf\.so\.0'
# The runners module sits where the installed library looks for it.
test -f "$LIBDIR/agentperf/agentperf-runners.so"
# The installed programs find the library of this prefix by their RUNPATH, without
# LD_LIBRARY_PATH (and not one installed elsewhere: the RUNPATH is checked too).
for program in "$WORK/prefix/bin/agentperf" "$WORK/prefix/sbin/agentperfd"; do
	readelf -d "$program" | grep -q 'RUNPATH.*\$ORIGIN/\.\./lib'
done
env -u LD_LIBRARY_PATH "$WORK/prefix/bin/agentperf" --version | grep -q '^agentperf [0-9]'
env -u LD_LIBRARY_PATH "$WORK/prefix/sbin/agentperfd" --help | grep -q '^Usage: agentperfd'
echo "installed programs load their library from the prefix: ok"
# The service: its unit names this install's agentperfd, and systemd has nothing to say
# about it (systemd-analyze prints what it finds wrong and still exits 0, so its output
# must be empty); the user and folders it needs come with it.
UNIT="$WORK/prefix/lib/systemd/system/agentperfd.service"
grep -q "^ExecStart=$WORK/prefix/sbin/agentperfd " "$UNIT"
grep -q '^u agentperf ' "$WORK/prefix/lib/sysusers.d/agentperf.conf"
grep -q '^d /run/agentperf ' "$WORK/prefix/lib/tmpfiles.d/agentperf.conf"
if command -v systemd-analyze >/dev/null 2>&1; then
	VERIFY=$(MANPATH="$WORK/prefix/share/man" systemd-analyze verify "$UNIT" 2>&1) || true
	if [ -n "$VERIFY" ]; then
		echo "systemd-analyze verify $UNIT:"
		echo "$VERIFY"
		exit 1
	fi
	echo "systemd-analyze verify agentperfd.service: clean"
fi

mkdir -p "$WORK/app"
cat >"$WORK/app/main.c" <<'C'
#include <agentperf/agentperf.h>
#include <stdio.h>

int main(void)
{
	agp_agent *agent;
	int error = agp_agent_open("outside", "install-test", NULL, &agent);
	if (error) {
		fprintf(stderr, "agp_agent_open: %s\n", agp_last_error());
		return 1;
	}
	for (int i = 0; i < 5; i++)
		agp_record(agent, AGP_METRIC_TASK_EXECUTION_TIME, 1000 + i, 1);
	{
		AGP_TIMER_SCOPE(agent, AGP_METRIC_COORDINATION_OVERHEAD, 2);
	}
	unsigned long long recorded = agp_agent_recorded(agent);
	agp_agent_close(agent);
	printf("recorded %llu\n", recorded);
	return recorded == 6 ? 0 : 2;
}
C
cat >"$WORK/app/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.20)
project(outside C)
find_package(agentperf 0.1 REQUIRED)
add_executable(outside main.c)
target_link_libraries(outside PRIVATE agentperf::agentperf)
add_executable(outside-task task.c)
target_link_libraries(outside-task PRIVATE agentperf::agentperf)
C
cat >"$WORK/app/task.c" <<'C'
#include <agentperf/task.h>
#include <stdio.h>

int main(void)
{
	struct agp_task_result result;
	agp_task("code-reviewer", "int a;\n/* TODO */\n", "install test", &result);
	int completed = result.success;
	printf("%s\n%s\n", agp_task_status_name(result.metadata.status),
	       completed ? result.output : result.error);
	agp_task_result_free(&result);
	agp_task_shutdown();
	return completed ? 0 : 1;
}
C

export AGENTPERF_NAME="$DEPLOYMENT"
# 1: the CMake package.
"$CMAKE" -S "$WORK/app" -B "$WORK/app/build" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
	-DCMAKE_C_COMPILER="$CC" >/dev/null
"$CMAKE" --build "$WORK/app/build" >/dev/null
"$WORK/app/build/outside" | grep -qx 'recorded 6'
echo "find_package(agentperf): ok"

# 1b: a seed agent's task: the installed library finds the installed runners module (the
# build RPATH names the prefix, so this is the installed libagentperf, not the build's).
unset AGENTPERF_RUNNERS_MODULE
export AGENTPERF_AGENTS_DIR="$WORK/no-agents" # no definitions: the five seed agents
(cd "$WORK/app" && ./build/outside-task) >"$WORK/task.out" || {
	cat "$WORK/task.out"
	exit 1
}
grep -qx 'completed' "$WORK/task.out"
grep -q 'TODO/FIXME/XXX markers: 1 at lines 2' "$WORK/task.out"
# Witness: without the installed module the same task fails, naming the path it tried.
mv "$LIBDIR/agentperf/agentperf-runners.so" "$WORK/runners.so"
if (cd "$WORK/app" && ./build/outside-task) >"$WORK/task.out"; then
	echo "the task completed without the installed runners module"
	exit 1
fi
grep -qF "$LIBDIR/agentperf/agentperf-runners.so" "$WORK/task.out" || {
	cat "$WORK/task.out"
	exit 1
}
mv "$WORK/runners.so" "$LIBDIR/agentperf/agentperf-runners.so"
echo "seed agent task from the installed prefix: ok"

# 2: pkg-config.
PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config --exists agentperf
FLAGS=$(PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config --cflags --libs agentperf)
# shellcheck disable=SC2086 # the flags are meant to split
"$CC" -o "$WORK/app/outside-pc" "$WORK/app/main.c" $FLAGS
LD_LIBRARY_PATH="$LIBDIR" "$WORK/app/outside-pc" | grep -qx 'recorded 6'
echo "pkg-config agentperf: ok"

# 3: the public headers also serve C++ programs (they say extern "C").
CXX=""
for candidate in c++ g++ clang++; do
	if command -v "$candidate" >/dev/null 2>&1; then
		CXX=$candidate
		break
	fi
done
if [ -n "$CXX" ]; then
	cp "$WORK/app/main.c" "$WORK/app/main.cc"
	# shellcheck disable=SC2086
	"$CXX" -Wall -Wextra -Werror -o "$WORK/app/outside-cxx" "$WORK/app/main.cc" $FLAGS
	LD_LIBRARY_PATH="$LIBDIR" "$WORK/app/outside-cxx" | grep -qx 'recorded 6'
	echo "C++ ($CXX): ok"
else
	echo "C++: no C++ compiler installed, not checked"
fi
