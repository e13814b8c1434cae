#!/bin/bash
# [multiprocess] The storage agentperfd can trust (issue 10): a symbolic link planted at every
# storage path (alerts.jsonl, hlog/agentperf.hlog, the pidfile, baseline.json, the daemon's
# and the CLI's CI export) pointing at a root-owned canary that must stay byte-equal with the
# same mtime; a hard link to the canary; a storage folder owned by uid 65534, one with mode
# 0777 and one that is a link, each refused with a message naming the folder, owner and mode;
# files created 0600 and a folder 0700 under umask 000.
# Usage: test_storage_trust.sh AGENTPERFD AGENTPERF CLI_AGENT. Needs root (chown): else 77.
set -u
daemon_bin=$1 cli_bin=$2 agent_bin=$3
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (chown to uid 65534)"; exit 77; }

dir=$(mktemp -d /tmp/agp-storage-trust-XXXXXX)
name="storetrust-$$"
export AGENTPERF_SOCKET_DIR="$dir/sock"
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for log in "$dir"/*.log; do [ -f "$log" ] && { echo "--- $log"; cat "$log"; }; done
	exit 1
}

# The canary: root-owned, outside every storage folder, with an mtime in the past, so that
# any write through a link shows in its size, bytes or mtime.
canary="$dir/canary"
printf 'canary: must stay untouched\n' >"$canary"
chmod 0644 "$canary"
touch -d '2001-02-03 04:05:06' "$canary"
cp -p "$canary" "$dir/canary.witness"
canary_stat() { stat -c '%s %Y %a %u %h' "$1"; }
witness=$(canary_stat "$dir/canary.witness")
check_canary() {
	cmp -s "$canary" "$dir/canary.witness" || fail "$1: the canary's bytes changed"
	[ "$(canary_stat "$canary")" = "$witness" ] ||
		fail "$1: the canary changed: $(canary_stat "$canary"), was $witness"
}

write_config() { # FILE STORAGE [extra monitoring keys]
	printf '{"monitoring": {"storage_dir": "%s", "ci_export_file": "%s/ci-daemon.json"%s}}\n' \
		"$2" "$dir" "${3:-}" >"$1"
}

# expect_refusal LABEL PATTERN STORAGE [daemon args...]: the daemon must exit (not serve) with a
# nonzero status and PATTERN (grep -E) in its log. $EXTRA_CONFIG: more monitoring keys.
expect_refusal() {
	local label=$1 pattern=$2 storage=$3
	shift 3
	write_config "$dir/$label.json" "$storage" "${EXTRA_CONFIG:-}"
	"$daemon_bin" --name "$name-$label" --config "$dir/$label.json" --unlink-on-exit "$@" \
		>"$dir/$label.log" 2>&1 &
	local pid=$! waited=0
	while kill -0 "$pid" 2>/dev/null; do
		waited=$((waited + 1))
		if [ $waited -gt 200 ]; then
			kill "$pid"
			wait "$pid"
			fail "$label: agentperfd started instead of refusing"
		fi
		sleep 0.05
	done
	wait "$pid"
	local status=$?
	[ $status -ne 0 ] || fail "$label: agentperfd exited 0"
	grep -Eq -- "$pattern" "$dir/$label.log" || fail "$label: no message matching '$pattern'"
	echo "ok: $label refused (exit $status): $(grep -E -- "$pattern" "$dir/$label.log" | head -1)"
	check_canary "$label"
}

# 1. A link at alerts.jsonl, and a hard link there to the canary.
mkdir -m 0700 "$dir/s1"
ln -s "$canary" "$dir/s1/alerts.jsonl"
expect_refusal alerts-symlink "$dir/s1/alerts.jsonl is a symbolic link" "$dir/s1"
mkdir -m 0700 "$dir/s1h"
ln "$canary" "$dir/s1h/alerts.jsonl"
witness="${witness% *} 2" # the canary now has two links; nothing else may change
expect_refusal alerts-hardlink "$dir/s1h/alerts.jsonl \(a file, owner uid 0, mode 0644, 2 links\) is not a regular file of the daemon's uid 0 with a single link" "$dir/s1h"
rm "$dir/s1h/alerts.jsonl"
witness=$(canary_stat "$dir/canary.witness") # one link again

# 2. A link at the pidfile (outside the storage folder).
mkdir -m 0700 "$dir/s2"
ln -s "$canary" "$dir/daemon.pid"
expect_refusal pidfile-symlink "pidfile: $dir/daemon.pid is a symbolic link" "$dir/s2" \
	--pidfile "$dir/daemon.pid"
rm "$dir/daemon.pid"

# 3. A link at baseline.json when the daemon starts.
mkdir -m 0700 "$dir/s3"
ln -s "$canary" "$dir/s3/baseline.json"
expect_refusal baseline-symlink "baseline.json: is a symbolic link" "$dir/s3"

# 4. Storage folders the daemon must not trust.
mkdir -m 0700 "$dir/foreign"
chown 65534 "$dir/foreign"
expect_refusal foreign-owner "storage folder $dir/foreign is owned by uid 65534 \(mode 0700\)" \
	"$dir/foreign"
mkdir "$dir/open"
chmod 0777 "$dir/open"
expect_refusal world-writable "storage folder $dir/open \(owner uid 0, mode 0777\) is writable by others" \
	"$dir/open"
mkdir -m 0700 "$dir/real"
ln -s "$dir/real" "$dir/linked"
expect_refusal folder-symlink "storage folder $dir/linked is a symbolic link" "$dir/linked"
[ -z "$(find "$dir/foreign" "$dir/open" "$dir/real" -mindepth 1)" ] || fail "a refused folder got files"

# 5. A first run creates the storage folder, hlog/ and every file under umask 000: modes exact.
storage="$dir/s5/storage"
write_config "$dir/run.json" "$storage" ', "alert_cooldown_minutes": 0'
(umask 000; exec "$daemon_bin" --name "$name" --config "$dir/run.json" --unlink-on-exit \
	--pidfile "$dir/run.pid" >"$dir/run.log" 2>&1) &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "agentperfd did not answer"; sleep 0.05
done
for folder in "$storage" "$storage/hlog"; do
	[ "$(stat -c %a "$folder")" = 700 ] || fail "$folder has mode $(stat -c %a "$folder"), not 700"
done
for file in "$storage/alerts.jsonl" "$storage/hlog/agentperf.hlog" "$dir/run.pid"; do
	[ "$(stat -c %a "$file")" = 600 ] || fail "$file has mode $(stat -c %a "$file"), not 600"
done
kill "$daemon_pid"
wait "$daemon_pid" || fail "the first run did not stop cleanly"
daemon_pid=
# 6. A second run with links at hlog/agentperf.hlog and at both CI exports, and one planted at
# baseline.json after the start.
rm "$storage/hlog/agentperf.hlog"
ln -s "$canary" "$storage/hlog/agentperf.hlog"
rm -f "$dir/ci-daemon.json" "$dir/ci-cli.json"
ln -s "$canary" "$dir/ci-daemon.json"
ln -s "$canary" "$dir/ci-cli.json"
(umask 000; exec "$daemon_bin" --name "$name" --config "$dir/run.json" --unlink-on-exit \
	>"$dir/run2.log" 2>&1) &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "agentperfd did not answer (second run)"; sleep 0.05
done
grep -q "no interval log: hlog: $storage/hlog/agentperf.hlog is a symbolic link" "$dir/run2.log" ||
	fail "the hlog link was not refused with a message"
ln -s "$canary" "$storage/baseline.json"
"$agent_bin" "$name" worker w1 0 200 500000 0 >/dev/null || fail "agent"
# Five task_execution_time samples of 3..15 s: five critical alerts (no cooldown).
"$agent_bin" "$name" worker w2 1 5 3000000000 0 | grep -q "recorded 5" || fail "agent w2"
"$cli_bin" -n "$name" baseline establish --min-samples 100 >/dev/null || fail "baseline establish"
"$cli_bin" -n "$name" export --ci "$dir/ci-cli.json" >/dev/null 2>&1
status=$?
[ $status -eq 0 ] || [ $status -eq 1 ] || fail "export --ci exited $status"
i=0
until [ -f "$storage/alerts.jsonl" ] && [ "$(wc -l <"$storage/alerts.jsonl")" -ge 5 ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "alerts.jsonl did not get the 5 alerts"; sleep 0.05
done
kill "$daemon_pid"
wait "$daemon_pid" || fail "the daemon did not stop cleanly"
daemon_pid=
check_canary "running daemon"
[ -L "$storage/hlog/agentperf.hlog" ] || fail "the hlog link was replaced (it must be left alone)"
for file in "$storage/baseline.json" "$dir/ci-daemon.json" "$dir/ci-cli.json"; do
	[ -f "$file" ] && [ ! -L "$file" ] || fail "$file: the link was not replaced by a file"
done
[ "$(stat -c %a "$storage/baseline.json")" = 600 ] ||
	fail "baseline.json has mode $(stat -c %a "$storage/baseline.json"), not 600"
grep -q '"baseline_established"' "$dir/ci-cli.json" || fail "ci-cli.json is not the CI export"
[ "$(wc -l <"$storage/alerts.jsonl")" -eq 5 ] || fail "alerts.jsonl: not 5 lines"
echo "ok: links at hlog, baseline.json and both CI exports left the canary untouched"

# 7. With monitoring.group (numeric gid 65534): folders 0750 and files 0640 of that group; a
# folder writable by that group is accepted, one writable by another group refused.
group_storage="$dir/s7/storage"
write_config "$dir/group.json" "$group_storage" ', "group": "65534"'
(umask 000; exec "$daemon_bin" --name "$name-group" --config "$dir/group.json" --unlink-on-exit \
	--pidfile "$dir/group.pid" >"$dir/group.log" 2>&1) &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name-group" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "agentperfd did not answer (group)"; sleep 0.05
done
for folder in "$group_storage" "$group_storage/hlog"; do
	[ "$(stat -c '%a %g' "$folder")" = "750 65534" ] ||
		fail "$folder is $(stat -c '%a %g' "$folder"), not 750 of gid 65534"
done
for file in "$group_storage/alerts.jsonl" "$group_storage/hlog/agentperf.hlog" "$dir/group.pid"; do
	[ "$(stat -c '%a %g' "$file")" = "640 65534" ] ||
		fail "$file is $(stat -c '%a %g' "$file"), not 640 of gid 65534"
done
# The segment is shared with the group too (the kernel's view of the object).
segment="/dev/shm/agentperf.$name-group"
[ "$(stat -c '%a %g' "$segment")" = "660 65534" ] ||
	fail "$segment is $(stat -c '%a %g' "$segment"), not 660 of gid 65534"
kill "$daemon_pid"
wait "$daemon_pid" || fail "the group run did not stop cleanly"
daemon_pid=
chmod 0770 "$group_storage"
"$daemon_bin" --name "$name-group" --config "$dir/group.json" --unlink-on-exit \
	>"$dir/group2.log" 2>&1 &
daemon_pid=$!
i=0
until "$cli_bin" -n "$name-group" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "a folder writable by monitoring.group was refused"; sleep 0.05
done
kill "$daemon_pid"
wait "$daemon_pid" || fail "the second group run did not stop cleanly"
daemon_pid=
chgrp 0 "$group_storage"
EXTRA_CONFIG=', "group": "65534"' expect_refusal other-group "storage folder $group_storage \(owner uid 0, group 0, mode 0770\) is writable by a group that is not monitoring.group" \
	"$group_storage"
echo "ok: with monitoring.group: 0750 folders, 0640 files; only that group may write the folder"
echo "PASS"
