# Sourced by the browser benchmarks: a scratch directory that goes on exit,
# with the server they start ($pid) stopped, a free loopback port, and a wait
# until that server answers.
dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

wait_until_up() {
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/status" >/dev/null && return; sleep 0.1; done
  echo "netpulse did not start: $(cat "$dir/log")" >&2
  exit 1
}
