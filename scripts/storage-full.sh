#!/usr/bin/env bash
# A manifest upload that fills the disk, against the real service (the figures in RELIABILITY.md).
#
#   sudo scripts/storage-full.sh [LINES] [FREE_MIB]      (needs root for mount, and curl)
#
# Mounts a 32 MiB tmpfs, runs `partseal serve --demo` on it, signs LINES codes (default 50000) with
# the demo manufacturer's key, fills the tmpfs with a file leaving FREE_MIB (default 8) free, and
# uploads the manifest: prints the answer (507 storage_full with the lines stored) and /readyz. Then
# deletes the file, times how long until /readyz says ready again, re-sends from the line the answer
# named, stops the service with SIGTERM and audits the store. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-50000}
FREE_MIB=${2:-8}
PORT=18711
[ "$(id -u)" = 0 ] || { echo "mounting a tmpfs needs root" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

cargo build --locked --bin partseal -p partseal --quiet
P=$PWD/target/debug/partseal
WORK=$(mktemp -d)
mkdir "$WORK/disk"
mount -t tmpfs -o size=32m tmpfs "$WORK/disk"
cleanup() {
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    umount "$WORK/disk" 2>/dev/null || umount -l "$WORK/disk"
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
DATA=disk/data
URL=http://127.0.0.1:$PORT

$P serve --demo --data $DATA --listen 127.0.0.1:$PORT >demo.out 2>serve.log &
SERVER=$!
until curl -sf -o /dev/null $URL/healthz; do sleep 0.2; done
MAKER=$(cat $DATA/demo/maker.token)
$P sign --key $DATA/demo/maker.key --cert $DATA/demo/maker.cert --gtin 06901234567892 --lot FULL2026 \
    --count "$LINES" --base-url $URL --out manifest.jsonl >/dev/null 2>&1

upload() {
    curl -s -o answer.json -w '%{http_code} in %{time_total} s\n' -H "Authorization: Bearer $MAKER" \
        -H 'Content-Type: application/x-ndjson' --data-binary "@$1" $URL/api/v1/manifests
    python3 -c 'import json; a = json.load(open("answer.json")); a.get("stored", {}).pop("rejections", None); a.pop("rejections", None); print(json.dumps(a))'
}

dd if=/dev/zero of=disk/filler bs=1M 2>/dev/null || true
truncate -s "-${FREE_MIB}M" disk/filler
echo "upload of $LINES lines with $FREE_MIB MiB free:"
upload manifest.jsonl
THROUGH=$(python3 -c 'import json; print(json.load(open("answer.json")).get("stored_through_line", 0))')
echo "/readyz: $(curl -s -w ' (%{http_code})' $URL/readyz)"

rm disk/filler
START=$(date +%s.%N)
until [ "$(curl -s -o /dev/null -w '%{http_code}' $URL/readyz)" = 200 ]; do sleep 0.05; done
echo "ready again $(python3 -c "import time; print(round(time.time() - $START, 2))") s after the file was deleted"

tail -n "+$((THROUGH + 1))" manifest.jsonl >rest.jsonl
echo "re-send from line $((THROUGH + 1)):"
upload rest.jsonl

kill -TERM "$SERVER"
wait "$SERVER" && echo "serve exited 0" || echo "serve exited $?"
SERVER=
$P registry audit --data $DATA
