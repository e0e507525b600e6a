#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the tests and for trying the service:
#
#   scripts/pg-cluster.sh start DIR [PORT]   initdb in DIR (a new directory), start it on
#                                            127.0.0.1:PORT (default 55432), print its URL
#   scripts/pg-cluster.sh stop DIR           stop it (DIR stays; remove it yourself)
#
# Debian's PostgreSQL (package postgresql); run as root, the server runs as the `postgres` user,
# as it refuses to run as root. The cluster trusts local connections: a test cluster only.
set -euo pipefail

bin=""
for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x "$candidate/initdb" ]] && bin="$candidate"
done
[[ -n "$bin" ]] || { echo "PostgreSQL's server is not installed (apt-get install postgresql)" >&2; exit 2; }

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "${1:-}" in
start)
    dir="${2:?usage: pg-cluster.sh start DIR [PORT]}"
    port="${3:-55432}"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    # fsync stays on: the tests check durability. Enough connections for several replicas' pools.
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=300" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    dir="${2:?usage: pg-cluster.sh stop DIR}"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: pg-cluster.sh start DIR [PORT] | stop DIR" >&2
    exit 2
    ;;
esac
