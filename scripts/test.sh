#!/bin/sh
# Runs the whole test suite of ./build (unit, multiprocess and slow tests).
# Arguments are passed to ctest, e.g. ./scripts/test.sh -L unit
set -eu
cd "$(dirname "$0")/.."
exec ctest --test-dir build --output-on-failure -j2 "$@"
