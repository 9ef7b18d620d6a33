#!/usr/bin/env bash
# How close `netpulse measure` comes to iperf3 on the same shaped link.
#
# Two network namespaces joined by a veth pair (198.18.0.1 server, 198.18.0.2
# client); `tc` shapes both directions with tbf for the rate and netem for the
# delay. For each case, RUNS times: iperf3 download (-R) and upload, then
# `netpulse measure --json`, all with 4 streams. A loopback row compares the
# two on 127.0.0.1 with no shaping. Prints a Markdown table; raw runs go to
# target/bench/accuracy.csv.
#
#   sudo bash bench/accuracy.sh                       # every case, 5 runs
#   CASES="200:0" RUNS=2 sudo bash bench/accuracy.sh  # rate_mbit:rtt_ms
#
# Run it as root, with nothing else busy: iperf3, netpulse and tc all share the CPU.
set -euo pipefail

CASES=${CASES:-"50:0 50:40 200:0 200:40 1000:0 1000:40"}
RUNS=${RUNS:-5}
LOOPBACK=${LOOPBACK:-1}
STREAMS=4
IPERF_SECONDS=6   # counted seconds; the first IPERF_OMIT are dropped, as netpulse's grace is
IPERF_OMIT=2
SRV=np-acc-srv
CLI=np-acc-cli
SRV_IP=198.18.0.1
CLI_IP=198.18.0.2
PORT=3000
IPERF_PORT=5201

if [[ $EUID -ne 0 ]]; then
    echo "bench/accuracy.sh: run as root (it creates network namespaces)" >&2
    exit 2
fi
for tool in iperf3 tc ip jq; do
    command -v "$tool" >/dev/null || { echo "bench/accuracy.sh: $tool is missing" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ ! -x target/release/netpulse || -n "${REBUILD:-}" ]]; then
    cargo leptos build --release >&2
fi
NETPULSE=$ROOT/target/release/netpulse
WORK=$(mktemp -d)
mkdir -p target/bench
CSV=$ROOT/target/bench/accuracy.csv
echo "case,tool,direction,run,mbps" > "$CSV"

HOST_PIDS=()
cleanup() {
    for ns in "$SRV" "$CLI"; do
        if ip netns list | grep -qw "$ns"; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    for pid in "${HOST_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_config() { # listen address
    # A speed-test target needs no dashboard, but netpulse checks for a built bundle at start-up.
    mkdir -p "$WORK/site/pkg" && : > "$WORK/site/pkg/netpulse.js" && : > "$WORK/site/pkg/netpulse.wasm"
    printf 'listen = "%s"\nnode = "accuracy-server"\nsite_root = "%s"\n[speed]\nenabled = false\n' "$1" "$WORK/site" > "$WORK/server-$2.toml"
    echo "$WORK/server-$2.toml"
}

wait_for_port() { # netns-prefix host port
    for _ in $(seq 1 100); do
        if $1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "bench/accuracy.sh: nothing listens on $2:$3" >&2
    exit 1
}

setup_namespaces() {
    cleanup_ns_only
    ip netns add "$SRV"
    ip netns add "$CLI"
    ip link add np-acc-s netns "$SRV" type veth peer name np-acc-c netns "$CLI"
    ip -n "$SRV" addr add "$SRV_IP/30" dev np-acc-s
    ip -n "$CLI" addr add "$CLI_IP/30" dev np-acc-c
    for ns in "$SRV" "$CLI"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$SRV" link set np-acc-s up
    ip -n "$CLI" link set np-acc-c up
}

