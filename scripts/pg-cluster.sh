#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the tests and for trying the service:
#
#   scripts/pg-cluster.sh start DIR [PORT]   initdb in DIR (a new directory), start it on
#                                            127.0.0.1:PORT (default 55432), print its URL
#   scripts/pg-cluster.sh standby DIR PORT PRIMARY_PORT NAME
#                                            a synchronous streaming standby of the cluster on
#                                            127.0.0.1:PRIMARY_PORT, copied into DIR (a new
#                                            directory) and started on 127.0.0.1:PORT as
#                                            application_name NAME; the primary then waits for
#                                            it on every commit. Prints its URL once the primary
#                                            reports it in sync.
#   scripts/pg-cluster.sh promote DIR        make the standby in DIR a primary
#   scripts/pg-cluster.sh stop DIR           stop it (DIR stays; remove it yourself)
#   scripts/pg-cluster.sh resume DIR PORT    start the stopped cluster in DIR again on PORT
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

# Starts the cluster in DIR on 127.0.0.1:PORT. The settings are given on the command line, not
# written to postgresql.conf, so a standby copied from this cluster gets none of them.
# fsync stays on: the tests check durability. Enough connections for several replicas' pools;
# wal_level replica (the default, said here because standbys need it).
run_server() {
    local dir="$1" port="$2"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=300 -c wal_level=replica" start >/dev/null
}

case "${1:-}" in
start)
    dir="${2:?usage: pg-cluster.sh start DIR [PORT]}"
    port="${3:-55432}"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    run_server "$dir" "$port"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
standby)
    usage="usage: pg-cluster.sh standby DIR PORT PRIMARY_PORT NAME"
    dir="${2:?$usage}"
    port="${3:?$usage}"
    primary_port="${4:?$usage}"
    name="${5:?$usage}"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    # -R writes standby.signal and primary_conninfo; the line added after it (the last one wins)
    # names the standby, which is the name the primary's synchronous_standby_names waits for.
    as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/data" \
        -R -X stream -c fast
    echo "primary_conninfo = 'host=127.0.0.1 port=$primary_port user=postgres application_name=$name'" |
        as_postgres tee -a "$dir/data/postgresql.auto.conf" >/dev/null
    run_server "$dir" "$port"
    # Only now that the standby exists does the primary wait for it (set after the copy, so the
    # standby, once promoted, does not wait for itself).
    primary=(psql -h 127.0.0.1 -p "$primary_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
    "${primary[@]}" -c "ALTER SYSTEM SET synchronous_standby_names = '\"$name\"'" \
        -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 100); do
        state=$("${primary[@]}" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$name'")
        if [[ "$state" == sync ]]; then
            echo "postgres://postgres@127.0.0.1:$port/postgres"
            exit 0
        fi
        sleep 0.1
    done
    echo "the standby $name did not become synchronous (sync_state '${state:-}'); see $dir/server.log" >&2
    exit 1
    ;;
promote)
    dir="${2:?usage: pg-cluster.sh promote DIR}"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -w promote >/dev/null
    ;;
stop)
    dir="${2:?usage: pg-cluster.sh stop DIR}"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
resume)
    usage="usage: pg-cluster.sh resume DIR PORT"
    run_server "${2:?$usage}" "${3:?$usage}"
    ;;
*)
    echo "usage: pg-cluster.sh start DIR [PORT] | standby DIR PORT PRIMARY_PORT NAME | promote DIR | stop DIR | resume DIR PORT" >&2
    exit 2
    ;;
esac
