#!/usr/bin/env bash
# SSE fan-out benchmark: netpulse vs nginx+nchan vs Flask-SSE (the seeds' design),
# on this machine's loopback, each server pinned to CPU 0 and the load to CPU 1.
# Run as root from the repository root: bash bench/sse_fanout.sh [--quick]
# SYSTEMS="netpulse nchan" limits which servers run (netpulse-unfiltered: subscribers with an
# admin token, whose streams skip the per-event access decision); CASES="1000:50:20" sets the cases
# (subscribers:events per second:seconds); REPEATS=3 runs each case that many times, every
# server fresh each time; RAW=0 uses SSE-parsing subscribers instead of raw sockets;
# APPEND=1 keeps earlier results in the JSONL file.
# Prints Markdown tables; raw JSON lines go to target/bench/sse_fanout.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${1:-}
out=target/bench
mkdir -p "$out"
work=$(mktemp -d /tmp/netpulse-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || ! need redis-server; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-nchan redis-server
fi
python3 -c 'import flask_sse, gevent, gunicorn, redis' 2>/dev/null || pip install -q flask flask-sse gunicorn gevent redis packaging

cargo build --release --features bench --bin netpulse --bin sse-load
ulimit -n 20000

NETPULSE=127.0.0.1:18080
NCHAN=127.0.0.1:18081
FLASK=127.0.0.1:18082
REDIS_PORT=16379
TOKEN=bench-token-0123456789

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}

start_netpulse() {
  # The stream needs no dashboard, but netpulse checks for a built bundle at start-up.
  mkdir -p "$work/site/pkg" && : > "$work/site/pkg/netpulse.js" && : > "$work/site/pkg/netpulse.wasm"
  cat > "$work/netpulse.toml" <<TOML
listen = "$NETPULSE"
node = "bench"
site_root = "$work/site"
data_dir = "$work/data"
publish_token = "$TOKEN"
topics = ["bench"]
[speed]
interval = 86400
# A closed loopback port: the sampler must not reach any public target.
[[speed.target]]
url = "http://127.0.0.1:9/speedtest"
[sse]
max_connections = 20000
max_per_client = 2000
queue = 1024
# Access as a LAN dashboard opens it: visitors read the topic, so every event
# passes the access decision per subscriber; a few more rules for it to look through.
[[access]]
who = "anonymous"
series = "topic:bench"
allow = "read"
[[access]]
who = "anonymous"
series = "probe:internal-*"
allow = "deny"
[[access]]
who = "role:viewer"
series = "topic:payroll"
allow = "deny"
TOML
  # An admin's token, whose streams skip the per-event decision: the same fan-out with filtering off.
  rm -rf "$work/data"
  ADMIN_TOKEN=$(target/release/netpulse token add bench --scopes admin --data-dir "$work/data" --config "$work/netpulse.toml")
  RUST_LOG=warn taskset -c 0 target/release/netpulse --config "$work/netpulse.toml" > "$work/netpulse.log" 2>&1 &
  pids+=($!)
  server_pids=($!)
  wait_port "$NETPULSE"
}

start_nchan() {
  mkdir -p "$work/nginx"
  cat > "$work/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen $NCHAN backlog=4096;
    keepalive_requests 1000000;
    location = /pub { nchan_publisher; nchan_channel_id bench; }
    location = /sub { nchan_subscriber eventsource; nchan_channel_id bench; nchan_subscriber_first_message newest; }
  }
}
CONF
  taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  pids+=($!)
  wait_port "$NCHAN"
  server_pids=($(pgrep -f "nginx -c $work/nginx/nginx.conf") $(pgrep -P "$(cat "$work/nginx/nginx.pid")"))
}

start_flask() {
  taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 19000 > "$work/redis.log" 2>&1 &
  local redis=$!
  pids+=($redis)
  wait_port "127.0.0.1:$REDIS_PORT"
  (cd bench && REDIS_URL="redis://127.0.0.1:$REDIS_PORT" taskset -c 0 gunicorn -k gevent -w 1 --worker-connections 19000 \
      -b "$FLASK" --log-level warning flask_sse_app:app > "$work/gunicorn.log" 2>&1) &
  pids+=($!)
  wait_port "$FLASK"
  server_pids=($redis $(pgrep -f "gunicorn -k gevent -w 1 --worker-connections 19000"))
}

stop_servers() {
  for pid in "${pids[@]:-}"; do kill "$pid" 2>/dev/null || true; done
  pkill -f "nginx -c $work/nginx/nginx.conf" 2>/dev/null || true
  pkill -f "gunicorn -k gevent -w 1 --worker-connections 19000" 2>/dev/null || true
  sleep 2
  # gunicorn waits for its streams to end; the next case needs the port and the CPU now.
  pkill -9 -f "gunicorn -k gevent -w 1 --worker-connections 19000" 2>/dev/null || true
  for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done
  pids=()
}

load() {
  local label=$1 subscribe=$2 publish=$3 subscribers=$4 rate=$5 duration=$6; shift 6
  local pid_args=()
  for pid in "${server_pids[@]}"; do pid_args+=(--server-pid "$pid"); done
  local raw=()
  [ "${RAW:-1}" = "1" ] && raw=(--raw)
  taskset -c 1 target/release/sse-load --label "$label" --subscribe-url "$subscribe" --publish-url "$publish" \
    --subscribers "$subscribers" --rate "$rate" --duration "$duration" --size 100 --sources 40 "${raw[@]}" "${pid_args[@]}" "$@" \
    | tee -a "$out/sse_fanout.jsonl"
}

