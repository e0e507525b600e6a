#!/usr/bin/env bash
# Checks the OpenAPI contract against the real service: schemathesis, every check, against
# `partseal serve --demo` on a loopback port with a temporary data directory, once without a token,
# once with each role's token (manufacturer, distributor, shop) on the API, and signed in to the
# shop's station and the manufacturer's dashboard on their pages. Exits non-zero on any failure.
# Load stays on 127.0.0.1 and is bounded by the example count (MAX_EXAMPLES per operation and
# run, default 10). scripts/schemathesis_hooks.py generates values with check digits and puts the
# session's CSRF token in the pages' forms; scripts/schemathesis.toml says which status depends on
# the registry, not the request.
#
# Usage: scripts/api-fuzz.sh [path to a built partseal binary]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

SCHEMATHESIS_VERSION=4.32.5
max_examples="${MAX_EXAMPLES:-10}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
if [[ $# -gt 0 ]]; then
    binary="$1"
    [[ -x "$binary" ]] || { echo "no partseal binary at $binary" >&2; exit 2; }
else
    binary="$target_dir/release/partseal"
    [[ -x "$binary" ]] || cargo build --release --locked -p partseal
fi

venv="$target_dir/schemathesis-$SCHEMATHESIS_VERSION"
if [[ ! -x "$venv/bin/st" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d)
server=""
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port: bind port 0 and read what the kernel gave.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# The rate limits are for phones, not for a contract check that sends thousands of requests.
PARTSEAL_RATE_LIMIT=0 PARTSEAL_REPORT_RATE_LIMIT=0 \
    "$binary" serve --demo --data "$work/data" --listen "127.0.0.1:$port" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null || { cat "$work/serve.err" >&2; exit 1; }

# The demo prints its shop's and manufacturer's tokens and keeps them in files; a distributor
# is added through the running service's admin socket.
maker=$(cat "$work/data/demo/maker.token")
shop=$(cat "$work/data/demo/shop.token")
grep -qF "$maker" "$work/serve.out" && grep -qF "$shop" "$work/serve.out"
"$binary" admin party add --data "$work/data" --id dist-1 --role distributor --name "Distributor" >/dev/null
distributor=$("$binary" admin token create --data "$work/data" --party dist-1)

# Signed-in sessions for the pages, opened as a browser opens one: the sign-in form sets its CSRF
# token in a cookie and in the form; the form sends it with the party's token; the page it leads
# to carries the session's CSRF token, which every form of the session sends back.
csrf_of() { grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
sign_in() {
    local page="$1" token="$2" jar
    jar=$(mktemp -p "$work")
    curl -fsS -c "$jar" "$base$page" | csrf_of >"$jar.csrf"
    curl -fsS -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$(cat "$jar.csrf")" \
        --data-urlencode "token=$token" "$base/signin"
    session=$(awk '$6 == "partseal_session" { print $7 }' "$jar")
    session_csrf=$(curl -fsS -b "$jar" "$base$page" | csrf_of)
    [[ -n "$session" && -n "$session_csrf" ]] || { echo "cannot sign in to $page" >&2; exit 1; }
}

failed=0
run() {
    local who="$1"
    shift
    echo "== schemathesis, $who"
    # From the temporary directory, where schemathesis keeps its example database.
    if ! (cd "$work" && SCHEMATHESIS_HOOKS="$repo/scripts/schemathesis_hooks.py" \
        "$venv/bin/st" --config-file "$repo/scripts/schemathesis.toml" run "$base/openapi.json" \
        --url "$base" --checks all --max-examples "$max_examples" --seed 1 --workers 1 \
        --request-timeout 20 --no-color "$@") | tee "$work/st-$who.log"; then
        failed=1
    fi
    grep -E '^ *[0-9]+ generated' "$work/st-$who.log" | sed "s/^ */$who: /" >>"$work/counts"
}
# Without a token, every operation; with one, the parties' API (nothing else reads a token).
run anonymous
run manufacturer --include-path-regex '^/api/v1/' -H "Authorization: Bearer $maker"
run distributor --include-path-regex '^/api/v1/' -H "Authorization: Bearer $distributor"
run shop --include-path-regex '^/api/v1/' -H "Authorization: Bearer $shop"
# Signed in, the pages behind a session: the shop's station, the manufacturer's dashboard (whose
# upload takes the CSRF token as a header).
sign_in /shop "$shop"
PARTSEAL_CSRF="$session_csrf" run shop-station --include-path-regex '^/shop' \
    -H "Cookie: partseal_session=$session"
sign_in /dashboard "$maker"
PARTSEAL_CSRF="$session_csrf" run maker-dashboard --include-path-regex '^/dashboard' \
    -H "Cookie: partseal_session=$session" -H "X-CSRF-Token: $session_csrf"
echo "== test cases"
cat "$work/counts"
exit "$failed"
