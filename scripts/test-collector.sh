#!/usr/bin/env bash
# Collector tests, twice: on a temporary SQLite file, then on PostgreSQL in a
# cluster of its own (initdb under a temporary directory, loopback only),
# stopped and removed at the end. Installs Debian's postgresql if missing.
#
# Then, when the browser package is built (pkg/, scripts/build-web.sh) and the
# npm dev tools are installed, the review page's flow in headless Chromium.
#
#   scripts/test-collector.sh            # both stores, then the browser flow
#   SEALTRAIL_SKIP_POSTGRES=1 scripts/test-collector.sh   # SQLite only
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== collector tests on SQLite"
cargo test -p sealtrail-collector --all-targets

echo "== review page flow in headless Chromium"
if [ -f pkg/sealtrail.js ] && [ -d node_modules/playwright-core ]; then
  cargo build -p sealtrail-collector
  SEALTRAIL_COLLECTOR_BIN="${CARGO_TARGET_DIR:-target}/debug/sealtrail-collector" \
    node --test tests/e2e/review.test.mjs
else
  echo "skipped: needs pkg/ (scripts/build-web.sh) and node_modules (npm ci)"
fi

if [ "${SEALTRAIL_SKIP_POSTGRES:-}" = 1 ]; then
  echo "== PostgreSQL skipped (SEALTRAIL_SKIP_POSTGRES=1)"
  exit 0
fi

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
  echo "== installing postgresql (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bin)"

# PostgreSQL refuses to run as root: run the cluster as `postgres` then,
# in a directory that user owns.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
DIR="$(mktemp -d /tmp/sealtrail-pg.XXXXXX)"
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
PORT="${SEALTRAIL_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

echo "== starting PostgreSQL ($BIN) on 127.0.0.1:$PORT"
as_pg "$BIN/initdb" -D "$DIR/data" -U sealtrail --auth=trust --encoding=UTF8 --no-instructions >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=300" start >/dev/null

echo "== collector tests on PostgreSQL"
SEALTRAIL_TEST_POSTGRES_URL="postgres://sealtrail@127.0.0.1:$PORT/postgres" \
  cargo test -p sealtrail-collector --tests
