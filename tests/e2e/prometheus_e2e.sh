#!/bin/bash
# [slow] agentperfd's /metrics against the real Prometheus tools (Debian package `prometheus`):
#   - `promtool check metrics` finds nothing in a scrape with known samples;
#   - `promtool check config` / `check rules` accept contrib/prometheus;
#   - a real Prometheus on loopback scrapes the collector every second, and its
#     histogram_quantile(0.99, ...) matches agentperf's own p99 within the Prometheus
#     bucket that holds it.
# Usage: prometheus_e2e.sh BUILD_DIR SOURCE_DIR. Exit 77 (skip) only when the
# `prometheus` package cannot be installed.
set -u
BUILD=$1
SOURCE=$2
SKIP=77

fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
	echo "promtool/prometheus missing: trying apt-get install -y prometheus" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null 2>&1; then
		echo "SKIP: the Debian package 'prometheus' cannot be installed here" >&2
		exit $SKIP
	fi
fi
for tool in curl python3; do
	command -v $tool >/dev/null || fail "$tool is needed"
done

WORK=$(mktemp -d /tmp/agp-prom-e2e.XXXXXX)
DAEMON_PID=
PROM_PID=
cleanup() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
HTTP_PORT=$(free_port)
PROM_PORT=$(free_port)
NAME="promtest-$$-$RANDOM"

cd "$WORK"
mkdir -p .codexplus/performance
echo '{"monitoring":{"aggregation_window_seconds":1}}' >.codexplus/performance/config.json
"$BUILD/collector/agentperfd" --name "$NAME" --http "$HTTP_PORT" --unlink-on-exit \
	>daemon.log 2>&1 </dev/null &
DAEMON_PID=$!
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >/dev/null || {
	cat daemon.log >&2
	fail "agentperfd does not serve /metrics on 127.0.0.1:$HTTP_PORT"
}

# Known samples: coordination_overhead 1, 2, ..., 1000 ms; task_execution_time 5 us + k * 7.919 us;
# memory_usage 1 MiB .. 1000 MiB.
REC="$BUILD/tests/export_record"
timeout 30 "$REC" "$NAME" worker w1 0 1000000 1000000 1000 || fail "recording coordination_overhead"
timeout 30 "$REC" "$NAME" reviewer r1 1 5000 7919 20000 || fail "recording task_execution_time"
timeout 30 "$REC" "$NAME" worker w2 5 1048576 1048576 1000 || fail "recording memory_usage"

# Only GET/HEAD of /metrics (and a pointer at /) are served.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/nope")" = 404 ] || fail "/nope is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HTTP_PORT/metrics")" = 405 ] ||
	fail "POST /metrics is not 405"
curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$HTTP_PORT/metrics" | grep -qi '^allow: GET, HEAD' ||
	fail "405 without Allow: GET, HEAD"
# "--http PORT" alone binds loopback: the port is not open on another local address.
OTHER=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$OTHER" ] && [ "$OTHER" != 127.0.0.1 ]; then
	curl -s -m 2 "http://$OTHER:$HTTP_PORT/metrics" >/dev/null && fail "/metrics answers on $OTHER"
fi

# Content type and promtool's lint.
curl -s -D headers.txt "http://127.0.0.1:$HTTP_PORT/metrics" -o metrics.txt
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' headers.txt ||
	fail "wrong content type: $(grep -i content-type headers.txt)"
grep -q 'agentperf_duration_seconds_count{agent_type="worker",metric="coordination_overhead"} 1000' metrics.txt ||
	fail "the scrape lacks the 1000 coordination_overhead samples"
LINT=$(promtool check metrics <metrics.txt 2>&1)
[ $? -eq 0 ] && [ -z "$LINT" ] || fail "promtool check metrics: $LINT"
echo "promtool check metrics: no findings ($(wc -l <metrics.txt) lines)"

# The contrib files.
promtool check config "$SOURCE/contrib/prometheus/prometheus.yml" >check.txt 2>&1 ||
	fail "promtool check config: $(cat check.txt)"
promtool check rules "$SOURCE/contrib/prometheus/agentperf.rules.yml" \
	"$SOURCE/contrib/prometheus/agentperf.alerts.yml" >check.txt 2>&1 ||
	fail "promtool check rules: $(cat check.txt)"
echo "promtool check config / rules: ok"

# A real Prometheus with our rules, scraping every second.
cp "$SOURCE/contrib/prometheus/agentperf.rules.yml" "$SOURCE/contrib/prometheus/agentperf.alerts.yml" .
cat >prometheus.yml <<CONFIG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [agentperf.rules.yml, agentperf.alerts.yml]
scrape_configs:
  - job_name: agentperf
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
CONFIG
prometheus --config.file=prometheus.yml --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >prometheus.log 2>&1 </dev/null &
PROM_PID=$!

query() {
	curl -sf --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
COUNT=
for _ in $(seq 60); do
	COUNT=$(query 'agentperf_duration_seconds_count{metric="coordination_overhead",agent_type="worker"}' 2>/dev/null)
	[ "$COUNT" = "1000" ] && break
	sleep 0.5
done
[ "$COUNT" = "1000" ] || { tail -5 prometheus.log >&2; fail "Prometheus did not scrape the 1000 samples (got '$COUNT')"; }

PROM_P99=$(query 'histogram_quantile(0.99, sum by (le) (agentperf_duration_seconds_bucket{metric="coordination_overhead",agent_type="worker"}))')
[ -n "$PROM_P99" ] || fail "no histogram_quantile result"

# agentperf's own p99: its interval log (closed windows) read back by agentperf's reader.
sleep 1.2 # the window holding the samples closes
kill "$DAEMON_PID"
wait "$DAEMON_PID"
DAEMON_PID=
OURS=$("$BUILD/tests/hlog_stats" .codexplus/performance/hlog/agentperf.hlog worker/coordination_overhead) ||
	fail "reading agentperf's interval log"
read -r OUR_COUNT _ _ _ OUR_P99 _ <<<"$OURS"
[ "$OUR_COUNT" = 1000 ] || fail "agentperf's log holds $OUR_COUNT samples, not 1000"

# Within the resolution of the Prometheus bucket that holds agentperf's figure.
python3 - "$PROM_P99" "$OUR_P99" metrics.txt <<'PY' || exit 1
import re, sys
prom = float(sys.argv[1]); ours = int(sys.argv[2]) / 1e9
bounds = sorted({float(m) for m in re.findall(
    r'agentperf_duration_seconds_bucket\{agent_type="worker",metric="coordination_overhead",le="([0-9.e+-]+)"\}',
    open(sys.argv[3]).read())})
lower = max([b for b in bounds if b < ours], default=0.0)
upper = min([b for b in bounds if b >= ours])
width = upper - lower
print(f"p99: Prometheus {prom:.6f} s, agentperf {ours:.6f} s, bucket ({lower}, {upper}]")
if abs(prom - ours) > width:
    sys.exit(f"FAIL: Prometheus p99 {prom} and agentperf's {ours} differ by more than the bucket width {width}")
PY

# Prometheus loaded our rules and evaluates them without errors.
curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") == "err"]
if len(rules) < 20 or bad:
    sys.exit(f"FAIL: {len(rules)} rules loaded, failing: {bad}")
print(f"{len(rules)} rules loaded, none failing")' || exit 1
echo "PASS"
