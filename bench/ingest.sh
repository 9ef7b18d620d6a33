#!/usr/bin/env bash
# Agent ingest benchmarks against real netpulse processes, each fresh:
#  - throughput: 50 nodes send 200,000 numbered check results in batches of each size, the
#    server on CPU 1 and the senders on CPU 0; then the same rows through the sqlite3 shell;
#  - latency: 3 real `netpulse agent` processes with 20 one-second TCP checks each; the time
#    from a check's end on an agent to its event on the central SSE stream.
# Run from the repository root: bash bench/ingest.sh. REPEATS=3 runs each that many times.
# Prints JSON lines, also kept in target/bench/ingest.jsonl. Needs Debian's sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --features bench --bin netpulse --bin ingest-bench
mkdir -p target/bench
: > target/bench/ingest.jsonl
for run in $(seq "${REPEATS:-3}"); do
  for batch in ${BATCHES:-10 100 500 2000 5000}; do
    taskset -c 0 target/release/ingest-bench throughput --server-cpu 1 --agents "${AGENTS:-50}" --batch "$batch" \
      --results "${RESULTS:-200000}" | tee -a target/bench/ingest.jsonl
  done
  target/release/ingest-bench latency --agents 3 --monitors 20 --seconds "${SECONDS_OF_LOAD:-60}" | tee -a target/bench/ingest.jsonl
done
python3 - target/bench/ingest.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| batch | netpulse results/s | sqlite3 shell, same rows | netpulse / sqlite3 |")
print("|---|---|---|---|")
pending = None
for r in rows:
    if r["bench"] == "ingest_throughput":
        pending = r
    elif r["bench"] == "ingest_sqlite3_shell" and pending:
        print(f"| {pending['batch']} | {pending['results_per_second']:,.0f} | {r['results_per_second']:,.0f} | "
              f"{pending['results_per_second'] / r['results_per_second']:.2f} |")
        pending = None
print()
print("| run | results timed | p50 ms | p99 ms | max ms |")
print("|---|---|---|---|---|")
for i, r in enumerate([r for r in rows if r["bench"] == "ingest_latency"], 1):
    print(f"| {i} | {r['results']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} |")
PY
