#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a tiny
# outside program against it twice: with find_package(agentperf) and with
# pkg-config. Arguments: cmake source-dir build-dir c-compiler.
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
C

export AGENTPERF_NAME="$DEPLOYMENT"
# 1: the CMake package.
"$CMAKE" -S "$WORK/app" -B "$WORK/app/build" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
	-DCMAKE_C_COMPILER="$CC" >/dev/null
"$CMAKE" --build "$WORK/app/build" >/dev/null
"$WORK/app/build/outside" | grep -qx 'recorded 6'
echo "find_package(agentperf): ok"

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
