#!/usr/bin/env bash
# What a first visit to the dashboard transfers, in Debian's Chromium, counted
# with the DevTools protocol (encodedDataLength: bytes as they crossed the
# wire) from the first request until the page is hydrated and live. Three
# visits as the browser asks (brotli, gzip), against the same server asked
# for identity: the peer, as every visit was before compression.
#
#   PATH=$PWD/end2end/node_modules/.bin:$PATH cargo leptos build --release --precompress
#   bash bench/first_visit.sh
#
# Needs: Debian's chromium and `npm ci` in end2end. Writes nothing to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NETPULSE_BIN:-target/release/netpulse}
site=${LEPTOS_SITE_ROOT:-target/site}
if ! ls "$site"/pkg/*.wasm.br >/dev/null 2>&1; then
  echo "first_visit: $site/pkg has no .br files; build with cargo leptos build --release --precompress" >&2
  exit 2
fi
. bench/lib_server.sh
cat > "$dir/netpulse.toml" <<TOML
node = "bench"
data_dir = "$dir/data"
site_root = "$site"
[speed]
interval = 3600
[[speed.target]]
url = "http://127.0.0.1:$port/speedtest"
TOML
"$bin" serve --listen "127.0.0.1:$port" --config "$dir/netpulse.toml" >"$dir/log" 2>&1 &
pid=$!
wait_until_up
NETPULSE_URL="http://127.0.0.1:$port" npx --prefix end2end playwright test --config end2end/bench.config.ts first-visit
