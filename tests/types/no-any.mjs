// Fails when the public part of the generated .d.ts mentions `any`. The
// wasm-bindgen loader boilerplate (InitInput, InitOutput, initSync, the
// default init) describes raw wasm exports and is excluded by name.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'pkg/sealtrail.d.ts';
const text = readFileSync(file, 'utf8')
  .replace(/export interface InitOutput \{[\s\S]*?\n\}/, '')
  .replace(/\/\*\*[\s\S]*?\*\//g, '')
  .replace(/\/\/.*$/gm, '');
const hits = text.split('\n').map((l, i) => [i + 1, l]).filter(([, l]) => /\bany\b/.test(l));
if (hits.length) {
  for (const [n, l] of hits) console.error(`${file}:${n}: \`any\` in the public API: ${l.trim()}`);
  process.exit(1);
}
console.log(`${file}: no \`any\` in the public API`);
