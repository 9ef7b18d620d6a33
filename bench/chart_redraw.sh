#!/usr/bin/env bash
# Chart redraw cost in a real Chromium: the dashboard's speed chart with two
# lines of 3,600 points each, redrawn on resize at 1x and 2x pixel density,
# timed by the page itself (`data-draw-ms`). The peer, in the same page, is the
# least any chart can do: the same 7,200 points stroked with bare Canvas 2D
# lineTo calls on a canvas of the same size.
#
#   PATH=$PWD/end2end/node_modules/.bin:$PATH cargo leptos build --release
#   bash bench/chart_redraw.sh
#
# Needs: sqlite3, Debian's chromium, and `npm ci` in end2end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NETPULSE_BIN:-target/release/netpulse}
. bench/lib_server.sh
cat > "$dir/netpulse.toml" <<EOF
node = "bench"
data_dir = "$dir/data"
[speed]
enabled = false
[ui]
points = 3600
EOF

start() {
  LEPTOS_SITE_ROOT=target/site "$bin" serve --listen "127.0.0.1:$port" --config "$dir/netpulse.toml" >"$dir/log" 2>&1 &
  pid=$!
  wait_until_up
}

# Once to create the database, then 3,600 speed tests over the last day
# (one every 24 s) written to its event log, which a restart loads.
start
kill "$pid"; wait "$pid" || true
now=$(date +%s%3N)
sqlite3 "$dir/data/netpulse.db" "
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3600)
  INSERT INTO event_log (id, topic, at_ms, data)
  SELECT i, 'speed', $now - (3600 - i) * 24000, json_object(
    'node', 'bench', 'target', 'http://198.18.0.1:3000/speedtest',
    'at', strftime('%Y-%m-%dT%H:%M:%SZ', ($now - (3600 - i) * 24000) / 1000, 'unixepoch'),
    'download_mbps', round(500 + 80 * sin(i / 40.0) + abs(random() % 40), 3),
    'upload_mbps', round(40 + 6 * cos(i / 25.0) + abs(random() % 5), 3),
    'latency_ms', 9.5, 'jitter_ms', 0.4, 'latency_down_ms', 40.0, 'latency_up_ms', 90.0,
    'bytes_down', 0, 'bytes_up', 0, 'error', NULL)
  FROM n;"
start
NETPULSE_URL="http://127.0.0.1:$port" npx --prefix end2end playwright test --config end2end/bench.config.ts chart-redraw
