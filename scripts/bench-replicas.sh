#!/usr/bin/env bash
# Replicas contending for the same parts, beside the database's raw limit in the same run:
#
#   scripts/bench-replicas.sh [SECONDS] [WRITERS] [CODES]     (defaults 20, 64, 10)
#
# Starts a throwaway PostgreSQL cluster on loopback (scripts/pg-cluster.sh), registers 10,000
# codes there, and serves them with two `partseal serve --database-url` replicas (release build,
# rate limiting off). WRITERS shop clients, half on each replica, then record receipts of the
# first CODES codes for SECONDS (verifier/examples/shared_codes.rs: every code written through
# both replicas at once). Prints the clients' answers and latency, the deadlocks PostgreSQL
# counted in the database and what the replicas logged about them, then `pgbench -N` (scale 10,
# WRITERS clients, 10 s) on the same cluster. Exits non-zero on any answer other than 200 or any
# deadlock. Everything (cluster included) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_OF_LOAD=${1:-20}
WRITERS=${2:-64}
CODES=${3:-10}
REGISTERED=10000

cargo build --release --locked --bin partseal -p partseal --quiet
cargo build --release --locked -p partseal-verifier --example shared_codes --quiet
P=$PWD/target/release/partseal
LOAD=$PWD/target/release/examples/shared_codes
CLUSTER=$PWD/scripts/pg-cluster.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
# The server runs as `postgres` when this runs as root: it must reach its directory.
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -d "$WORK/pg/data" ]] && "$CLUSTER" stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PG_PORT=$(free_port)
"$CLUSTER" start "$WORK/pg" "$PG_PORT" >/dev/null
psql_() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_ -d postgres -c "CREATE DATABASE partseal" -c "CREATE DATABASE pgbench"
URL="postgres://postgres@127.0.0.1:$PG_PORT/partseal"

cd "$WORK"
$P authority init --out ca >/dev/null
$P keys generate --out maker >/dev/null
$P authority certify --authority ca --public-key maker.pub --name "Bench Brakes" --id bench-brakes \
    --prefix 690123 --valid-days 365 --out maker.cert >/dev/null
$P sign --key maker.key --cert maker.cert --gtin 06901234567892 --lot L2026A --count "$REGISTERED" \
    --base-url http://verify.example.cn --out batch.jsonl 2>/dev/null
$P registry register --database-url "$URL" --trust ca/authority.pub --cert maker.cert batch.jsonl >/dev/null
$P admin trust --database-url "$URL" --authority ca/authority.pub --cert maker.cert >/dev/null
$P admin party add --database-url "$URL" --id bench-brakes --role manufacturer --name "Bench Brakes" >/dev/null
$P admin party add --database-url "$URL" --id shop-1 --role shop --name "Shop" >/dev/null
TOKEN=$($P admin token create --database-url "$URL" --party shop-1 2>/dev/null)
head -n "$CODES" batch.jsonl | sed 's/.*"uri":"http:\/\/verify.example.cn\([^"]*\)".*/\1/' > codes.txt

REPLICAS=()
for i in 1 2; do
  port=$(free_port)
  RUST_LOG=warn $P serve --data "replica-$i" --database-url "$URL" --listen "127.0.0.1:$port" \
      --rate-limit 0 2>"replica-$i.log" & PIDS+=($!)
  REPLICAS+=("127.0.0.1:$port")
done
for r in "${REPLICAS[@]}"; do
  for _ in $(seq 100); do curl -sf "http://$r/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "== $WRITERS writers on $CODES shared codes through 2 replicas, ${SECONDS_OF_LOAD} s"
status=0
"$LOAD" --replicas "$(IFS=,; echo "${REPLICAS[*]}")" --token "$TOKEN" --codes codes.txt \
    --writers "$WRITERS" --seconds "$SECONDS_OF_LOAD" || status=1
for pid in "${PIDS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
PIDS=()
# The replicas' connections have ended, so the database has counted everything they did.
sleep 1
DEADLOCKS=$(psql_ -d partseal -c "SELECT deadlocks FROM pg_stat_database WHERE datname = 'partseal'")
LOGGED=$(cat replica-*.log | grep -c -i "deadlock" || true)
echo "deadlocks (pg_stat_database): $DEADLOCKS; replicas' log lines naming a deadlock: $LOGGED"
[[ "$DEADLOCKS" == 0 ]] || status=1

echo "== the raw limit: pgbench -N, scale 10, $WRITERS clients, 10 s, same cluster"
pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s 10 -q pgbench >/dev/null 2>&1
pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -N -c "$WRITERS" -j 2 -T 10 pgbench 2>/dev/null |
  grep -E "^(tps|latency average)"
exit "$status"
