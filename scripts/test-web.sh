#!/usr/bin/env bash
# The browser module's tests, all in Debian's headless Chromium:
#   1. builds the npm package (scripts/build-web.sh);
#   2. type-checks a consumer of the generated .d.ts (tsc --noEmit), checks
#      the public API has no `any`, and checks a sample of every JSON the Rust
#      types hand to JavaScript against the .d.ts (tests/js_contract.rs writes
#      them as TypeScript assignments, tsc --noEmit checks them);
#   3. wasm-bindgen-test browser tests (tests/web.rs) against the scripted
#      collector of tests/support/fixture-server.mjs;
#   4. Playwright end-to-end tests through the demo (tests/e2e/) against the
#      real collector, started on a free loopback port with a temporary SQLite.
# Rerunnable; exits non-zero on the first failure. Needs scripts/setup.sh once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

fixture_pid=
cleanup() { if [ -n "$fixture_pid" ]; then kill "$fixture_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

step() { printf '\n== test-web: %s\n' "$*"; }

step "package"
scripts/build-web.sh

step "types: tsc --noEmit on a consumer of pkg/sealtrail.d.ts"
node_modules/.bin/tsc -p tests/types/tsconfig.json
node tests/types/no-any.mjs pkg/sealtrail.d.ts

step "types: every answer the Rust types serialise, checked against pkg/sealtrail.d.ts"
SEALTRAIL_TS_SAMPLES="$root/tests/types/generated/answers.ts" \
  cargo test --quiet --locked --test js_contract
node_modules/.bin/tsc -p tests/types/tsconfig.answers.json

step "wasm-bindgen-test in headless Chromium"
fixture_log=$(mktemp)
node tests/support/fixture-server.mjs > "$fixture_log" 2>&1 &
fixture_pid=$!
for _ in $(seq 1 50); do
  grep -q 'fixture listening on' "$fixture_log" && break
  sleep 0.1
done
fixture_url=$(sed -n 's/^fixture listening on //p' "$fixture_log")
if [ -z "$fixture_url" ]; then
  echo "test-web: the fixture server did not start:" >&2
  cat "$fixture_log" >&2
  exit 1
fi
SEALTRAIL_FIXTURE_URL=$fixture_url \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test --target wasm32-unknown-unknown --no-default-features --test web

step "collector (the debug build \`cargo test\` already made)"
cargo build --quiet -p sealtrail-collector

step "end-to-end (Playwright, node:test)"
SEALTRAIL_COLLECTOR_BIN="$CARGO_TARGET_DIR/debug/sealtrail-collector" \
  node --test --test-reporter=spec tests/e2e/demo.test.mjs