systems=${SYSTEMS:-netpulse nchan flask-sse}
cases=(${CASES:-1000:50:20 10000:0:10 10000:5:20})
[ "$quick" = "--quick" ] && cases=(200:20:5)
[ -n "${APPEND:-}" ] || : > "$out/sse_fanout.jsonl"
repeats=${REPEATS:-3}
for case in "${cases[@]}"; do
  IFS=: read -r subscribers rate duration <<< "$case"
  for run in $(seq "$repeats"); do
  for system in $systems; do
    case $system in
      netpulse)
        start_netpulse
        load netpulse "http://$NETPULSE/api/events?topics=bench" "http://$NETPULSE/api/publish/bench" "$subscribers" "$rate" "$duration" \
          --publish-header "Authorization: Bearer $TOKEN" --no-warmup ;;
      netpulse-unfiltered)
        start_netpulse
        load netpulse-unfiltered "http://$NETPULSE/api/events?topics=bench" "http://$NETPULSE/api/publish/bench" "$subscribers" "$rate" "$duration" \
          --publish-header "Authorization: Bearer $TOKEN" --subscribe-header "Authorization: Bearer $ADMIN_TOKEN" --no-warmup ;;
      nchan)
        start_nchan
        load nchan "http://$NCHAN/sub" "http://$NCHAN/pub" "$subscribers" "$rate" "$duration" --no-warmup ;;
      flask-sse)
        start_flask
        load flask-sse "http://$FLASK/stream?channel=sse" "http://$FLASK/publish" "$subscribers" "$rate" "$duration" ;;
    esac
    stop_servers
  done
  done
done

python3 - "$out/sse_fanout.jsonl" <<'PY'
import json, sys, statistics
from collections import defaultdict
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["subscribers"], r["rate"], r["label"])].append(r)
def spread(values, digits=2):
    values = sorted(values)
    med = statistics.median(values)
    return f"{med:.{digits}f} [{values[0]:.{digits}f}–{values[-1]:.{digits}f}]" if len(values) > 1 else f"{med:.{digits}f}"
print("Median of the runs, with [lowest–highest]:")
print()
print("| system | subscribers | events/s | runs | connected | lost | p50 ms | p99 ms | RSS/conn idle KiB | RSS/conn after events KiB | server CPU s per 10^6 deliveries |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (subs, rate, label), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
    live = rate > 0
    print(f"| {label} | {subs} | {rate:g} | {len(rs)} | {min(r['connected'] for r in rs)} | {max(r['lost'] for r in rs) if live else '–'} | "
          f"{spread([r['latency_p50_ms'] for r in rs]) if live else '–'} | {spread([r['latency_p99_ms'] for r in rs]) if live else '–'} | "
          f"{spread([r['rss_per_connection_kib'] for r in rs], 1)} | {spread([r.get('rss_per_connection_after_events_kib', 0) for r in rs], 1) if live else '–'} | "
          f"{spread([r.get('server_cpu_secs_per_million', 0) for r in rs]) if live else '–'} |")
print()
def ratios_table(mine, other, title):
    print(title)
    print()
    print("| subscribers | events/s | p99 ratios | median p99 ratio | p50 ratios | server CPU per delivery ratios |")
    print("|---|---|---|---|---|---|")
    for (subs, rate) in sorted({(k[0], k[1]) for k in groups}):
        ours, theirs = groups.get((subs, rate, mine), []), groups.get((subs, rate, other), [])
        if not ours or not theirs or rate == 0:
            continue
        p99 = [a["latency_p99_ms"] / b["latency_p99_ms"] for a, b in zip(ours, theirs) if b["latency_p99_ms"]]
        p50 = [a["latency_p50_ms"] / b["latency_p50_ms"] for a, b in zip(ours, theirs) if b["latency_p50_ms"]]
        cpu = [a.get("server_cpu_secs_per_million", 0) / b["server_cpu_secs_per_million"] for a, b in zip(ours, theirs) if b.get("server_cpu_secs_per_million")]
        cpu_text = f"{', '.join(f'{x:.2f}' for x in cpu)} (median {statistics.median(cpu):.2f})" if cpu else "–"
        print(f"| {subs} | {rate:g} | {', '.join(f'{x:.2f}' for x in p99)} | {statistics.median(p99):.2f} | {', '.join(f'{x:.2f}' for x in p50)} | {cpu_text} |")
    print()
if any(k[2] == "netpulse-unfiltered" for k in groups):
    ratios_table("netpulse", "netpulse-unfiltered", "Access filtering on ÷ off (netpulse ÷ netpulse-unfiltered), run by run:")
print("netpulse ÷ nchan, run by run (the n-th run of each against the other's n-th):")
print()
print("| subscribers | events/s | p99 ratios | median p99 ratio | RSS after events ratio |")
print("|---|---|---|---|---|")
for (subs, rate) in sorted({(k[0], k[1]) for k in groups}):
    ours, theirs = groups.get((subs, rate, "netpulse"), []), groups.get((subs, rate, "nchan"), [])
    if not ours or not theirs or rate == 0:
        continue
    ratios = [a["latency_p99_ms"] / b["latency_p99_ms"] for a, b in zip(ours, theirs) if b["latency_p99_ms"]]
    mem = statistics.median(a.get("rss_per_connection_after_events_kib", 0) for a in ours) / max(statistics.median(b.get("rss_per_connection_after_events_kib", 0) for b in theirs), 0.001)
    print(f"| {subs} | {rate:g} | {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} | {mem:.2f} |")
PY
