// The in-page part of benches/web/run.mjs: every figure of one run is
// measured here, in the same page, one after the other.
import init, { Sealtrail, hashEvent } from '/pkg/sealtrail.js';
import canonicalize from '/node_modules/canonicalize/lib/canonicalize.js';
import { sha256 } from '/node_modules/@noble/hashes/sha2.js';
import { bytesToHex } from '/node_modules/@noble/hashes/utils.js';
import { parseKey, openCheckpoint, leafHash, verifyInclusion, verifyConsistency, fromBase64 } from '/www/tlog-verify.js';
import cedarInit, { preparsePolicySet, statefulIsAuthorized } from '/node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm.js';

const now = () => performance.now();
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const iso = (ms) => new Date(ms).toISOString();

function session(userId, role, caseload) {
  const t = Date.now();
  return { userId, name: `Bench ${role}`, role, caseload, team: 'team-north', authStrength: 'mfa',
    authTime: iso(t - 60_000), expiresAt: iso(t + 3_600_000), sessionId: `bench-${t}`, client: 'bench',
    network: 'onSite', device: 'managed' };
}

async function start(policy, s) {
  return Sealtrail.start({ policy, session: s, endpoint: '/api',
    options: { dbName: `bench-${Math.random()}`, backoffMs: 60_000, backoffMaxMs: 60_000 } });
}

