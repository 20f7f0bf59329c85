#!/usr/bin/env bash
# The demo from a fresh machine: builds the browser module, writes the sample
# evening (every alert rule fires on it), starts the collector on an embedded
# SQLite file, uploads the sample to it (and takes a few cases through triage,
# so the review page has cases in every state), then serves the demo and
# review pages.
# Stop it with Ctrl-C. PORT and DB may be overridden from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-8787}
db=${DB:-sqlite://.tmp/demo.sqlite}
mkdir -p .tmp

scripts/setup.sh
scripts/build-web.sh

echo
echo "== the CLI on a sample evening: verify each chain, then the alerts across them"
policy=pkg-config/policy.default.json
rm -rf .tmp/sample
cargo run --release --quiet --bin sealtrail -- sample .tmp/sample --policy "$policy"
for chain in .tmp/sample/*.jsonl; do
  cargo run --release --quiet --bin sealtrail -- verify "$chain"
done
cargo run --release --quiet --bin sealtrail -- alerts .tmp/sample/*.jsonl --policy "$policy"

cargo build --release --quiet -p sealtrail-collector
"${CARGO_TARGET_DIR:-target}/release/sealtrail-collector" \
  --listen "127.0.0.1:$port" --database "$db" --static-dir www --pkg-dir pkg \
  --policy "$policy" --demo-login \
  --token "demo-safeguarding-token-for-the-demo-only=safeguardingLead:sg-001:Sam Okafor" \
  --token "demo-admin-token-for-the-demo-only-00=admin:ad-001:Ada Admin" &
collector=$!
trap 'kill "$collector" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

echo
echo "== the sample evening, uploaded to the collector as the browsers would have"
node scripts/demo-seed.mjs "http://127.0.0.1:$port" .tmp/sample demo-safeguarding-token-for-the-demo-only

echo
echo "demo:   http://127.0.0.1:$port/"
echo "review: http://127.0.0.1:$port/review.html  (token: demo-safeguarding-token-for-the-demo-only)"
wait "$collector"
