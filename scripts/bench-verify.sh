#!/usr/bin/env bash
# Load benchmark of public verification, beside a hello-world axum endpoint in the same run.
#
#   scripts/bench-verify.sh [CODES] [SECONDS]      (needs wrk: apt-get install wrk)
#
# Registers CODES codes (default 100000) in a fresh store, serves it with rate limiting off, and
# runs `wrk -t2 -c64` for SECONDS (default 10) against: the hello-world endpoint (plain, and sent
# the verifier's own requests through the same wrk script, which costs the client more), the
# verifier's public JSON verify of registered codes (cycling through all of them, scan recording
# included), and the typed lookup. Both servers and wrk share this machine's cores, as the numbers in
# BENCHMARKS.md were measured.
#
# With PARTSEAL_BENCH_DATABASE_URL (an empty PostgreSQL database) the registry is there instead of
# sled in a data directory: a replica's rate, with the server on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
CODES=${1:-100000}
SECONDS_PER_RUN=${2:-10}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

cargo build --release --locked --bin partseal -p partseal --quiet
cargo build --release --locked -p partseal-verifier --example hello --quiet
P=$PWD/target/release/partseal
HELLO=$PWD/target/release/examples/hello

WORK=$(mktemp -d)
cleanup() { kill "${SERVER:-}" "${HELLO_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
$P authority init --out ca >/dev/null
$P keys generate --out maker >/dev/null
$P authority certify --authority ca --public-key maker.pub --name "Bench Brakes" --id bench-brakes \
    --prefix 690123 --valid-days 365 --out maker.cert >/dev/null
$P sign --key maker.key --cert maker.cert --gtin 06901234567892 --lot L2026A --count "$CODES" \
    --base-url http://127.0.0.1:8091 --out batch.jsonl 2>/dev/null
# Where the registry is: sled in ./data, or the database.
if [[ -n "${PARTSEAL_BENCH_DATABASE_URL:-}" ]]; then
  STORE=(--data data --database-url "$PARTSEAL_BENCH_DATABASE_URL")
  REGISTRY=(--database-url "$PARTSEAL_BENCH_DATABASE_URL")
else
  STORE=(--data data)
  REGISTRY=(--data data)
fi
$P registry register "${REGISTRY[@]}" --trust ca/authority.pub --cert maker.cert batch.jsonl >/dev/null
sed 's/.*"uri":"http:\/\/127.0.0.1:8091\([^"]*\)".*/\1/' batch.jsonl > paths.txt
sed -n '1~97p' paths.txt | sed 's/.*\/21\/\([^?]*\)?.*/\/lookup?gtin=06901234567892\&serial=\1/' > lookups.txt

cat > cycle.lua <<'LUA'
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept"] = "application/json" })
end
LUA

$HELLO 127.0.0.1:8090 & HELLO_PID=$!
RUST_LOG=warn $P serve "${STORE[@]}" --listen 127.0.0.1:8091 --base-url http://127.0.0.1:8091 \
    --rate-limit 0 2>serve.log & SERVER=$!
for port in 8090 8091; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/${port/8090/hello}" >/dev/null 2>&1 && break
    curl -sf "http://127.0.0.1:8091/healthz" >/dev/null 2>&1 && [ "$port" = 8091 ] && break; sleep 0.1; done
done

# Prints wrk's figures and keeps the rate in $RATE.
run() {
  echo "== $1"; shift
  wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" --latency "$@" > wrk.out
  grep -E "Requests/sec|Latency |  50%|  99%|Non-2xx" wrk.out
  RATE=$(awk '/Requests\/sec/ { print $2 }' wrk.out)
}
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }

# A running service has its caches warm: a pass over the codes before measuring, long enough for
# every code to have been asked for (WARMUP_SECONDS, by default the length of a run).
WARMUP_SECONDS=${WARMUP_SECONDS:-$SECONDS_PER_RUN}
SECONDS_PER_RUN=$WARMUP_SECONDS PATHS=paths.txt run "warm-up (not a measurement): public verify" \
  -s cycle.lua http://127.0.0.1:8091
# Two rounds, alternating, so a burst of other load on the machine shows up as a disagreement
# between rounds rather than as a difference between endpoints.
for round in 1 2; do
  run "round $round: hello world (axum, JSON)" http://127.0.0.1:8090/hello
  HELLO_RATE=$RATE
  # The same requests as the verifier gets, through the same script: what the client costs.
  PATHS=paths.txt run "round $round: hello world, sent the verifier's requests" -s cycle.lua http://127.0.0.1:8090
  SAME_RATE=$RATE
  PATHS=paths.txt run "round $round: public verify, JSON, $CODES registered codes cycled" -s cycle.lua http://127.0.0.1:8091
  echo "-- round $round: verify at $(share "$RATE" "$HELLO_RATE") of hello world," \
       "$(share "$RATE" "$SAME_RATE") of hello world sent the same requests"
done
PATHS=lookups.txt run "typed lookup, JSON" -s cycle.lua http://127.0.0.1:8091
echo "== store after the runs"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
$P registry stats "${REGISTRY[@]}" | grep -E "codes|scanned|bytes"
