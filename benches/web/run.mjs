// Browser benchmark of the sealtrail package against its peers, measured in
// one run in one engine (SEALTRAIL_ENGINE: chromium by default, firefox or
// webkit; driven through WebDriver by tests/support/browsers.mjs):
//   1. append (canonicalize + hash) per event: sealtrail's hashEvent vs the
//      npm `canonicalize` + WebCrypto `subtle.digest`, and vs `canonicalize`
//      + the synchronous JavaScript SHA-256 of `@noble/hashes`, sequential as
//      a chain is;
//   2. sealing a 1,000-record caseload (sealMany, with its 1,000 durable view
//      events), and the module's own part of it (the time outside the
//      events' IndexedDB transaction), vs the same per-field view decisions
//      in @cedar-policy/cedar-wasm (statefulIsAuthorized, policies preparsed
//      once);
//   3. IndexedDB durable append throughput: one event per await, and 1,000
//      concurrent appends (group commit), vs rows put by hand (`strict`, a
//      transaction per event, then one for all, as a row per event and in
//      rows of 128 events as sealtrail stores a batch);
//   4. log-before-reveal latency (break-glass grant, then reveals) vs one
//      hand-made `strict` put;
//   5. durable append with 1, 2 and 5 tabs of the origin open, each
//      appending 1,000 events at once to its own chain in the shared database
//      (with each tab's span from the first start, to tell tabs that run at
//      once from tabs that wait for each other);
//   6. shipped .wasm size, raw and gzipped, beside cedar-wasm's;
//   7. log proofs as the uploader checks each acknowledgement (checkpoint
//      signature, inclusion, consistency with the kept checkpoint): a
//      one-event upload with the collector key pinned vs without, against the
//      scripted log collector (tests/support/fixture-server.mjs), and the same
//      checks in plain JavaScript + WebCrypto (www/tlog-verify.js).
// Every ratio is against its peer measured in the same run.
// Usage: scripts/build-web.sh && node benches/web/run.mjs
//        SEALTRAIL_ENGINE=firefox node benches/web/run.mjs
//        SEALTRAIL_ENGINE=webkit xvfb-run -a node benches/web/run.mjs
// The page is served by a throwaway static server (uploads go nowhere: the
// endpoint refuses, so events stay in IndexedDB as they would offline).
import http from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { availableParallelism, loadavg } from 'node:os';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineFromEnv, startBrowser, evaluate } from '../../tests/support/browsers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };

