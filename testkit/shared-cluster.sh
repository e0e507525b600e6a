#!/usr/bin/env bash
# The PostgreSQL cluster the tests share when PARTSEAL_TEST_DATABASE_URL is not set
# (testkit/src/postgres.rs): the first test binary that needs a server starts it, the others (of
# the same run, and of runs alongside it) join it, and a watcher stops and removes it once no
# test binary has used it for a minute: never a server left running for good, and one port for
# all, so concurrent runs do not clash.
#
#   shared-cluster.sh join DIR PID PORT   start the cluster in DIR on 127.0.0.1:PORT unless it
#                                         runs already, note test process PID as a user, print
#                                         the cluster's URL
#   shared-cluster.sh watch DIR           (started by join) stop the cluster and remove DIR
#                                         once no user has been alive for a minute
#
# DIR.lock, beside DIR and never removed, serialises every change: a lock file inside DIR could
# be removed while another process waits on it.
set -euo pipefail

cluster="$(cd "$(dirname "$0")/.." && pwd)/scripts/pg-cluster.sh"
idle_seconds=60

running() {
    [[ -f "$dir/port" ]] && psql -h 127.0.0.1 -p "$(cat "$dir/port")" -U postgres -d postgres \
        -qAtc 'SELECT 1' >/dev/null 2>&1
}

alive() {
    [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

case "${1:-}" in
join)
    usage="usage: shared-cluster.sh join DIR PID PORT"
    dir="${2:?$usage}"
    pid="${3:?$usage}"
    port="${4:?$usage}"
    exec 9>"$dir.lock"
    flock 9
    if ! running; then
        # Whatever an interrupted run left behind.
        [[ -d "$dir/cluster/data" ]] && bash "$cluster" stop "$dir/cluster" >/dev/null 2>&1 9>&- || true
        rm -rf "$dir"
        mkdir -p "$dir/users"
        # The server runs as `postgres` when the tests run as root: it must reach its directory.
        chmod 755 "$dir"
        # 9>&-: the server must not inherit the lock, or hold it for as long as it runs.
        bash "$cluster" start "$dir/cluster" "$port" >/dev/null 9>&-
        echo "$port" >"$dir/port"
    fi
    if ! alive "$dir/watcher"; then
        setsid -f bash "$0" watch "$dir" </dev/null >/dev/null 2>&1 9>&-
    fi
    touch "$dir/users/$pid"
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
    ;;
watch)
    dir="${2:?usage: shared-cluster.sh watch DIR}"
    echo $$ >"$dir/watcher"
    last_used=$(date +%s)
    while sleep 2; do
        exec 9>"$dir.lock"
        flock 9
        # Another join found this cluster gone and started a new one, with its own watcher.
        [[ "$(cat "$dir/watcher" 2>/dev/null)" == "$$" ]] || exit 0
        now=$(date +%s)
        for user in "$dir"/users/*; do
            [[ -e "$user" ]] || continue
            # A user seen alive, or gone since the last look: used until now.
            kill -0 "${user##*/}" 2>/dev/null || rm -f "$user"
            last_used=$now
        done
        if ((now - last_used >= idle_seconds)); then
            bash "$cluster" stop "$dir/cluster" >/dev/null 2>&1 || true
            rm -rf "$dir"
            exit 0
        fi
        exec 9>&-
    done
    ;;
*)
    echo "usage: shared-cluster.sh join DIR PID PORT | watch DIR" >&2
    exit 2
    ;;
esac
