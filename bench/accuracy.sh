#!/usr/bin/env bash
# How close `netpulse measure` comes to iperf3 on the same shaped link.
#
# Three network namespaces: the server (198.18.0.1) and the client (198.18.0.2)
# each joined by a veth pair to a middle one, where `delay-line` (bench/delay_line.rs)
# forwards every frame between the two pairs after half the RTT, so TCP stays end
# to end. `tc` tbf shapes the rate on the server's and the client's egress. Before
# trusting the line, each RTT is checked with ping and an unshaped iperf3 run. For
# each case, RUNS times: iperf3 download (-R) and upload, then `netpulse measure
# --json` with its default settings, all with 4 streams. A loopback row compares
# the two on 127.0.0.1 with no shaping. Prints Markdown tables; raw runs go to
# target/bench/accuracy.csv and target/bench/delay_line.csv.
#
#   sudo bash bench/accuracy.sh                          # every case, 5 runs
#   CASES="200:0 200:40" RUNS=2 sudo bash bench/accuracy.sh  # rate_mbit:rtt_ms
#
# Run it as root, with nothing else busy: iperf3, netpulse and the delay line share the CPU.
set -euo pipefail

CASES=${CASES:-"50:0 200:0 1000:0 50:20 200:20 1000:20 50:40 200:40 1000:40 50:100 200:100 1000:100"}
RUNS=${RUNS:-5}
LOOPBACK=${LOOPBACK:-1}
STREAMS=4
IPERF_SECONDS=6   # counted seconds; the first IPERF_OMIT are dropped, as netpulse's grace is
IPERF_OMIT=2
SRV=np-acc-srv
CLI=np-acc-cli
MID=np-acc-mid
SRV_IP=198.18.0.1
CLI_IP=198.18.0.2
PORT=3000
IPERF_PORT=5201

if [[ $EUID -ne 0 ]]; then
    echo "bench/accuracy.sh: run as root (it creates network namespaces)" >&2
    exit 2
fi
for tool in iperf3 tc ip jq ping; do
    command -v "$tool" >/dev/null || { echo "bench/accuracy.sh: $tool is missing" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ ! -x target/release/netpulse || -n "${REBUILD:-}" ]]; then
    cargo leptos build --release >&2
fi
if [[ ! -x target/release/delay-line || -n "${REBUILD:-}" ]]; then
    cargo build --release --features bench --bin delay-line >&2
fi
NETPULSE=$ROOT/target/release/netpulse
DELAY_LINE=$ROOT/target/release/delay-line
WORK=$(mktemp -d)
mkdir -p target/bench
CSV=$ROOT/target/bench/accuracy.csv
echo "case,tool,direction,run,mbps" > "$CSV"
LINE_CSV=$ROOT/target/bench/delay_line.csv
echo "rtt_ms,ping_min_ms,ping_avg_ms,ping_max_ms,iperf3_unshaped_mbps" > "$LINE_CSV"

HOST_PIDS=()
cleanup() {
    for ns in "$SRV" "$CLI" "$MID"; do
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
    for ns in "$SRV" "$CLI" "$MID"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    # The middle's ends have no addresses: the kernel there neither answers nor routes
    # what arrives; only the delay line moves it across.
    ip link add np-acc-s netns "$SRV" type veth peer name np-acc-sm netns "$MID"
    ip link add np-acc-c netns "$CLI" type veth peer name np-acc-cm netns "$MID"
    ip -n "$SRV" addr add "$SRV_IP/30" dev np-acc-s
    ip -n "$CLI" addr add "$CLI_IP/30" dev np-acc-c
    ip -n "$SRV" link set np-acc-s up
    ip -n "$CLI" link set np-acc-c up
    # TCP's default autotuning caps (4 MiB to send, 6 MiB to receive) hold one stream
    # under a 1 Gbit/s × 100 ms path's 12.5 MB; a host meant for such paths raises them.
    for ns in "$SRV" "$CLI"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 67108864" net.ipv4.tcp_wmem="4096 16384 67108864"
    done
    for end in np-acc-sm np-acc-cm; do
        ip -n "$MID" link set "$end" promisc on up
    done
}