/** A realistic event (a sealed view of a record), without its `seq`, `prev` and `hash`. */
const sampleEvent = {
  v: 1, chain: '0123456789abcdef0123456789abcdef', ts: '2026-11-23T06:00:00.123Z',
  actor: { id: 'u-nurse-17', role: 'nurse', name: 'Nia Patel', authStrength: 'mfa' },
  action: 'view-sealed', outcome: 'success',
  subject: { recordId: 'p-1001', type: 'patient', relation: 'caseload', demographics: { ageBand: '25-34' } },
  fields: ['/notes/1/text', '/riskFlags/dv', '/diagnoses'], noteTypes: ['clinical', 'dvIndicator'], labels: ['R', 'V', 'SDV'],
  session: { id: 's-1', client: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156' }, purposeOfUse: 'TREAT',
  policy: 'sha256:9a2f0e5c1d7b3a8f6e4c2b0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e',
  detail: { sealed: ['/notes/1/text', '/riskFlags/dv'] },
};

/** A chain of `n` realistic events, hashed in sequence (each links to the last). */
async function appendBench(n) {
  const base = sampleEvent;
  const enc = new TextEncoder();
  const run = async (hash) => {
    let prev = '0'.repeat(64);
    const t0 = now();
    for (let seq = 0; seq < n; seq++) prev = await hash({ ...base, seq, prev });
    return ((now() - t0) * 1000) / n;
  };
  const ours = async (e) => hashEvent(e);
  const peer = async (e) => hex(await crypto.subtle.digest('SHA-256', enc.encode(canonicalize(e))));
  // The synchronous peer: no promise per hash, SHA-256 in JavaScript.
  const noble = async (e) => bytesToHex(sha256(enc.encode(canonicalize(e))));
  // Same answer first: the implementations agree byte for byte.
  const sample = { ...base, seq: 0, prev: '0'.repeat(64) };
  if (hashEvent(sample) !== await peer(sample) || hashEvent(sample) !== await noble(sample)) {
    throw new Error('hashEvent and canonicalize + SHA-256 disagree');
  }
  // Alternating rounds, best of each: a shared, busy machine only ever adds time.
  let best = { ours: Infinity, peer: Infinity, noble: Infinity };
  for (let round = 0; round < 7; round++) {
    best.ours = Math.min(best.ours, await run(ours));
    best.peer = Math.min(best.peer, await run(peer));
    best.noble = Math.min(best.noble, await run(noble));
  }
  return { n, rounds: 7, ...best };
}

/** Cedar policies equivalent to the sealtrail policy's view permissions. */
function cedarPolicies(policy) {
  const out = [];
  for (const [role, r] of Object.entries(policy.roles)) {
    for (const [noteType, p] of Object.entries(r.noteTypes ?? {})) {
      if (!p.view) continue;
      const scope = p.view === 'all' ? 'true'
        : p.view === 'team' ? '(principal.caseload.contains(resource.recordId) || resource.team == principal.team)'
          : 'principal.caseload.contains(resource.recordId)';
      out.push(`permit(principal, action == Action::"view", resource) when { principal.role == "${role}" && resource.noteType == "${noteType}" && ${scope} };`);
    }
  }
  return out.join('\n');
}

/**
 * Notes when `readwrite` transactions open and complete (IndexedDB's own
 * methods, wrapped in the page): what a call spends waiting for storage,
 * so the module's own time is the rest.
 */
function watchWrites() {
  const transaction = IDBDatabase.prototype.transaction;
  const span = { open: Infinity, done: -Infinity };
  IDBDatabase.prototype.transaction = function (...args) {
    const tx = transaction.apply(this, args);
    if (args[1] === 'readwrite') {
      span.open = Math.min(span.open, now());
      tx.addEventListener('complete', () => { span.done = Math.max(span.done, now()); });
    }
    return tx;
  };
  return { span, stop: () => { IDBDatabase.prototype.transaction = transaction; } };
}

async function sealBench(policy, demo) {
  const records = Array.from({ length: 1000 }, (_, i) => {
    const r = structuredClone(demo[i % demo.length]);
    r.id = `c-${i}`;
    r.team = i % 3 === 0 ? 'team-south' : 'team-north';
    return r;
  });
  const caseload = records.slice(0, 300).map((r) => r.id);
  const s = session('u-bench-nurse', 'nurse', caseload);
  const st = await start(policy, s);
  await st.sealMany(records.slice(0, 50), 'view'); // warm-up
  let ours = Infinity;
  let module = Infinity;
  let sealed;
  for (let round = 0; round < 2; round++) {
    const w = watchWrites();
    const t0 = now();
    try {
      sealed = await st.sealMany(records, 'view');
    } finally {
      w.stop();
    }
    const t1 = now();
    ours = Math.min(ours, t1 - t0);
    // Before the events' transaction opens (JSON in, decisions, salted
    // commitments, event hashing) and after it completes (JSON out).
    if (w.span.open <= w.span.done) module = Math.min(module, (w.span.open - t0) + (t1 - w.span.done));
  }
  st.close();

  const result = preparsePolicySet('bench', { staticPolicies: cedarPolicies(policy) });
  if (result.type !== 'success') throw new Error(`cedar: ${JSON.stringify(result.errors)}`);
  const principal = { uid: { type: 'User', id: s.userId }, attrs: { role: s.role, team: s.team, caseload }, parents: [] };
  const calls = [];
  sealed.forEach((res, i) => {
    for (const d of res.decisions) {
      const id = `${res.recordId}${d.pointer}`;
      calls.push({
        principal: principal.uid, action: { type: 'Action', id: 'view' }, resource: { type: 'Field', id },
        context: {}, preparsedPolicySetId: 'bench',
        entities: [principal, { uid: { type: 'Field', id }, attrs: { noteType: d.noteType, team: records[i].team, recordId: res.recordId }, parents: [] }],
      });
    }
  });
  for (const c of calls.slice(0, 500)) statefulIsAuthorized(c); // warm-up
  let peer = Infinity;
  let cedarAllowed = 0;
  for (let round = 0; round < 2; round++) {
    const t1 = now();
    cedarAllowed = 0;
    for (const c of calls) {
      const a = statefulIsAuthorized(c);
      if (a.type !== 'success') throw new Error(`cedar: ${JSON.stringify(a.errors)}`);
      if (a.response.decision === 'allow') cedarAllowed += 1;
    }
    peer = Math.min(peer, now() - t1);
  }
  const oursAllowed = sealed.reduce((n, r) => n + r.decisions.filter((d) => d.decision.type === 'allow').length, 0);
  return { records: records.length, fields: calls.length, ours, module, peer, cedarAllowed, oursAllowed };
}

/**
 * The peer of the durable append: IndexedDB alone, rows put by hand
 * (`strict` durability): one transaction per event; then the burst in one
 * transaction, once as a row per event and once in rows of 128 events
 * (their lines joined by newlines), as sealtrail stores a committed batch.
 */
async function rawIdbBench(line, serial, burst) {
  const name = `bench-raw-${Math.random()}`;
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('events', { keyPath: ['chain', 'seq'] });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const write = (rows) => new Promise((resolve, reject) => {
    const tx = db.transaction('events', 'readwrite', { durability: 'strict' });
    const store = tx.objectStore('events');
    for (const r of rows) store.put(r);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  const chain = '0123456789abcdef0123456789abcdef';
  await write([{ chain, seq: 0, line }]);
  const times = [];
  let t0 = now();
  for (let i = 1; i <= serial; i++) {
    const t = now();
    await write([{ chain, seq: i, line }]);
    times.push(now() - t);
  }
  const serialMs = (now() - t0) / serial;
  const rows = Array.from({ length: burst }, (_, i) => ({ chain, seq: serial + 1 + i, line }));
  t0 = now();
  await write(rows);
  const burstMs = now() - t0;
  const first = serial + 1 + burst;
  const batched = [];
  for (let at = 0; at < burst; at += 128) {
    const n = Math.min(128, burst - at);
    batched.push({ chain, seq: first + at + n - 1, first: first + at, line: Array(n).fill(line).join('\n') });
  }
  t0 = now();
  await write(batched);
  const rowsMs = now() - t0;
  db.close();
  indexedDB.deleteDatabase(name);
  times.sort((a, b) => a - b);
  return {
    serialPerSec: 1000 / serialMs,
    burstPerSec: (burst * 1000) / burstMs,
    rowsPerSec: (burst * 1000) / rowsMs,
    p95: times[Math.floor(times.length * 0.95)],
  };
}

async function idbBench(policy) {
  const st = await start(policy, session('u-bench-nurse', 'nurse', []));
  await st.log({ type: 'search', query: 'warm-up' });
  const serial = 200;
  let t0 = now();
  for (let i = 0; i < serial; i++) await st.log({ type: 'search', query: `q${i}`, filters: { team: 'team-north' } });
  const serialMs = (now() - t0) / serial;
  const burst = 1000;
  t0 = now();
  await Promise.all(Array.from({ length: burst }, (_, i) => st.log({ type: 'search', query: `b${i}` })));
  const burstMs = now() - t0;
  const { guarantees } = await st.status();
  st.close();
  const line = JSON.stringify({ ...sampleEvent, seq: 1, prev: '0'.repeat(64), hash: '0'.repeat(64) });
  const peer = await rawIdbBench(line, serial, burst);
  return { serialMs, serialPerSec: 1000 / serialMs, burst, burstPerSec: (burst * 1000) / burstMs, guarantees, peer };
}

async function revealBench(policy, demo) {
  const st = await start(policy, session('u-bench-sg', 'safeguardingLead', []));
  const record = demo.find((r) => r.id === 'p-1002');
  await st.seal(record, 'view');
  const g = await st.breakGlassHeadless({ recordId: 'p-1002', reasonCode: 'abuseAllegation', reasonText: 'Benchmark of the reveal path under a grant' });
  if (g.outcome !== 'granted') throw new Error(JSON.stringify(g));
  const times = [];
  for (let i = 0; i < 60; i++) {
    const t0 = now();
    const o = await st.reveal('p-1002', i % 2 ? '/diagnoses' : '/medications', g.grant);
    times.push(now() - t0);
    if (o.value === undefined) throw new Error('nothing revealed');
  }
  st.close();
  times.splice(0, 10); // warm-up
  times.sort((a, b) => a - b);
  return { n: times.length, median: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)] };
}

/**
 * One tab of the several-tabs run: starts an instance on the shared
 * database `dbName` and, when the `bench-go` channel says so, appends `n`
 * events at once (group commit). The result lands in `window.__tab`.
 */
window.armTab = async (dbName, n) => {
  await init();
  const policy = await (await fetch('/pkg/policy.default.json')).json();
  const st = await Sealtrail.start({ policy, session: session('u-bench-nurse', 'nurse', []), endpoint: '/api',
    options: { dbName, backoffMs: 60_000, backoffMaxMs: 60_000 } });
  await st.log({ type: 'search', query: 'warm-up' });
  window.__tab = null;
  const go = new BroadcastChannel('bench-go');
  go.onmessage = async () => {
    go.close();
    const start = performance.timeOrigin + now();
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => st.log({ type: 'search', query: `t${i}` })));
    const end = performance.timeOrigin + now();
    st.close();
    window.__tab = { start, end, failed: results.filter((r) => r.status === 'rejected').length };
  };
  return true;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Log proofs as the uploader checks them before deleting: each
 * acknowledgement's checkpoint signature (WebCrypto Ed25519), the inclusion
 * of the batch's last event, and consistency with the checkpoint kept from
 * the last one (fetched from the collector). The module's cost is a one-event
 * upload with the collector's key pinned minus the same upload without (the
 * module deletes on 200), interleaved, both against the scripted log
 * collector of tests/support/fixture-server.mjs. The peer: the same checks in
 * plain JavaScript and WebCrypto (www/tlog-verify.js, the review page's) on
 * that collector's acknowledgements, with the same consistency fetch.
 */
async function proofBench(policy, fixture, keyText, rounds) {
  const tag = `${Date.now()}`;
  // The scripted collector reads a credential's claims, never its signature.
  const part = (v) => btoa(JSON.stringify(v)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const mk = (name, extra) => {
    const s = session(`u-bench-${name}`, 'nurse', []);
    const credential = async (chain) => {
      const t = Math.floor(Date.now() / 1000);
      return `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part({ sub: s.userId, sid: s.sessionId, role: s.role, chain, iat: t, exp: t + 3600 })}.${part('unsigned')}`;
    };
    return Sealtrail.start({ policy, session: s, endpoint: `${fixture}/s/log/bench-${name}-${tag}`,
      options: { dbName: `bench-proof-${name}-${tag}`, backoffMs: 60_000, backoffMaxMs: 60_000, batchDelayMs: 60_000, credential, ...extra } });
  };
  const pinned = await mk('pinned', { collectorKey: keyText });
  const plain = await mk('plain', {});
  const upload = async (st) => {
    await st.log({ type: 'search', query: 'proof bench' });
    const t0 = now();
    const s = await st.flush();
    const ms = now() - t0;
    if (s.pending !== 0 || s.lastError) throw new Error(`the upload did not settle: ${JSON.stringify(s)}`);
    return ms;
  };
  // The first acknowledgement has no kept checkpoint to be consistent with.
  await upload(pinned);
  await upload(plain);
  const withKey = [];
  const without = [];
  for (let i = 0; i < rounds; i++) {
    withKey.push(await upload(pinned));
    without.push(await upload(plain));
  }
  pinned.close();
  plain.close();

  // The peer, on acknowledgements of one-event batches of its own chain.
  const endpoint = `${fixture}/s/log/bench-peer-${tag}`;
  const chain = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  let seq = 0;
  const ack = async () => {
    const hash = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const resp = await fetch(`${endpoint}/chains/${chain}/events`, { method: 'POST', body: JSON.stringify({ events: [{ chain, seq, hash }] }) });
    const body = await resp.json();
    seq += 1;
    return { hash, seq: seq - 1, proof: body.log.proof };
  };
  let kept = null;
  const key = await parseKey(keyText);
  /** Checks an acknowledgement's proof; `given`: the consistency proof already fetched. */
  const check = async (a, given = null) => {
    const [head, note] = [a.proof.slice(0, a.proof.indexOf('\n\n')), a.proof.slice(a.proof.indexOf('\n\n') + 2)];
    const [, indexLine, ...hashes] = head.split('\n');
    const cp = await openCheckpoint(note, key);
    await verifyInclusion(BigInt(indexLine.slice(6)), cp.size, await leafHash(chain, a.seq, a.hash), hashes.map((h) => fromBase64(h, 'proof')), cp.root);
    if (kept) {
      const text = given ?? (await (await fetch(`${endpoint}/tlog/consistency?old=${kept.size}&new=${cp.size}`)).text());
      await verifyConsistency(kept.size, cp.size, kept.root, cp.root, text.split('\n').filter(Boolean).map((h) => fromBase64(h, 'consistency')));
    }
    return cp;
  };
  kept = await check(await ack());
  const peer = [];
  const compute = [];
  for (let i = 0; i < rounds; i++) {
    const a = await ack();
    let t0 = now();
    const cp = await check(a);
    peer.push(now() - t0);
    // The same checks with the consistency proof already fetched: computation alone.
    const text = await (await fetch(`${endpoint}/tlog/consistency?old=${kept.size}&new=${cp.size}`)).text();
    t0 = now();
    await check(a, text);
    compute.push(now() - t0);
    kept = cp;
  }
  return { rounds, withKey: median(withKey), without: median(without), peer: median(peer), compute: median(compute), size: Number(kept.size) };
}

/** Starts every armed tab at once. */
window.goTabs = () => new BroadcastChannel('bench-go').postMessage('go');

window.runBench = async (fixture, key) => {
  await init();
  await cedarInit();
  const policy = await (await fetch('/pkg/policy.default.json')).json();
  const demo = await (await fetch('/www/data/records.json')).json();
  return {
    append: await appendBench(2000),
    seal: await sealBench(policy, demo),
    idb: await idbBench(policy),
    reveal: await revealBench(policy, demo),
    proof: await proofBench(policy, fixture, key, 40),
  };
};