cleanup_ns_only() {
    for ns in "$SRV" "$CLI"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

shape() { # rate_mbit rtt_ms: the same rate and half the RTT on each side
    local rate=$1 rtt=$2
    # Ten milliseconds of line rate, and never less than a 64 KiB GSO packet.
    local burst=$(( rate * 1000000 / 8 / 100 ))
    (( burst < 131072 )) && burst=131072
    for side in "$SRV np-acc-s" "$CLI np-acc-c"; do
        set -- $side
        tc -n "$1" qdisc del dev "$2" root 2>/dev/null || true
        if (( rtt > 0 )); then
            # tbf holds the rate; netem below it holds each packet for half the RTT.
            tc -n "$1" qdisc add dev "$2" root handle 1: tbf rate "${rate}mbit" burst "$burst" latency 100ms
            tc -n "$1" qdisc add dev "$2" parent 1:1 handle 10: netem delay "$((rtt / 2))ms" limit 100000
        else
            tc -n "$1" qdisc add dev "$2" root handle 1: tbf rate "${rate}mbit" burst "$burst" latency 50ms
        fi
    done
}

iperf_run() { # prefix host port direction(download|upload)
    local reverse=()
    [[ $4 == download ]] && reverse=(-R)
    $1 iperf3 -c "$2" -p "$3" -P "$STREAMS" -t "$IPERF_SECONDS" -O "$IPERF_OMIT" "${reverse[@]}" -J \
        | jq '.end.sum_received.bits_per_second / 1e6'
}

netpulse_run() { # prefix base-url; prints "download upload"
    $1 "$NETPULSE" measure --target "$2" --json --streams "$STREAMS" --budget-mb 0 \
        | jq -r '"\(.download_mbps) \(.upload_mbps)"'
}

measure_case() { # label prefix host port iperf_port
    local label=$1 prefix=$2 host=$3 port=$4 iperf_port=$5
    for run in $(seq 1 "$RUNS"); do
        for direction in download upload; do
            echo "$label,iperf3,$direction,$run,$(iperf_run "$prefix" "$host" "$iperf_port" "$direction")" >> "$CSV"
        done
        read -r down up < <(netpulse_run "$prefix" "http://$host:$port/speedtest")
        echo "$label,netpulse,download,$run,$down" >> "$CSV"
        echo "$label,netpulse,upload,$run,$up" >> "$CSV"
        echo "  $label run $run done" >&2
    done
}

setup_namespaces
# Delay needs sch_netem; kernels built without it (some VM kernels) skip those cases.
if ! tc -n "$SRV" qdisc add dev np-acc-s root netem delay 1ms 2>/dev/null; then
    echo "note: this kernel has no netem qdisc, so cases with an added RTT are skipped" >&2
    kept=""
    for case in $CASES; do
        [[ ${case##*:} == 0 ]] && kept="$kept $case"
    done
    CASES=$kept
fi
tc -n "$SRV" qdisc del dev np-acc-s root 2>/dev/null || true
ip netns exec "$SRV" iperf3 -s -p "$IPERF_PORT" -D
ip netns exec "$SRV" "$NETPULSE" --config "$(server_config "$SRV_IP:$PORT" ns)" > "$WORK/server-ns.log" 2>&1 &
wait_for_port "ip netns exec $CLI" "$SRV_IP" "$PORT"
wait_for_port "ip netns exec $CLI" "$SRV_IP" "$IPERF_PORT"

for case in $CASES; do
    rate=${case%%:*}
    rtt=${case##*:}
    echo "shaping to $rate Mbit/s, $rtt ms RTT" >&2
    shape "$rate" "$rtt"
    measure_case "$rate Mbit/s $rtt ms RTT" "ip netns exec $CLI" "$SRV_IP" "$PORT" "$IPERF_PORT"
done

if [[ $LOOPBACK == 1 ]]; then
    echo "loopback" >&2
    iperf3 -s -B 127.0.0.1 -p 15201 > /dev/null 2>&1 &
    HOST_PIDS+=($!)
    "$NETPULSE" --config "$(server_config "127.0.0.1:13000" lo)" > "$WORK/server-lo.log" 2>&1 &
    HOST_PIDS+=($!)
    wait_for_port "" 127.0.0.1 13000
    wait_for_port "" 127.0.0.1 15201
    measure_case "loopback" "" 127.0.0.1 13000 15201
fi

python3 - "$CSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cases = list(dict.fromkeys(r["case"] for r in rows))
def runs(case, tool, direction):
    return [float(r["mbps"]) for r in rows if (r["case"], r["tool"], r["direction"]) == (case, tool, direction)]
def cv(values):
    return statistics.pstdev(values) / statistics.mean(values) * 100 if len(values) > 1 else 0.0
print("| link | direction | iperf3 Mbit/s (CV) | netpulse Mbit/s (CV) | netpulse ÷ iperf3 | iperf3 ÷ shaped | netpulse ÷ shaped |")
print("|---|---|---|---|---|---|---|")
for case in cases:
    shaped = float(case.split()[0]) if case != "loopback" else None
    for direction in ("download", "upload"):
        i, n = runs(case, "iperf3", direction), runs(case, "netpulse", direction)
        im, nm = statistics.mean(i), statistics.mean(n)
        of_shaped = lambda m: f"{m / shaped:.3f}" if shaped else "–"
        print(f"| {case} | {direction} | {im:,.1f} ({cv(i):.1f}%) | {nm:,.1f} ({cv(n):.1f}%) | {nm / im:.3f} | {of_shaped(im)} | {of_shaped(nm)} |")
PY
