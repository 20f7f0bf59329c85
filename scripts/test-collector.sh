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
#   SEALTRAIL_SKIP_SQLITE=1 scripts/test-collector.sh     # when `cargo test --workspace` already ran them
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SEALTRAIL_SKIP_SQLITE:-}" = 1 ]; then
  echo "== SQLite tests skipped (SEALTRAIL_SKIP_SQLITE=1)"
else
  echo "== collector tests on SQLite"
  cargo test -p sealtrail-collector --all-targets
fi

echo "== review page flow in headless Chromium (scripts/test-web.sh runs it in every engine)"
if [ -f pkg/sealtrail.js ] && [ -d node_modules/selenium-webdriver ]; then
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

. scripts/pg-cluster.sh
start_pg_cluster

echo "== collector tests on PostgreSQL"
SEALTRAIL_TEST_POSTGRES_URL="$SEALTRAIL_PG_URL" \
  cargo test -p sealtrail-collector --tests