// SEALTRAIL_PKG_DIR benchmarks another build of the package (for example without SIMD).
const pkgDir = process.env.SEALTRAIL_PKG_DIR ?? join(root, 'pkg');
if (!existsSync(join(pkgDir, 'sealtrail_bg.wasm'))) {
  console.error('benches/web: pkg/ is missing; run scripts/build-web.sh first');
  process.exit(1);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) {
    res.writeHead(503, { 'content-type': 'application/json' });
    return res.end('{"error":"benchmark: no collector"}');
  }
  const path = url.pathname === '/' ? '/benches/web/page.html' : url.pathname;
  const file = path.startsWith('/pkg/') ? normalize(join(pkgDir, path.slice(5))) : normalize(join(root, path));
  if (!(file.startsWith(root) || file.startsWith(pkgDir)) || !existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// The scripted collector with a transparency log, for the proof row.
const fixtureProc = spawn(process.execPath, [join(root, 'tests', 'support', 'fixture-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const fixture = await new Promise((resolve, reject) => {
  let out = '';
  fixtureProc.stdout.on('data', (d) => {
    out += d;
    const m = /fixture listening on (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  fixtureProc.on('exit', (code) => reject(new Error(`the fixture server exited ${code}`)));
});
const fixtureKey = (await (await fetch(`${fixture}/key`)).json()).key;

const browser = await startBrowser(engineFromEnv());
try {
  await browser.driver.manage().setTimeouts({ script: 600_000 });
  await browser.driver.get(base);
  const loadBefore = loadavg()[0];
  const r = await evaluate(browser.driver, (f, k) => window.runBench(f, k), fixture, fixtureKey);
  const tabs = [];
  for (const n of [1, 2, 5]) tabs.push(await tabsBench(browser.driver, n, 1000));
  if (r.seal.cedarAllowed !== r.seal.oursAllowed) console.warn(`warning: cedar allowed ${r.seal.cedarAllowed} fields, sealtrail ${r.seal.oursAllowed}: the policies differ`);
  const size = (f) => { const b = readFileSync(f.startsWith('/') ? f : join(root, f)); return { raw: b.length, gz: gzipSync(b, { level: 9 }).length }; };
  const ours = size(join(pkgDir, 'sealtrail_bg.wasm'));
  const cedar = size('node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm');
  const f = (x, d = 1) => x.toFixed(d);
  console.log(`sealtrail browser benchmark (${browser.name} ${browser.version}, one run, load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end on ${availableParallelism()} cores)`);
  console.log(`append: hash one event (canonical JSON + SHA-256), ${r.append.n} events in sequence, best of ${r.append.rounds} alternating rounds`);
  console.log(`  sealtrail hashEvent                   ${f(r.append.ours, 2)} µs/event`);
  console.log(`  canonicalize + subtle.digest          ${f(r.append.peer, 2)} µs/event, ratio peer/sealtrail ${f(r.append.peer / r.append.ours, 2)}x`);
  console.log(`  canonicalize + @noble/hashes sha256   ${f(r.append.noble, 2)} µs/event, ratio peer/sealtrail ${f(r.append.noble / r.append.ours, 2)}x`);
  console.log(`sealing a ${r.seal.records}-record caseload (${r.seal.fields} field decisions), best of 2 rounds each`);
  console.log(`  sealtrail sealMany                    ${f(r.seal.ours)} ms (decide, seal with salted commitments, log ${r.seal.records} events durably)`);
  console.log(`  of which the module alone             ${f(r.seal.module)} ms (outside the events' IndexedDB transaction: JSON in and out, decisions, commitments, event hashes)`);
  console.log(`  cedar-wasm statefulIsAuthorized       ${f(r.seal.peer)} ms (decisions only, ${r.seal.fields} calls, ${r.seal.cedarAllowed} allowed vs sealtrail ${r.seal.oursAllowed})`);
  console.log(`  ratio cedar/sealtrail                 ${f(r.seal.peer / r.seal.module, 2)}x the module alone, ${f(r.seal.peer / r.seal.ours, 2)}x end to end`);
  console.log(`IndexedDB durable append (status() reports durability ${r.idb.guarantees.durability}, storage ${r.idb.guarantees.storage}), peers: rows put by hand, strict`);
  console.log(`  one at a time                         ${f(r.idb.serialPerSec, 0)} events/s (${f(r.idb.serialMs, 2)} ms per event); by hand ${f(r.idb.peer.serialPerSec, 0)}/s, ratio sealtrail/peer ${f(r.idb.serialPerSec / r.idb.peer.serialPerSec, 2)}`);
  console.log(`  ${r.idb.burst} concurrent (group commit)      ${f(r.idb.burstPerSec, 0)} events/s; by hand in one transaction, a row per event ${f(r.idb.peer.burstPerSec, 0)}/s, ratio sealtrail/peer ${f(r.idb.burstPerSec / r.idb.peer.burstPerSec, 2)}`);
  console.log(`                                        by hand in rows of 128 events, as sealtrail stores them: ${f(r.idb.peer.rowsPerSec, 0)}/s, ratio sealtrail/peer ${f(r.idb.burstPerSec / r.idb.peer.rowsPerSec, 2)}`);
  console.log(`log-before-reveal: reveal under a grant, unseal event stored first`);
  console.log(`  median ${f(r.reveal.median, 2)} ms, p95 ${f(r.reveal.p95, 2)} ms over ${r.reveal.n} reveals; one strict put by hand p95 ${f(r.idb.peer.p95, 2)} ms, ratio ${f(r.reveal.p95 / r.idb.peer.p95, 2)}`);
  console.log(`durable append with several tabs of the origin open (each 1,000 events at once to its own chain, one shared database)`);
  for (const t of tabs) {
    console.log(`  ${t.tabs} tab${t.tabs > 1 ? 's' : ' '}                                ${f(t.perSec, 0)} events/s in all, ratio to one tab ${f(t.perSec / tabs[0].perSec, 2)}; each tab from-to, ms: ${t.spans}${t.failed ? `, ${t.failed} appends FAILED` : ''}`);
  }
  console.log(`log proof per acknowledgement: checkpoint signature (WebCrypto Ed25519) + inclusion + consistency with the kept checkpoint (fetched), median of ${r.proof.rounds} interleaved one-event uploads, log of ~${r.proof.size} leaves`);
  console.log(`  module upload, collector key pinned   ${f(r.proof.withKey, 2)} ms; without (deletes on 200) ${f(r.proof.without, 2)} ms: the checks cost ${f(r.proof.withKey - r.proof.without, 2)} ms`);
  console.log(`  plain JS + WebCrypto (tlog-verify.js) ${f(r.proof.peer, 2)} ms with the consistency fetch, ${f(r.proof.compute, 2)} ms computation alone; ratio module/peer ${f((r.proof.withKey - r.proof.without) / r.proof.peer, 2)}`);
  console.log(`shipped .wasm`);
  console.log(`  sealtrail_bg.wasm   ${ours.raw} bytes raw, ${ours.gz} gzipped`);
  console.log(`  cedar_wasm_bg.wasm  ${cedar.raw} bytes raw, ${cedar.gz} gzipped`);
  console.log(`  ratio cedar/sealtrail ${f(cedar.raw / ours.raw, 2)}x raw, ${f(cedar.gz / ours.gz, 2)}x gzipped`);
} finally {
  await browser.quit();
  server.close();
  fixtureProc.kill();
}

/**
 * Durable append with `n` tabs: each tab arms an instance on one shared
 * database, then one message starts them all (a BroadcastChannel, which
 * background tabs get at once, unlike their timers); events per second over
 * the span from the first start to the last end.
 */
async function tabsBench(driver, n, events) {
  const first = await driver.getWindowHandle();
  const dbName = `bench-tabs-${n}-${Date.now()}`;
  const handles = [first];
  for (let i = 1; i < n; i++) {
    await driver.switchTo().newWindow('tab');
    await driver.get(base);
    handles.push(await driver.getWindowHandle());
  }
  try {
    for (const h of handles) {
      await driver.switchTo().window(h);
      await evaluate(driver, (db, k) => window.armTab(db, k), dbName, events);
    }
    await evaluate(driver, () => window.goTabs());
    const results = [];
    for (const h of handles) {
      await driver.switchTo().window(h);
      let t = null;
      for (let tries = 0; t === null && tries < 1200; tries++) {
        t = await evaluate(driver, () => window.__tab);
        if (t === null) await new Promise((r) => setTimeout(r, 100));
      }
      if (t === null) throw new Error(`tab ${h} never finished its appends`);
      results.push(t);
    }
    const t0 = Math.min(...results.map((t) => t.start));
    const span = Math.max(...results.map((t) => t.end)) - t0;
    const spans = results.map((t) => `${Math.round(t.start - t0)}-${Math.round(t.end - t0)}`).join(', ');
    return { tabs: n, perSec: (n * events * 1000) / span, spans, failed: results.reduce((a, t) => a + t.failed, 0) };
  } finally {
    for (const h of handles.slice(1)) {
      await driver.switchTo().window(h);
      await driver.close();
    }
    await driver.switchTo().window(first);
  }
}
