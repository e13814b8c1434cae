#!/bin/bash
# The fleet on one machine, by hand: four agentperfd on 127.0.0.2 ... 127.0.0.5 with agents
# doing tasks, a real Prometheus with contrib/prometheus (file-based discovery, the recording
# and alerting rules) and a real Alertmanager with contrib/alertmanager delivering to a local
# webhook; then a slow host, its alert and its resolution, and a stopped host. It is the test
# tests/e2e/fleet_e2e.sh (ctest -R fleet_e2e), run with its output shown; one to two minutes.
#   scripts/fleet-demo.sh [BUILD_DIR]        (default: build; KEEP=1 keeps the work folder)
# docs/many-machines.md explains what it shows.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ -x "$BUILD/tools/agentperf" ] || { echo "fleet-demo: build first (./scripts/bootstrap.sh)" >&2; exit 2; }
exec tests/e2e/fleet_e2e.sh "$BUILD" .
