#!/usr/bin/env bash
# The demo from a fresh machine: builds the browser module, starts the
# collector on an embedded SQLite file and serves the demo and review pages.
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

echo
echo "demo:   http://127.0.0.1:$port/"
echo "review: http://127.0.0.1:$port/review.html  (token: demo-safeguarding-token-for-the-demo-only)"
exec cargo run --release --quiet -p sealtrail-collector -- \
  --listen "127.0.0.1:$port" --database "$db" --static-dir www --pkg-dir pkg \
  --policy "$policy" --insecure-open-ingest \
  --token "demo-safeguarding-token-for-the-demo-only=safeguardingLead:sg-001:Sam Okafor" \
  --token "demo-admin-token-for-the-demo-only-00=admin:ad-001:Ada Admin"
