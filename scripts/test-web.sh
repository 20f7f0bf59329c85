#!/usr/bin/env bash
# The browser module's tests, in three engines: Chromium, Firefox ESR and
# WebKit (WebKitGTK), each through its W3C WebDriver server:
#   1. builds the npm package (scripts/build-web.sh);
#   2. type-checks a consumer of the generated .d.ts (tsc --noEmit), checks
#      the public API has no `any`, and checks a sample of every JSON the Rust
#      types hand to JavaScript against the .d.ts (tests/js_contract.rs writes
#      them as TypeScript assignments, tsc --noEmit checks them);
#   3. per engine, the wasm-bindgen-test browser tests (tests/web.rs) against
#      the scripted collector of tests/support/fixture-server.mjs, through
#      wasm-bindgen-test-runner (chromedriver, geckodriver, and WebKitWebDriver
#      in the runner's `SAFARIDRIVER` slot);
#   4. per engine, the end-to-end tests through the demo (tests/e2e/) against
#      the real collector, started on a free loopback port with a temporary
#      SQLite, driven by selenium-webdriver (tests/support/browsers.mjs).
# WebKitGTK has no headless mode: its runs get a virtual display (xvfb-run).
# SEALTRAIL_ENGINES picks engines (default: `chromium firefox webkit`); an
# engine asked for but not installed fails the run, naming what is missing:
# nothing is skipped silently. Rerunnable; exits non-zero on the first
# failure. Needs scripts/setup.sh once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

fixture_pid=
cleanup() { if [ -n "$fixture_pid" ]; then kill "$fixture_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

step() { printf '\n== test-web: %s\n' "$*"; }

engines=${SEALTRAIL_ENGINES:-chromium firefox webkit}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
find_bin() { command -v "$1" 2>/dev/null || { [ -x "$cargo_bin/$1" ] && echo "$cargo_bin/$1"; } || true; }
chromedriver=${CHROMEDRIVER:-$(find_bin chromedriver)}
geckodriver=${GECKODRIVER:-$(find_bin geckodriver)}
webkitdriver=${WEBKITWEBDRIVER:-$(find_bin WebKitWebDriver)}
for engine in $engines; do
  case $engine in
    chromium) need=("$chromedriver" /usr/bin/chromium) ;;
    firefox) need=("$geckodriver" /usr/bin/firefox-esr) ;;
    webkit) need=("$webkitdriver" "$(find_bin xvfb-run)") ;;
    *) echo "test-web: SEALTRAIL_ENGINES: expected chromium, firefox or webkit, found \`$engine\`" >&2; exit 1 ;;
  esac
  for bin in "${need[@]}"; do
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
      echo "test-web: $engine cannot run: a driver, browser or xvfb-run is missing (${need[*]}); run scripts/setup.sh, or leave it out with SEALTRAIL_ENGINES" >&2
      exit 1
    fi
  done
done

step "package"
scripts/build-web.sh

step "types: tsc --noEmit on a consumer of pkg/sealtrail.d.ts"
node_modules/.bin/tsc -p tests/types/tsconfig.json
node tests/types/no-any.mjs pkg/sealtrail.d.ts

step "types: every answer the Rust types serialise, checked against pkg/sealtrail.d.ts"
SEALTRAIL_TS_SAMPLES="$root/tests/types/generated/answers.ts" \
  cargo test --quiet --locked --test js_contract
node_modules/.bin/tsc -p tests/types/tsconfig.answers.json

# Runs "$@" for `engine`: WebKitGTK's MiniBrowser under a virtual X display,
# with the WebDriver server variables wasm-bindgen-test-runner reads (it
# takes the first of GECKODRIVER, SAFARIDRIVER, CHROMEDRIVER that is set).
in_engine() {
  local engine=$1
  shift
  local vars=(-u GECKODRIVER -u SAFARIDRIVER -u CHROMEDRIVER SEALTRAIL_ENGINE="$engine")
  case $engine in
    chromium) env "${vars[@]}" CHROMEDRIVER="$chromedriver" "$@" ;;
    firefox) env "${vars[@]}" GECKODRIVER="$geckodriver" "$@" ;;
    webkit) env "${vars[@]}" SAFARIDRIVER="$webkitdriver" WEBKITWEBDRIVER="$webkitdriver" \
      xvfb-run -a -s "-screen 0 1920x1200x24" "$@" ;;
  esac
}

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
# One run of tests/web.rs in an engine, its output kept in $run_log. The
# suite takes under 10 s in each engine; the runner's timeout (also each
# WebDriver request's) is 60 s, so a dead page costs minutes, not twenty.
run_log=$(mktemp)
wasm_tests() {
  SEALTRAIL_FIXTURE_URL=$fixture_url \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-60} \
    in_engine "$1" cargo test --target wasm32-unknown-unknown --no-default-features --test web 2>&1 | tee "$run_log"
}
for engine in $engines; do
  step "wasm-bindgen-test in $engine"
  if ! wasm_tests "$engine"; then
    # A failed test prints the harness's "test result:" line and fails the
    # run. Without that line the browser itself died or hung before the
    # tests could answer (WebKitGTK's web process crashes now and then on a
    # loaded machine: "WebProcess CRASHED"); that alone gets one more run,
    # said out loud, and a second such failure fails.
    if grep -q '^test result: ' "$run_log"; then exit 1; fi
    step "wasm-bindgen-test in $engine: the browser gave no test result (crashed or hung); running once more"
    wasm_tests "$engine"
  fi
done
rm -f "$run_log"

step "collector and CLI (the debug builds \`cargo test\` already made)"
cargo build --quiet -p sealtrail-collector
cargo build --quiet -p sealtrail --bin sealtrail

for engine in $engines; do
  step "end-to-end in $engine (selenium-webdriver, node:test)"
  SEALTRAIL_COLLECTOR_BIN="$CARGO_TARGET_DIR/debug/sealtrail-collector" \
    in_engine "$engine" node --test --test-reporter=spec tests/e2e/*.test.mjs
done
step "ran in: $engines"
