#!/usr/bin/env bash
# Every test sealtrail has, from a fresh machine: set-up, formatting and lints
# for both targets, the native tests of the core, the CLI and the collector
# (SQLite, then PostgreSQL), and the browser tests in headless Chromium.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s\n' "$*"; }

scripts/setup.sh

section "format"
cargo fmt --all -- --check

section "clippy (native, every target of the workspace)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "clippy (wasm32-unknown-unknown, the web build)"
cargo clippy -p sealtrail --target wasm32-unknown-unknown --no-default-features --lib --tests --locked -- -D warnings

section "native tests (core, CLI, collector on SQLite)"
cargo test --workspace --locked

section "browser module in headless Chromium"
scripts/test-web.sh

section "collector on PostgreSQL, review page flow"
SEALTRAIL_SKIP_SQLITE=1 scripts/test-collector.sh  # SQLite already ran in cargo test

section "all tests passed"
