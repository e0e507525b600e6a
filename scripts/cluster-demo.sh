#!/usr/bin/env bash
# The service past one machine, tried on one: PostgreSQL, two `partseal serve` replicas on the same
# database and nginx in front of them, all on loopback.
#
#   scripts/cluster-demo.sh [PARTSEAL]    (default target/release/partseal, built if missing)
#
# Starts a throwaway PostgreSQL cluster (scripts/pg-cluster.sh) and creates the database
# `partseal`; the first replica with --demo (a demo authority, manufacturer, shop and 20 registered
# codes), the second beside it, each with its own --data directory (admin socket, demo files) and
# port; nginx on one port with `ip_hash`, so a browser's session stays on the replica that signed it
# in (sessions live in that replica's memory). The replicas trust 127.0.0.1 as a proxy, so the
# client address they rate-limit is the one nginx forwards in X-Forwarded-For, and their base URL is
# nginx's, so labels and pages link through the proxy. Everything lives in one temporary directory.
# Ctrl-C stops nginx, the replicas (which write their last scan counts) and PostgreSQL, in that
# order, and removes the directory.
#
# Debian: run as root to have nginx (and PostgreSQL) installed with apt-get when missing; the
# database server then runs as the `postgres` user. Ports: PROXY_PORT (8180), REPLICA_PORTS
# ("8181 8182") and PG_PORT (55480) in the environment move them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROXY_PORT=${PROXY_PORT:-8180}
read -r -a REPLICA_PORTS <<<"${REPLICA_PORTS:-8181 8182}"
PG_PORT=${PG_PORT:-55480}
(( ${#REPLICA_PORTS[@]} == 2 )) || { echo "REPLICA_PORTS: two ports, e.g. \"8181 8182\"" >&2; exit 2; }

P=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/partseal}
if [[ ! -x "$P" ]]; then
    if [[ $# -gt 0 ]]; then
        echo "$P is not an executable" >&2
        exit 2
    fi
    echo "building $P ..."
    (cd "$ROOT" && cargo build --release --locked -p partseal)
fi
P=$(cd "$(dirname "$P")" && pwd)/$(basename "$P")

# What is missing, installed with apt-get as root, or named.
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$NGINX" ]] || need+=(nginx)
command -v curl >/dev/null || need+=(curl)
if (( ${#need[@]} )); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing: ${need[*]} (apt-get install ${need[*]}, or run this as root)" >&2
        exit 2
    fi
    echo "installing ${need[*]} ..."
    apt-get install -y -q "${need[@]}" >/dev/null
    # Debian's package may have started its own nginx on port 80 (the default site): it is not
    # this demo's, which runs from its own configuration below.
fi

for port in "$PROXY_PORT" "${REPLICA_PORTS[@]}" "$PG_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port is in use: choose other ports (PROXY_PORT, REPLICA_PORTS, PG_PORT)" >&2
        exit 2
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/partseal-cluster.XXXXXX")
# PostgreSQL runs as another user and nginx's workers as `nobody` when started by root: they must
# reach their directories inside (nothing here is listed to them).
chmod 711 "$WORK"
PIDS=()
NGINX_PID=""
PG_STARTED=""

stop() {
    trap '' INT TERM
    if [[ -n "${NGINX_PID:-}" ]]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    # The replicas finish requests in flight and write their scan counts, so the database goes last.
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$PG_STARTED" ]]; then
        "$ROOT/scripts/pg-cluster.sh" stop "$WORK/pg" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop EXIT
trap 'echo; echo "stopping ..."; exit 0' INT TERM

# Waits for URL to answer 2xx; PID is the process that should answer it, LOG what it said.
wait_for() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 300); do
        curl -sf -o /dev/null "$url" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "it stopped before $url answered; its log, $log:" >&2
            tail -20 "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$url did not answer within 30 s; see $log:" >&2
    tail -20 "$log" >&2
    exit 1
}

# Every server in a session of its own, so a Ctrl-C in the terminal reaches only this script, which
# then stops them in order.
echo "starting PostgreSQL on 127.0.0.1:$PG_PORT ..."
PG_STARTED=yes
setsid "$ROOT/scripts/pg-cluster.sh" start "$WORK/pg" "$PG_PORT" >/dev/null
createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres partseal
export PARTSEAL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/partseal"
export PARTSEAL_TRUSTED_PROXIES=127.0.0.1
export PARTSEAL_BASE_URL="http://127.0.0.1:$PROXY_PORT"

for i in 1 2; do
    port=${REPLICA_PORTS[$((i - 1))]}
    demo=()
    [[ $i -eq 1 ]] && demo=(--demo)
    echo "starting replica $i on 127.0.0.1:$port ..."
    # The first creates the schema and the demo; the second starts once it is ready.
    setsid "$P" serve "${demo[@]}" --listen "127.0.0.1:$port" --data "$WORK/replica-$i" \
        >"$WORK/replica-$i.out" 2>"$WORK/replica-$i.log" &
    PIDS+=($!)
    wait_for "http://127.0.0.1:$port/readyz" "$!" "$WORK/replica-$i.log"
done

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
# Written by scripts/cluster-demo.sh: the replicas behind one address.
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream partseal {
        # One client address, one replica: browser sessions live in the memory of the replica
        # that signed the user in. (IPv4 clients are hashed by their /24: from this machine every
        # request reaches the same replica.)
        ip_hash;
        server 127.0.0.1:${REPLICA_PORTS[0]};
        server 127.0.0.1:${REPLICA_PORTS[1]};
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        # Manifests stream through to the service, which limits them line by line.
        client_max_body_size 0;
        proxy_request_buffering off;
        location / {
            proxy_pass http://partseal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            # Believed because the replicas trust 127.0.0.1 (PARTSEAL_TRUSTED_PROXIES).
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF
echo "starting nginx on 127.0.0.1:$PROXY_PORT ..."
setsid "$NGINX" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' \
    >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_for "http://127.0.0.1:$PROXY_PORT/readyz" "$NGINX_PID" "$WORK/nginx/error.log"

cat <<EOF

partseal on PostgreSQL behind nginx, in $WORK:
  open        http://127.0.0.1:$PROXY_PORT/  (nginx; labels and pages link here)
  replica 1   http://127.0.0.1:${REPLICA_PORTS[0]}/readyz   log: $WORK/replica-1.log
  replica 2   http://127.0.0.1:${REPLICA_PORTS[1]}/readyz   log: $WORK/replica-2.log
  database    $PARTSEAL_DATABASE_URL
  admin       PARTSEAL_DATABASE_URL=$PARTSEAL_DATABASE_URL $P admin status

A write through either replica is seen by the other within a second: ask one of them directly.
EOF
# The demo's welcome: codes to open, the shop's and the manufacturer's tokens, curl commands.
cat "$WORK/replica-1.out"
echo "Ctrl-C stops nginx, both replicas and PostgreSQL, and removes $WORK."

# Wait for Ctrl-C, or for a server to stop by itself.
while true; do
    for pid in "$NGINX_PID" "${PIDS[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "a server stopped by itself; the ends of the logs, then stopping the others:" >&2
            tail -n 5 "$WORK"/replica-*.log "$WORK/nginx/error.log" >&2 || true
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
