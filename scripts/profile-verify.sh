#!/usr/bin/env bash
# Instructions per request of public verify beside hello world's, counted by callgrind: repeatable
# whatever else the machine runs, so it decides what to change and shows each change's effect.
#
#   scripts/profile-verify.sh [CODES] [REQUESTS]        (needs valgrind and curl)
#
# Registers CODES codes (default 100000) in a fresh sled store, serves it under callgrind with
# rate limiting off, and sends REQUESTS (default 2000) public JSON verifications of registered
# codes, cycled, over one keep-alive connection, after as many unmeasured ones (caches warm);
# then the same to the hello-world example. Prints each server's instructions per request (and
# the verifier's request path alone, which repeats to within a percent) and
# leaves the callgrind files in target/profile-verify/ (`callgrind_annotate --inclusive=yes` on them
# shows where the instructions go).
set -euo pipefail
cd "$(dirname "$0")/.."
CODES=${1:-100000}
REQUESTS=${2:-2000}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

cargo build --release --locked --bin partseal -p partseal --quiet
cargo build --release --locked -p partseal-verifier --example hello --quiet
P=$PWD/target/release/partseal
HELLO=$PWD/target/release/examples/hello
OUT=$PWD/target/profile-verify
mkdir -p "$OUT"

WORK=$(mktemp -d)
cleanup() { kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
$P authority init --out ca >/dev/null
$P keys generate --out maker >/dev/null
$P authority certify --authority ca --public-key maker.pub --name "Bench Brakes" --id bench-brakes \
    --prefix 690123 --valid-days 365 --out maker.cert >/dev/null
$P sign --key maker.key --cert maker.cert --gtin 06901234567892 --lot L2026A --count "$CODES" \
    --base-url http://127.0.0.1:8091 --out batch.jsonl 2>/dev/null
$P registry register --data data --trust ca/authority.pub --cert maker.cert batch.jsonl >/dev/null
sed 's/.*"uri":"\([^"]*\)".*/\1/' batch.jsonl | shuf -n "$REQUESTS" --random-source=batch.jsonl > uris.txt

# curl config sending every URI of a file on one keep-alive connection.
requests() { sed "s|^http://127.0.0.1:8091|http://127.0.0.1:$2|; s|.*|url = \"&\"\noutput = \"/dev/null\"|" "$1"; }

# Counts one server's instructions over REQUESTS requests: started uninstrumented, warmed,
# counted, dumped.
count() {
  local name=$1 port=$2 uris=$3; shift 3
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$name.%p" "$@" \
      >"$name.log" 2>&1 & SERVER=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null \
      || curl -sf -o /dev/null "http://127.0.0.1:$port/hello" 2>/dev/null; do sleep 0.5; done
  requests "$uris" "$port" | curl -s -H 'Accept: application/json' -K - >/dev/null
  callgrind_control -i on "$SERVER" >/dev/null
  requests "$uris" "$port" | curl -s -H 'Accept: application/json' -K - >/dev/null
  callgrind_control -i off "$SERVER" >/dev/null
  callgrind_control -d "$name" "$SERVER" >/dev/null
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
  local ir
  ir=$(callgrind_annotate "$OUT/$name".*.1 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  echo "$name: $ir instructions, $((ir / REQUESTS)) per request"
  # The verifier's request path alone (its connection task, inclusive): the repeatable figure,
  # apart from background threads that run by the clock (sled's flusher, the scan writer).
  local path
  path=$(callgrind_annotate --inclusive=yes "$OUT/$name".*.1 2>/dev/null \
      | awk 'index($0, "verifier::connection::Connection::run::{{closure}} [") && !p { gsub(",", "", $1); print $1; p = 1 }')
  [[ -n "$path" ]] && echo "$name: request path $((path / REQUESTS)) per request"
  return 0
}

rm -f "$OUT"/verify.* "$OUT"/hello.*
RUST_LOG=warn count verify 8091 uris.txt "$P" serve --data data --listen 127.0.0.1:8091 \
  --base-url http://127.0.0.1:8091 --rate-limit 0
count hello 8090 uris.txt "$HELLO" 127.0.0.1:8090
