#!/usr/bin/env bash
# The collector's ingest benchmark on SQLite and on PostgreSQL (a private
# cluster on loopback, see pg-cluster.sh): events/s verified and stored,
# p50/p99 batch latency, verification vs store time, and the core's
# in-memory verification of the same events as the peer.
#   SEALTRAIL_BENCH_CLIENTS=8 SEALTRAIL_BENCH_BATCHES=25 scripts/bench-collector.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-cluster.sh
start_pg_cluster
SEALTRAIL_BENCH_POSTGRES_URL="$SEALTRAIL_PG_URL" cargo bench -p sealtrail-collector --bench ingest
