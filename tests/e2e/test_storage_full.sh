#!/bin/bash
# [slow] A full disk under agentperfd (issue 10): the storage folder is a small tmpfs mounted
# inside the test's own folder, filled until writes fail. While it is full, every alert is
# either a whole line of alerts.jsonl or counted in `agentperf status` (lost_writes.alerts), the
# loss is logged once with its reason, the interval log's failed writes are logged once (and
# retried), `baseline establish` fails with the reason (counted, no file left), and
# `agentperf export --ci` into the full folder (and a read-only one) says why and exits 4.
# When space is freed alerts are stored again and the interval log resumes by itself: every
# line reads back with the project's reader (hlog_stats), and its count equals what the agents
# say they recorded (nothing lost or doubled). A storage folder on a read-only tmpfs stops the
# daemon at start with the file and the reason.
# Usage: test_storage_full.sh AGENTPERFD AGENTPERF CLI_AGENT HLOG_STATS. Needs root and tmpfs
# mounts: else 77.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3 hlog_stats=$4
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (mount -t tmpfs)"; exit 77; }

dir=$(mktemp -d /tmp/agp-storage-full-XXXXXX)
storage="$dir/storage"
mkdir -m 0700 "$storage"
name="storefull-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
read_only="$dir/read-only"
mkdir -m 0700 "$read_only"
daemon_pid=
mounted=
mounted_read_only=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$mounted" ] && umount "$storage"
	[ -n "$mounted_read_only" ] && umount "$read_only"
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$dir/daemon.log" ] && { echo "--- daemon.log"; cat "$dir/daemon.log"; }
	exit 1
}
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$storage" 2>"$dir/mount.err" ||
	{ echo "SKIP: cannot mount a tmpfs: $(cat "$dir/mount.err")"; exit 77; }
mounted=1
mount -t tmpfs -o ro,size=64k,mode=0700 tmpfs "$read_only" 2>"$dir/mount.err" ||
	fail "cannot mount a read-only tmpfs: $(cat "$dir/mount.err")"
mounted_read_only=1

printf '{"monitoring": {"storage_dir": "%s", "aggregation_window_seconds": 1, "alert_cooldown_minutes": 0, "ci_export_enabled": false}}\n' \
	"$storage" >"$dir/config.json"
"$daemon_bin" --name "$name" --config "$dir/config.json" --unlink-on-exit >"$dir/daemon.log" 2>&1 &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "agentperfd did not answer"; sleep 0.05
done

status_field() { # KEY or lost_writes.KEY
	"$cli_bin" -n "$name" --json status | python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[part]
print(value)' "$1"
}
has_interval_line() { grep -q '^Tag=' "$storage/hlog/agentperf.hlog"; }
hlog_failed() { grep -q "cannot write $storage/hlog/agentperf.hlog: No space left on device" "$dir/daemon.log"; }
wait_for() { # DESCRIPTION COMMAND...: runs COMMAND every 50 ms until it succeeds, 20 s at most
	local what=$1 deadline=$((SECONDS + 20))
	shift
	until "$@"; do
		[ $SECONDS -gt $deadline ] && fail "timed out waiting for $what"
		sleep 0.05
	done
}
recorded=0 # task_execution_time samples of agent type worker, as the agents report them
record() { # AGENT COUNT STEP_NS
	local said
	said=$("$agent_bin" "$name" worker "$1" 1 "$2" "$3" 0) || fail "agent $1"
	[ "$said" = "recorded $2" ] || fail "agent $1 said '$said'"
	recorded=$((recorded + $2))
}

# Before the disk fills: one window of samples below the thresholds reaches the log, and
# coordination_overhead samples for a baseline.
record w0 50 1000000
"$agent_bin" "$name" worker b0 0 200 500000 0 | grep -q "recorded 200" || fail "agent b0"
wait_for "the first interval line" has_interval_line

# Fill the tmpfs to the last page.
dd if=/dev/zero of="$storage/filler" bs=4k >/dev/null 2>&1
[ "$(df --output=avail -k "$storage" | tail -1 | tr -d ' ')" -eq 0 ] || fail "the tmpfs is not full"

# While full: 150 critical alerts (task_execution_time 3 s and more, no cooldown), in rounds
# small enough for the alert ring between two deliveries.
alerts_before=$(status_field alerts)
for round in 1 2 3; do
	record "a$round" 50 3000000000
done
expected=$((alerts_before + 150))
alerts_settled() {
	[ "$(status_field alerts)" -eq "$expected" ] || return 1
	local lines lost
	lines=$(wc -l <"$storage/alerts.jsonl")
	lost=$(status_field lost_writes.alerts)
	[ $((lines + lost)) -eq "$expected" ]
}
wait_for "every alert to be a line or counted lost" alerts_settled
lost_alerts=$(status_field lost_writes.alerts)
[ "$lost_alerts" -gt 0 ] || fail "no alert was lost on a full disk: the test did not fill it"
python3 -c '
import json, sys
for number, line in enumerate(open(sys.argv[1]), 1):
    json.loads(line)' "$storage/alerts.jsonl" || fail "alerts.jsonl holds a line that is not JSON"
[ "$(grep -c "cannot write $storage/alerts.jsonl: No space left on device" "$dir/daemon.log")" -eq 1 ] ||
	fail "the lost alerts were not logged exactly once with their reason"
