# Sourced by the collector's test and benchmark scripts: starts a PostgreSQL
# cluster of its own under a temporary directory, on a free loopback port,
# and stops and removes it when the calling script exits. Installs Debian's
# postgresql when no server is there. Sets SEALTRAIL_PG_URL.
#
#   . scripts/pg-cluster.sh && start_pg_cluster

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run the cluster as `postgres` then, in a
# directory that user owns.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg_cluster() {
  if [ -z "$(pg_bin)" ]; then
    echo "== installing postgresql (Debian)"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN_DIR="$(pg_bin)"
  PG_DIR="$(mktemp -d /tmp/sealtrail-pg.XXXXXX)"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
  local port="${SEALTRAIL_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
  trap stop_pg_cluster EXIT
  echo "== starting PostgreSQL ($PG_BIN_DIR) on 127.0.0.1:$port"
  as_pg "$PG_BIN_DIR/initdb" -D "$PG_DIR/data" -U sealtrail --auth=trust --encoding=UTF8 --no-instructions >/dev/null
  as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300" start >/dev/null
  SEALTRAIL_PG_URL="postgres://sealtrail@127.0.0.1:$port/postgres"
}

stop_pg_cluster() {
  if [ -n "${PG_DIR:-}" ]; then
    as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
