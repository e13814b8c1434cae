#!/bin/sh
# agentperfd for the Python tests of a sanitizer build: the interpreter runs with the
# sanitizer's shared runtime in LD_PRELOAD (it loads the instrumented module), and an
# instrumented executable refuses a second runtime, so the daemon starts without it.
# $AGP_REAL_AGENTPERFD is the daemon; exec keeps the pid (the tests stop it by its pid).
unset LD_PRELOAD
exec "$AGP_REAL_AGENTPERFD" "$@"