echo "ok: $expected alerts: $(wc -l <"$storage/alerts.jsonl") in alerts.jsonl, $lost_alerts counted lost, logged once"

# The interval log fails too once what is left of its last page is used up: windows with
# samples keep closing (one a second) until a write is refused and logged once. Its windows are
# retried, not lost (lost_writes.hlog stays 0).
deadline=$((SECONDS + 60))
until hlog_failed; do
	[ $SECONDS -gt $deadline ] && fail "the interval log never failed on a full disk"
	record w1 20 2000000
	sleep 0.3
done
record w1 20 2000000
sleep 1.2 # another window closes while still full
[ "$(grep -c "cannot write $storage/hlog/agentperf.hlog: No space left on device" "$dir/daemon.log")" -eq 1 ] ||
	fail "the interval log's failure was not logged exactly once"
"$cli_bin" -n "$name" status | grep -E "^lost writes +$lost_alerts alerts, 0 hlog, 0 baseline, 0 ci_export$" >/dev/null ||
	fail "agentperf status does not show the lost writes: $("$cli_bin" -n "$name" status | grep lost)"

# A baseline cannot be saved: the request fails with the reason, the loss is counted, and no
# temporary file is left.
"$cli_bin" -n "$name" baseline establish --min-samples 100 >/dev/null 2>"$dir/baseline.err" &&
	fail "baseline establish succeeded on a full disk"
grep -q "No space left on device" "$dir/baseline.err" ||
	fail "baseline establish did not say why: $(cat "$dir/baseline.err")"
[ "$(status_field lost_writes.baseline)" -eq 1 ] || fail "the lost baseline.json was not counted"
[ -z "$(find "$storage" -name 'baseline.json*')" ] || fail "baseline establish left a file behind"
echo "ok: baseline establish on a full disk: $(cat "$dir/baseline.err"), counted"

# export --ci into the full folder: the reason, and exit 4 (not 1, "requirements violated").
"$cli_bin" -n "$name" export --ci "$storage/ci.json" 2>"$dir/export.err" >/dev/null
status=$?
[ $status -eq 4 ] || fail "export --ci on a full disk exited $status, not 4: $(cat "$dir/export.err")"
grep -q "cannot write $storage/ci.json: No space left on device" "$dir/export.err" ||
	fail "export --ci did not say why: $(cat "$dir/export.err")"
[ -z "$(find "$storage" -name 'ci.json*')" ] || fail "export --ci left a file behind"
echo "ok: export --ci on a full disk: exit 4, $(cat "$dir/export.err")"

# Space returns: the log resumes by itself.
rm "$storage/filler"
record w2 50 4000000
# The next alert is stored again, and the end of the outage is logged with its count.
record r1 1 3000000000
wait_for "the end of the alerts outage to be logged" \
	grep -q "writing $storage/alerts.jsonl again after $lost_alerts failed writes" "$dir/daemon.log"
[ "$(wc -l <"$storage/alerts.jsonl")" -eq 1 ] || fail "the alert after the outage is not stored"
wait_for "the interval log to resume" grep -q "writing $storage/hlog/agentperf.hlog again" "$dir/daemon.log"
# A read-only folder: export --ci says so and exits 4 as well.
"$cli_bin" -n "$name" export --ci "$read_only/ci.json" 2>"$dir/export.err" >/dev/null
status=$?
[ $status -eq 4 ] && grep -q "cannot write $read_only/ci.json: Read-only file system" "$dir/export.err" ||
	fail "export --ci into a read-only folder: exit $status, $(cat "$dir/export.err")"
echo "ok: export --ci into a read-only folder: exit 4, $(cat "$dir/export.err")"

kill "$daemon_pid" # the final tick writes the open window
wait "$daemon_pid" || fail "agentperfd did not stop cleanly"
daemon_pid=
stats=$("$hlog_stats" "$storage/hlog/agentperf.hlog" worker/task_execution_time) ||
	fail "the interval log does not read back"
count=${stats%% *}
[ "$count" -eq "$recorded" ] ||
	fail "the interval log holds $count task_execution_time samples, the agents recorded $recorded"
echo "ok: the interval log resumed; $count samples read back, as recorded"

# A storage folder on a read-only file system: the daemon does not start, and says which file.
printf '{"monitoring": {"storage_dir": "%s"}}\n' "$read_only" >"$dir/read-only.json"
"$daemon_bin" --name "$name-ro" --config "$dir/read-only.json" --unlink-on-exit \
	>"$dir/read-only.log" 2>&1 &
daemon_pid=$!
deadline=$((SECONDS + 10))
while kill -0 "$daemon_pid" 2>/dev/null; do
	[ $SECONDS -gt $deadline ] && fail "agentperfd started on a read-only storage folder"
	sleep 0.05
done
wait "$daemon_pid"
status=$?
daemon_pid=
[ $status -ne 0 ] && grep -q "opening $read_only/alerts.jsonl: Read-only file system" "$dir/read-only.log" ||
	fail "read-only storage: exit $status, $(cat "$dir/read-only.log")"
echo "ok: read-only storage refused: $(cat "$dir/read-only.log")"
echo "PASS"