cleanup_ns_only() {
    for ns in "$SRV" "$CLI" "$MID"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

LINE_PID=""
delay_line() { # rtt_ms: restart the line with half of it each way
    if [[ -n $LINE_PID ]]; then kill "$LINE_PID" 2>/dev/null || true; wait "$LINE_PID" 2>/dev/null || true; fi
    ip netns exec "$MID" "$DELAY_LINE" --a np-acc-sm --b np-acc-cm --delay-ms "$(awk "BEGIN { print $1 / 2 }")" 2>> "$WORK/delay-line.log" &
    LINE_PID=$!
    sleep 0.3
}

check_delay_line() { # rtt_ms: ping's round trips and iperf3's unshaped rate through the line
    unshape
    ip netns exec "$CLI" ping -c 1 -W 2 "$SRV_IP" > /dev/null   # resolves ARP through the line first
    local summary
    summary=$(ip netns exec "$CLI" ping -c 20 -i 0.05 "$SRV_IP" | awk -F'[/ ]' '/^rtt/ { print $7 "," $8 "," $9 }')
    local ceiling
    ceiling=$(ip netns exec "$CLI" iperf3 -c "$SRV_IP" -p "$IPERF_PORT" -P "$STREAMS" -t 4 -O 1 -J | jq '.end.sum_received.bits_per_second / 1e6')
    echo "$1,$summary,$ceiling" >> "$LINE_CSV"
    echo "  delay line at $1 ms: ping min,avg,max $summary ms; unshaped iperf3 $ceiling Mbit/s" >&2
}

unshape() {
    for side in "$SRV np-acc-s" "$CLI np-acc-c"; do
        set -- $side
        tc -n "$1" qdisc del dev "$2" root 2>/dev/null || true
    done
}

shape() { # rate_mbit: the same rate leaving the server and leaving the client
    local rate=$1
    # Ten milliseconds of line rate, and never less than a 64 KiB GSO packet.
    local burst=$(( rate * 1000000 / 8 / 100 ))
    (( burst < 131072 )) && burst=131072
    unshape
    for side in "$SRV np-acc-s" "$CLI np-acc-c"; do
        set -- $side
        tc -n "$1" qdisc add dev "$2" root handle 1: tbf rate "${rate}mbit" burst "$burst" latency 100ms
    done
}

iperf_run() { # prefix host port direction(download|upload)
    local reverse=() mbps=""
    [[ $4 == download ]] && reverse=(-R)
    # An iperf3 server takes one test at a time and may still be closing the last one: try again.
    for _ in 1 2 3; do
        mbps=$($1 iperf3 -c "$2" -p "$3" -P "$STREAMS" -t "$IPERF_SECONDS" -O "$IPERF_OMIT" "${reverse[@]}" -J \
            | jq '.end.sum_received.bits_per_second // empty | . / 1e6' || true)
        [[ -n $mbps ]] && break
        sleep 1
    done
    echo "$mbps"
}

netpulse_run() { # prefix base-url; prints "download upload". Default settings but the stream count, which iperf3 matches.
    $1 "$NETPULSE" measure --target "$2" --json --streams "$STREAMS" \
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
ip netns exec "$SRV" iperf3 -s -p "$IPERF_PORT" -D
ip netns exec "$SRV" "$NETPULSE" --config "$(server_config "$SRV_IP:$PORT" ns)" > "$WORK/server-ns.log" 2>&1 &
delay_line 0
wait_for_port "ip netns exec $CLI" "$SRV_IP" "$PORT"
wait_for_port "ip netns exec $CLI" "$SRV_IP" "$IPERF_PORT"

current_rtt=""
for case in $CASES; do
    rate=${case%%:*}
    rtt=${case##*:}
    if [[ $rtt != "$current_rtt" ]]; then
        echo "delay line: $rtt ms RTT" >&2
        delay_line "$rtt"
        check_delay_line "$rtt"
        current_rtt=$rtt
    fi
    echo "shaping to $rate Mbit/s at $rtt ms RTT" >&2
    shape "$rate"
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

python3 - "$CSV" "$LINE_CSV" <<'PY'
import csv, statistics, sys
line = list(csv.DictReader(open(sys.argv[2])))
if line:
    print("| RTT added by the delay line | ping min / avg / max ms | unshaped iperf3 through it, Mbit/s |")
    print("|---|---|---|")
    for r in line:
        print(f"| {r['rtt_ms']} ms | {float(r['ping_min_ms']):.2f} / {float(r['ping_avg_ms']):.2f} / {float(r['ping_max_ms']):.2f} | {float(r['iperf3_unshaped_mbps']):,.0f} |")
    print()
rows = list(csv.DictReader(open(sys.argv[1])))
cases = list(dict.fromkeys(r["case"] for r in rows))
def runs(case, tool, direction):
    # A run with no figure (a tool that failed) is left out, and counted below.
    return [float(r["mbps"]) for r in rows if (r["case"], r["tool"], r["direction"]) == (case, tool, direction) and r["mbps"] not in ("", "null")]
failed = [r for r in rows if r["mbps"] in ("", "null")]
def cv(values):
    return statistics.pstdev(values) / statistics.mean(values) * 100 if len(values) > 1 else 0.0
print("| link | direction | iperf3 Mbit/s (CV) | netpulse Mbit/s (CV) | netpulse ÷ iperf3 | iperf3 ÷ shaped | netpulse ÷ shaped |")
print("|---|---|---|---|---|---|---|")
for case in cases:
    shaped = float(case.split()[0]) if case != "loopback" else None
    for direction in ("download", "upload"):
        i, n = runs(case, "iperf3", direction), runs(case, "netpulse", direction)
        if not i or not n:
            print(f"| {case} | {direction} | no figure from {'iperf3' if not i else 'netpulse'} in any run | | | | |")
            continue
        im, nm = statistics.mean(i), statistics.mean(n)
        of_shaped = lambda m: f"{m / shaped:.3f}" if shaped else "–"
        print(f"| {case} | {direction} | {im:,.1f} ({cv(i):.1f}%) | {nm:,.1f} ({cv(n):.1f}%) | {nm / im:.3f} | {of_shaped(im)} | {of_shaped(nm)} |")
shaped_cases = [c for c in cases if c != "loopback"]
if shaped_cases:
    measured = [(c, d) for c in shaped_cases for d in ("download", "upload") if runs(c, "netpulse", d) and runs(c, "iperf3", d)]
    ratios = [statistics.mean(runs(c, "netpulse", d)) / statistics.mean(runs(c, "iperf3", d)) for c, d in measured] or [float("nan")]
    cvs = [cv(runs(c, "netpulse", d)) for c, d in measured] or [float("nan")]
    print()
    if failed:
        print(f"{len(failed)} runs gave no figure and are left out: " + ", ".join(f"{r['case']} {r['tool']} {r['direction']} run {r['run']}" for r in failed) + ".")
    print(f"Shaped cases: netpulse within {max(abs(r - 1) for r in ratios) * 100:.1f}% of iperf3 at worst (target 3%); its CV at most {max(cvs):.1f}% (target 3%).")
PY
