#!/usr/bin/env bash
# Builds the npm package of the browser module into pkg/:
#   1. the library for wasm32-unknown-unknown, profile `wasm` (size over speed,
#      except SHA-256), without the native-only features (CLI,
#      time zones), with wasm SIMD (simd128);
#   2. wasm-bindgen --target web (ES module + .d.ts), at the version Cargo.lock pins;
#   3. wasm-opt from the npm `binaryen` package (never Debian's binaryen 108,
#      whose output fails to load with this wasm-bindgen); with
#      SEALTRAIL_WASM_SIZES=1, also where the bytes go (scripts/wasm-sizes.mjs);
#   4. package metadata and the default policy from pkg-config/;
#   5. the size check: the gzipped .wasm within pkg-config/size-budget.
# Needs scripts/setup.sh once (rust target, wasm-bindgen-cli, npm tools).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  echo "build-web: wasm-bindgen-cli $want is needed (found '${have:-none}'); run scripts/setup.sh" >&2
  exit 1
fi
wasm_opt=node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "build-web: $wasm_opt is missing; run scripts/setup.sh (npm ci)" >&2
  exit 1
fi

# SHA-256 is built for speed, the rest for size: sha2 at opt-level 3 costs
# 0.5 KB gzipped. (serde_json is no longer on the hashing path: the event
# text is hashed through the tape, src/canon/tape.rs.)
hot=(--config 'profile.wasm.package.sha2.opt-level=3')
# Panic locations name source files: shipped as paths inside this
# repository, the crates' own (`serde_json-1.0.150/src/de.rs`) and the
# standard library's (`core/src/...`), never this machine's home, registry
# or toolchain directories (nothing shipped points outside the repository;
# about 1 KB gzipped).
registry=${CARGO_HOME:-$HOME/.cargo}/registry/src
std_src=/rustc/$(rustc -vV | awk '/^commit-hash:/ { print $2 }')/library
remap=(--remap-path-prefix="$root/=" --remap-path-prefix="$std_src/=")
for index in "$registry"/*/; do remap+=(--remap-path-prefix="$index="); done
echo "build-web: cargo build (wasm32, profile wasm)"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128 ${remap[*]}" \
  cargo build --quiet --lib --target wasm32-unknown-unknown --profile wasm --no-default-features "${hot[@]}"

rm -rf pkg
echo "build-web: wasm-bindgen $want"
wasm-bindgen --target web --out-dir pkg --out-name sealtrail \
  "$target_dir/wasm32-unknown-unknown/wasm/sealtrail.wasm"

# -Os --converge: 1.2 KB gzipped smaller than -Oz in one build (its code
# inlines a little more, which gzip folds). --low-memory-unused lets
# wasm-opt fold a constant added to a pointer into the load's offset (1.9 KB
# gzipped): sound because nothing lives in the first 1 KB of memory (Rust's
# wasm32 layout puts the 1 MB stack first, growing down from 1 MB, and the
# data after it), so only a wrapped, invalid address could differ.
opt=(-Os --converge --low-memory-unused
     --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
     --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd)
echo "build-web: wasm-opt ${opt[*]:0:2} (binaryen $("$wasm_opt" --version | awk '{print $3}'))"
if [ -n "${SEALTRAIL_WASM_SIZES:-}" ]; then
  # Where the bytes go: the same optimisation with the names kept.
  "$wasm_opt" "${opt[@]}" -g --strip-producers pkg/sealtrail_bg.wasm -o "$target_dir/sealtrail-named.wasm"
  node scripts/wasm-sizes.mjs "$target_dir/sealtrail-named.wasm"
fi
"$wasm_opt" "${opt[@]}" --strip-debug --strip-producers pkg/sealtrail_bg.wasm -o pkg/sealtrail_bg.wasm.opt
mv pkg/sealtrail_bg.wasm.opt pkg/sealtrail_bg.wasm

cp pkg-config/package.json pkg/package.json
for f in README.md policy.default.json policy.schema.json sealtrail.css; do
  if [ -f "pkg-config/$f" ]; then cp "pkg-config/$f" "pkg/$f"; fi
done
rm -f pkg/.gitignore

raw=$(wc -c < pkg/sealtrail_bg.wasm)
gz=$(gzip -9 -c pkg/sealtrail_bg.wasm | wc -c)
echo "build-web: pkg/sealtrail_bg.wasm ${raw} bytes, ${gz} gzipped"

# The size budget: a build whose gzipped .wasm outgrows it fails (so does
# scripts/test.sh, through test-web.sh). Lower it when the module shrinks.
budget=$(grep -v '^#' pkg-config/size-budget | tr -d '[:space:]')
if ! [[ $budget =~ ^[0-9]+$ ]]; then
  echo "build-web: pkg-config/size-budget holds no whole number of bytes (found '${budget:0:60}')" >&2
  exit 1
fi
if [ "$gz" -gt "$budget" ]; then
  echo "build-web: the gzipped .wasm is ${gz} bytes, over the budget of ${budget} in pkg-config/size-budget" >&2
  exit 1
fi
echo "build-web: within the size budget (${budget} bytes gzipped)"
