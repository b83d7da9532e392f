#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests and benchmarks.
#   eval "$(scripts/pg-cluster.sh start)"   # exports PROVISO_TEST_POSTGRES_URL and PROVISO_PG_DIR
#   eval "$(scripts/pg-cluster.sh start OUTAGE)"   # a second one: PROVISO_OUTAGE_POSTGRES_URL, PROVISO_OUTAGE_PG_DIR
#   scripts/pg-cluster.sh pause|resume DIR  # stop the server keeping its data / start it again
#   scripts/pg-cluster.sh stop "$PROVISO_PG_DIR"
# Installs Debian's postgresql when missing. The server runs as the `postgres` user (it
# refuses root), trusts only connections from 127.0.0.1 and listens nowhere else.
set -euo pipefail
cmd=${1:-start}
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
case "$cmd" in
  start)
    if [ -z "$(bindir)" ]; then
      echo "installing postgresql…" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    fi
    BIN=$(bindir)
    DIR=$(mktemp -d /tmp/proviso-pg.XXXXXX)
    chown postgres:postgres "$DIR"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
    runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" start >&2
    echo "$PORT" > "$DIR/port"
    if [ -n "${2:-}" ]; then
      echo "export PROVISO_${2}_PG_DIR=$DIR"
      echo "export PROVISO_${2}_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    else
      echo "export PROVISO_PG_DIR=$DIR"
      echo "export PROVISO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    fi
    ;;
  pause)   # stop the server but keep its data (outage tests)
    DIR=${2:?usage: pg-cluster.sh pause DIR}
    runuser -u postgres -- "$(bindir)/pg_ctl" -D "$DIR/data" -m immediate -w stop >&2
    ;;
  resume)
    DIR=${2:?usage: pg-cluster.sh resume DIR}
    PORT=$(cat "$DIR/port")
    runuser -u postgres -- "$(bindir)/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >&2
    ;;
  stop)
    DIR=${2:?usage: pg-cluster.sh stop DIR}
    runuser -u postgres -- "$(bindir)/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    rm -rf "$DIR"
    ;;
esac
