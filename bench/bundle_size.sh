#!/usr/bin/env bash
# The release browser bundle's gzipped size, checked against its budget (250 KiB).
#
# Builds only the WASM, the way `cargo leptos build --release` does: the same
# `wasm-release` profile, then wasm-bindgen, then wasm-opt with cargo-leptos's
# flags. It skips the release server build; its .wasm came out byte for byte
# the size of the full build's. Exits 1 when the bundle is over budget.
#
#     bash bench/bundle_size.sh            # budget 256000 bytes
#     BUNDLE_BUDGET_BYTES=250000 bash bench/bundle_size.sh
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${BUNDLE_BUDGET_BYTES:-256000}
[[ $budget =~ ^[0-9]+$ ]] || { echo "bundle-size: BUNDLE_BUDGET_BYTES must be a whole number of bytes, got '$budget'" >&2; exit 2; }
out=target/bundle-size
wasm_opt=end2end/node_modules/.bin/wasm-opt
[[ -x $wasm_opt ]] || { echo "bundle-size: $wasm_opt is missing; run cargo make setup" >&2; exit 2; }

cargo build --lib --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --profile wasm-release --target-dir target/front
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name netpulse \
  target/front/wasm32-unknown-unknown/wasm-release/netpulse.wasm
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$out/netpulse_bg.wasm" -o "$out/netpulse.wasm"

raw=$(wc -c <"$out/netpulse.wasm")
gzipped=$(gzip -9 -c "$out/netpulse.wasm" | wc -c)
echo "bundle-size: netpulse.wasm ${raw} B, ${gzipped} B gzipped (budget ${budget} B)"
if ((gzipped > budget)); then
  echo "bundle-size: over budget by $((gzipped - budget)) B" >&2
  exit 1
fi
