#!/usr/bin/env bash
# Every test sealtrail has, from a fresh machine: set-up, formatting and lints
# for both targets, the native tests of the core, the CLI and the collector
# (SQLite, then PostgreSQL), a short run of the fuzz targets, and the
# browser tests in Chromium, Firefox ESR and WebKit.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s\n' "$*"; }

# Everything printed is also kept, so the last line can total the runners'
# own counts (cargo test, node:test) into one "N passed, M failed, K skipped"
# line (a test an engine cannot run is skipped by name, with its reason).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
exec > >(tee "$log") 2>&1

scripts/setup.sh

section "format"
cargo fmt --all -- --check

section "clippy (native, every target of the workspace)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "clippy (wasm32-unknown-unknown, the web build)"
cargo clippy -p sealtrail --target wasm32-unknown-unknown --no-default-features --lib --tests --locked -- -D warnings

section "structure: no import circles, the core and the collector never import the web layer"
cargo test -p sealtrail --test structure --locked

section "native tests (core, CLI, collector on SQLite)"
cargo test --workspace --locked

section "shipped policies: valid, and their own test cases pass"
for p in pkg-config/policy.default.json pkg-config/policy.youth-facility.json; do
  cargo run --quiet --locked --bin sealtrail -- policy check "$p"
done

section "fuzz targets, 20 s each (the README's Fuzzing section runs them longer)"
# seal_leak is left out while its open finding (README, Fuzzing) stands:
# a run that finds it must not fail every CI run that happens upon it.
for target in verify_line canon policy_parse session_parse seal_leak ingest_batch; do
  scripts/fuzz.sh "$target" 20
done

section "browser module in Chromium, Firefox ESR and WebKit"
scripts/test-web.sh

section "collector on PostgreSQL, review page flow"
SEALTRAIL_SKIP_SQLITE=1 scripts/test-collector.sh  # SQLite already ran in cargo test

section "all tests passed"
awk '
  /^test result: /          { p += $4; f += $6; s += $8 }
  /^(ℹ|#) pass [0-9]+$/     { p += $3 }
  /^(ℹ|#) fail [0-9]+$/     { f += $3 }
  /^(ℹ|#) skipped [0-9]+$/  { s += $3 }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }
' "$log"
