#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ on the stable toolchain, one after the other,
# each in one process (libFuzzer's default: no -jobs, no -workers).
#
#   scripts/fuzz.sh [TARGET] [SECONDS]   # every target when TARGET is empty or `all`; 60 s each
#   scripts/fuzz.sh cmin [TARGET]        # fold what runs found into fuzz/corpus/TARGET, minimised
#
# Built by cargo-fuzz with `--sanitizer none`: no `-Z` flag, so no nightly and
# no RUSTC_BOOTSTRAP (the crate has no `unsafe`; AddressSanitizer would only
# slow the search). Debug assertions and overflow checks stay on.
#
# Each run starts from the seeds kept in fuzz/corpus/TARGET (read only) and a
# working corpus in fuzz/target/corpus/TARGET that grows from run to run; the
# repository's corpus only changes through `cmin`. A crash is written under
# fuzz/target/artifacts/TARGET/ (never committed) and the script fails after
# the remaining targets ran; replay it with
#   fuzz/target/x86_64-unknown-linux-gnu/release/TARGET ARTIFACT
# and keep it as a regression test (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(verify_line canon policy_parse session_parse seal_leak ingest_batch)
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="fuzz/target/$triple/release"

usage() {
  echo "usage: scripts/fuzz.sh [TARGET|all] [SECONDS] | scripts/fuzz.sh cmin [TARGET|all]" >&2
  echo "targets: ${TARGETS[*]}" >&2
  exit 2
}

# The targets a name stands for.
select_targets() {
  case "${1:-all}" in
    all | "") printf '%s\n' "${TARGETS[@]}" ;;
    *)
      local t
      for t in "${TARGETS[@]}"; do
        if [ "$t" = "$1" ]; then
          echo "$t"
          return
        fi
      done
      echo "fuzz: unknown target \`$1\`" >&2
      usage
      ;;
  esac
}

build() {
  (cd fuzz && cargo fuzz build --sanitizer none "$@")
}

if [ "${1:-}" = "cmin" ]; then
  mapfile -t selected < <(select_targets "${2:-all}")
  build
  for t in "${selected[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    if [ -d "fuzz/target/corpus/$t" ]; then
      cp -n "fuzz/target/corpus/$t"/* "fuzz/corpus/$t"/ 2>/dev/null || true
    fi
    (cd fuzz && cargo fuzz cmin --sanitizer none "$t" "corpus/$t" >/dev/null 2>&1)
    echo "fuzz: $t corpus: $(find "fuzz/corpus/$t" -type f | wc -l) inputs, $(du -sh "fuzz/corpus/$t" | cut -f1)"
  done
  exit 0
fi

mapfile -t selected < <(select_targets "${1:-all}")
seconds=${2:-60}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage

build
failed=()
for t in "${selected[@]}"; do
  work="fuzz/target/corpus/$t"
  artifacts="fuzz/target/artifacts/$t/"
  log="fuzz/target/logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")" "fuzz/corpus/$t"
  args=("$work" "fuzz/corpus/$t" "-max_total_time=$seconds" "-timeout=10"
    "-print_final_stats=1" "-artifact_prefix=$artifacts")
  [ -f "fuzz/dict/$t.dict" ] && args+=("-dict=fuzz/dict/$t.dict")
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  status=0
  "$bin_dir/$t" "${args[@]}" >"$log" 2>&1 || status=$?
  # The last status line (`#N DONE cov: C ft: F corp: U/S ...`) and the final stats.
  last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1 || true)
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  printf 'fuzz: %-13s %s  %ss  %s execs  %s execs/s  cov %s  ft %s  corpus %s\n' \
    "$t" "$started" "$seconds" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs under fuzz/target/artifacts/)" >&2
  exit 1
fi
