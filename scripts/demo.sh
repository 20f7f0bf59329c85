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
echo "sample chain: verify and alerts with the CLI"
cargo run --release --quiet --bin sealtrail -- sample --out .tmp/sample.jsonl
cargo run --release --quiet --bin sealtrail -- verify .tmp/sample.jsonl
cargo run --release --quiet --bin sealtrail -- alerts .tmp/sample.jsonl --policy pkg-config/policy.default.json

echo
echo "demo:   http://127.0.0.1:$port/"
echo "review: http://127.0.0.1:$port/review.html  (token: demo-safeguarding)"
exec cargo run --release --quiet -p sealtrail-collector -- \
  --listen "127.0.0.1:$port" --database "$db" --static-dir www --pkg-dir pkg \
  --policy pkg-config/policy.default.json \
  --token "demo-safeguarding=safeguardingLead:sg-001:Sam Okafor" \
  --token "demo-admin=admin:ad-001:Ada Admin"
