// The collector's transparency log, checked in the page with nothing but
// WebCrypto: a checkpoint's Ed25519 signature (C2SP signed-note), the leaf of
// an event, and RFC 9162 inclusion and consistency proofs (SHA-256). The same
// steps as src/tlog/ (note.rs, leaf.rs, proof.rs), written in JavaScript so
// the review page needs no .wasm; docs/protocol.md, "Transparency log", is
// the contract. Sizes and indexes are BigInts: a log may outgrow 2^53.

const enc = new TextEncoder();

/** A checkpoint, key or proof that does not hold: `message` says which and why. */
export class LogCheckError extends Error {}

const fail = (message) => {
  throw new LogCheckError(message);
};

export function fromBase64(text, what) {
  let bin;
  try {
    bin = atob(text);
  } catch {
    fail(`${what}: not base64`);
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function toHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text, length, what) {
  if (typeof text !== 'string' || !new RegExp(`^[0-9a-f]{${length * 2}}$`).test(text)) fail(`${what}: expected ${length * 2} lowercase hex characters`);
  return Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16));
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

/** The log's verifier key `<name>+<hex key ID>+base64(0x01 || 32-byte key)`, its key ID checked. */
export async function parseKey(text) {
  // The base64 key may itself hold `+`: the name and the ID end at the first two.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(String(text).trim());
  if (!m) fail('the log key: expected `<name>+<8 hex digits of key ID>+<base64 key>`');
  const [, name, idHex, b64] = m;
  const raw = fromBase64(b64, 'the log key');
  if (raw.length !== 33 || raw[0] !== 1) fail('the log key: expected an Ed25519 key (type 0x01, 32 bytes)');
  const id = (await sha256(concat(enc.encode(`${name}\n`), raw))).subarray(0, 4);
  if (toHex(id) !== idHex) fail(`the log key: its key ID is ${toHex(id)}, not ${idHex}`);
  return { name, id, pub: raw.subarray(1), text: m[0] };
}

/** Parses a signed note into its text (what is signed) and signature lines. */
function splitNote(note) {
  const at = note.lastIndexOf('\n\n');
  if (at < 0) fail('the checkpoint: no blank line before its signatures');
  const text = note.slice(0, at + 1);
  const signatures = note
    .slice(at + 2)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(l);
      if (!m) fail(`the checkpoint: a signature line is not \`— <name> <base64>\`: ${l}`);
      return { name: m[1], bytes: fromBase64(m[2], `the signature of ${m[1]}`) };
    });
  return { text, signatures };
}

/**
 * Verifies a checkpoint against the log's key (from `parseKey`): the
 * signature line of that key must hold (WebCrypto Ed25519). Resolves with
 * its origin, size (BigInt), root and the note's text.
 */
export async function openCheckpoint(note, key) {
  const { text, signatures } = splitNote(String(note));
  const lines = text.split('\n');
  const [origin, sizeText, rootText] = lines;
  if (origin !== key.name) fail(`the checkpoint names the log \`${origin}\`, the key \`${key.name}\``);
  if (!/^(0|[1-9]\d*)$/.test(sizeText ?? '')) fail('the checkpoint: its size is not a decimal number');
  const root = fromBase64(rootText ?? '', 'the checkpoint root');
  if (root.length !== 32) fail('the checkpoint: its root is not 32 bytes');
  const mine = signatures.filter((s) => s.name === key.name && s.bytes.length === 68 && same(s.bytes.subarray(0, 4), key.id));
  if (mine.length === 0) fail(`the checkpoint carries no signature of the log key ${toHex(key.id)}`);
  let pub;
  try {
    pub = await crypto.subtle.importKey('raw', key.pub, { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    fail(`this browser cannot check Ed25519 signatures (${e.message}): the checkpoint is not verified`);
  }
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, pub, mine[0].bytes.subarray(4), enc.encode(text));
  if (!ok) fail('the log signature of the checkpoint does not hold: it was not signed by this key');
  return { origin, size: BigInt(sizeText), root, text };
}

/** A leaf's hash: SHA-256(0x00 || chain (16 bytes) || seq (u64 BE) || hash (32 bytes)). */
export async function leafHash(chain, seq, hash) {
  const leaf = new Uint8Array(57);
  leaf.set(fromHex(chain, 16, '`chain`'), 1);
  new DataView(leaf.buffer).setBigUint64(17, BigInt(seq));
  leaf.set(fromHex(hash, 32, '`hash`'), 25);
  return sha256(leaf);
}

const odd = (n) => (n & 1n) === 1n;

/** RFC 9162 §2.1.3.2: the leaf hashed `leaf` is at `index` in the tree of `size` whose root is `root`. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  let [fn, sn] = [BigInt(index), BigInt(size) - 1n];
  if (fn > sn) fail(`leaf ${index} is beyond the checkpoint's size ${size}`);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) fail('the inclusion proof is too long');
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail('the inclusion proof is too short');
  if (!same(r, root)) fail('the inclusion proof does not lead to the checkpoint root');
}

/** RFC 9162 §2.1.4.2: the tree of `newSize` (root `newRoot`) extends the tree of `oldSize` (root `oldRoot`). */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const [m, n] = [BigInt(oldSize), BigInt(newSize)];
  if (m > n) fail(`the log shrank from ${m} to ${n} leaves: it no longer holds what it signed`);
  if (m === n || m === 0n) {
    if (proof.length !== 0) fail('the consistency proof should be empty');
    if (m === n && !same(oldRoot, newRoot)) fail(`two checkpoints of size ${m} with different roots: a split view`);
    if (m === 0n && !same(oldRoot, await sha256(new Uint8Array()))) fail('the kept checkpoint of size 0 has a root other than the empty tree');
    return;
  }
  const path = (m & (m - 1n)) === 0n ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) fail('the consistency proof is empty');
  let [fn, sn] = [m - 1n, n - 1n];
  while (odd(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let [fr, sr] = [path[0], path[0]];
  for (const c of path.slice(1)) {
    if (sn === 0n) fail('the consistency proof is too long');
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!odd(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail('the consistency proof is too short');
  if (!same(fr, oldRoot)) fail(`the consistency proof does not lead to the kept root of size ${m}: the log rewrote its history`);
  if (!same(sr, newRoot)) fail(`the consistency proof does not lead to the new root of size ${n}`);
}
