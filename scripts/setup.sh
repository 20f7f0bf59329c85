#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine,
# skipping whatever is already there so reruns take seconds:
#   - the wasm32-unknown-unknown Rust target;
#   - wasm-bindgen-cli at exactly the version Cargo.lock pins (from crates.io:
#     prebuilt downloads are not reachable here, and `--locked` fails to build);
#   - cargo-fuzz, to build the fuzz targets on the stable toolchain;
#   - the three browser engines the browser tests run in, each with its W3C
#     WebDriver server: Debian's chromium + chromium-driver, firefox-esr +
#     geckodriver (built from crates.io: Mozilla's prebuilt downloads are not
#     reachable here), webkit2gtk-driver (WebKitGTK's MiniBrowser, which needs
#     an X display: xvfb + xauth for xvfb-run);
#   - postgresql (the collector's second store);
#   - poppler-utils (pdftotext: the printed review report's test reads its PDF);
#   - the npm dev tools of package.json (selenium-webdriver, typescript,
#     axe-core, canonicalize, binaryen for wasm-opt, cedar-wasm for the benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# Whether a line of what `command...` prints matches `pattern`:
#   prints PATTERN COMMAND...
# The output is read whole first: `command | grep -q` under pipefail fails
# when grep stops at the first match and the command dies of SIGPIPE, which
# made an installed tool look missing and reinstalled it for minutes.
prints() {
  local pattern=$1 out
  shift
  out=$("$@" 2>/dev/null) || true
  grep -q -- "$pattern" <<<"$out"
}

if ! prints "^wasm32-unknown-unknown$" rustup target list --installed; then
  step "rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

[ -f Cargo.lock ] || cargo generate-lockfile
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$wb_version" ]; then
  echo "setup: cannot find the wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if ! prints "^wasm-bindgen $wb_version\$" wasm-bindgen --version; then
  step "wasm-bindgen-cli $wb_version (about 4 minutes)"
  cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

fuzz_version=0.13.2
if ! prints "^cargo-fuzz $fuzz_version\$" cargo fuzz --version; then
  step "cargo-fuzz $fuzz_version (about 2 minutes)"
  cargo install cargo-fuzz --version "$fuzz_version" --locked --force
fi

missing=()
for pkg in chromium chromium-driver firefox-esr webkit2gtk-driver xvfb xauth postgresql poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

# geckodriver at the version it was tested with, from its own lock file.
geckodriver_version=0.37.1
geckodriver=$(command -v geckodriver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver")
if ! prints "^geckodriver $geckodriver_version" "$geckodriver" --version; then
  step "geckodriver $geckodriver_version (about 4 minutes)"
  cargo install geckodriver --version "$geckodriver_version" --locked --force
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm dev tools"
  npm ci --no-audit --no-fund
fi
echo "setup: ready"
