// Where the bytes of a .wasm go: code bytes per crate (and per top module of
// sealtrail, core and alloc), read from the function bodies and the `name`
// section, then the largest functions and the data segments' size.
// The shipped .wasm has no names: `SEALTRAIL_WASM_SIZES=1 scripts/build-web.sh`
// also writes a copy with names (same optimisation) and runs this on it.
//   node scripts/wasm-sizes.mjs target/sealtrail-named.wasm [top N]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/wasm-sizes.mjs FILE.wasm [N]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const bytes = readFileSync(file);

/** An unsigned LEB128 at `at`: [value, next offset]. */
function leb(at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}

function name(at) {
  const [len, start] = leb(at);
  return [bytes.toString('utf8', start, start + len), start + len];
}

let imported = 0;
const bodies = [];
const names = new Map();
let data = 0;
for (let at = 8; at < bytes.length;) {
  const id = bytes[at];
  const [size, start] = leb(at + 1);
  const end = start + size;
  if (id === 2) {
    // Imports: only the number of imported functions matters (they come first in the index space).
    let [count, p] = leb(start);
    for (; count > 0; count--) {
      [, p] = name(p);
      [, p] = name(p);
      const kind = bytes[p++];
      if (kind === 0) { [, p] = leb(p); imported++; }
      else if (kind === 1) { p++; const [flags, q] = leb(p); [, p] = leb(q); if (flags & 1) [, p] = leb(p); }
      else if (kind === 2) { const [flags, q] = leb(p); [, p] = leb(q); if (flags & 1) [, p] = leb(p); }
      else if (kind === 3) p += 2;
      else if (kind === 4) { p++; [, p] = leb(p); }
    }
  } else if (id === 10) {
    let [count, p] = leb(start);
    for (; count > 0; count--) {
      const [len, q] = leb(p);
      bodies.push(len + (q - p));
      p = q + len;
    }
  } else if (id === 11) {
    data = size;
  } else if (id === 0) {
    const [section, p0] = name(start);
    if (section === 'name') {
      for (let p = p0; p < end;) {
        const sub = bytes[p];
        const [len, q] = leb(p + 1);
        if (sub === 1) {
          let [count, r] = leb(q);
          for (; count > 0; count--) {
            let index;
            [index, r] = leb(r);
            let n;
            [n, r] = name(r);
            names.set(index, n);
          }
        }
        p = q + len;
      }
    }
  }
  at = end;
}
if (names.size === 0) {
  console.error(`${file} has no function names: build it with SEALTRAIL_WASM_SIZES=1 scripts/build-web.sh`);
  process.exit(1);
}

/** The crate of a symbol, with the first module for sealtrail, core and alloc. */
function owner(symbol) {
  const m = /^<?&?(?:mut )?(?:dyn )?([a-z_0-9]+)(?:\[[0-9a-f]+\])?::([a-z_0-9]+)/.exec(symbol);
  if (!m) return symbol.startsWith('<') ? 'trait impls on std types (fmt, ...)' : 'wasm-bindgen shims';
  return ['sealtrail', 'core', 'alloc'].includes(m[1]) ? `${m[1]}::${m[2]}` : m[1];
}

const groups = new Map();
const functions = bodies.map((size, i) => ({ size, symbol: names.get(imported + i) ?? `#${imported + i}` }));
for (const f of functions) {
  const g = groups.get(owner(f.symbol)) ?? { size: 0, count: 0 };
  g.size += f.size;
  g.count += 1;
  groups.set(owner(f.symbol), g);
}
const code = bodies.reduce((a, b) => a + b, 0);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`${file}: ${kb(bytes.length)} in all, code ${kb(code)} in ${bodies.length} functions, data ${kb(data)}`);
console.log('\ncode by crate (and module):');
for (const [g, { size, count }] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  console.log(`  ${kb(size).padStart(9)}  ${String(count).padStart(4)} fn  ${g}`);
}
console.log(`\nthe ${top} largest functions:`);
for (const f of functions.sort((a, b) => b.size - a.size).slice(0, top)) {
  console.log(`  ${kb(f.size).padStart(9)}  ${f.symbol.slice(0, 140)}`);
}
