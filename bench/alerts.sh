#!/usr/bin/env bash
# Alert benchmarks against real netpulse processes, each fresh, everything on CPU 1:
#  - latency: publish the deciding sample -> webhook request at a receiver on loopback;
#  - cost: server CPU with 1,000 rules over 200 series against the same load with none.
# Run from the repository root: bash bench/alerts.sh. REPEATS=3 runs each that many times.
# Prints JSON lines, also kept in target/bench/alerts.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features bench --bin netpulse --bin alert-bench
mkdir -p target/bench
: > target/bench/alerts.jsonl
for run in $(seq "${REPEATS:-3}"); do
  taskset -c 1 target/release/alert-bench latency --incidents "${INCIDENTS:-400}" | tee -a target/bench/alerts.jsonl
  taskset -c 1 target/release/alert-bench cost --seconds "${SECONDS_OF_LOAD:-20}" --rate "${RATE:-100}" | tee -a target/bench/alerts.jsonl
done
python3 - target/bench/alerts.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lat = [r for r in rows if r["bench"] == "alert_latency"]
print()
print("| run | notifications | p50 ms | p99 ms | max ms |")
print("|---|---|---|---|---|")
for i, r in enumerate(lat, 1):
    print(f"| {i} | {r['notifications']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} |")
cost = [r for r in rows if r["bench"] == "alert_cost"]
print()
print("| run | CPU, no rules (% of a core) | CPU, 1000 rules | evaluator (difference) | ratio |")
print("|---|---|---|---|---|")
for i in range(0, len(cost) - 1, 2):
    a, b = cost[i], cost[i + 1]
    print(f"| {i // 2 + 1} | {a['cpu_percent_of_one_core']:.2f} | {b['cpu_percent_of_one_core']:.2f} | "
          f"{b['cpu_percent_of_one_core'] - a['cpu_percent_of_one_core']:.2f} | {b['cpu_percent_of_one_core'] / a['cpu_percent_of_one_core']:.2f} |")
PY
