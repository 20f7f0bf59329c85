// The review page holds the collector to its transparency log, in the
// engine SEALTRAIL_ENGINE names: it checks the checkpoint's signature, that
// every stored chain head is in the checkpoint and that the log only grew
// since the checkpoint it kept from the last review, all in the page with
// WebCrypto. One reviewer's browser (one origin, so one localStorage) comes
// back after each thing an intruder with the database does:
//   - nothing: every head included, consistent with the last review; and a
//     review reading fewer heads than are stored says the rest went unchecked;
//   - a stored event edited by hand (triggers dropped, line and hash
//     rewritten): its head is not included, an alert says which chain;
//   - the collector restored from an older backup: the log shrank below the
//     kept checkpoint; then other events bring it back to the same size, with
//     another root: a split view. Both are alerts.
//
// Needs the collector and the CLI (`sealtrail sample` writes the sample
// evening, scripts/demo-seed.mjs uploads it); the review page loads no .wasm:
//   cargo build --release -p sealtrail-collector && cargo build --release --bin sealtrail \
//     && node --test tests/e2e/log-review.test.mjs
// SEALTRAIL_COLLECTOR_BIN and SEALTRAIL_CLI_BIN override the binaries' paths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import canonicalize from 'canonicalize';
import { root, startCollector, launch, REVIEW_TOKEN } from './harness.mjs';

function cli() {
  if (process.env.SEALTRAIL_CLI_BIN) return process.env.SEALTRAIL_CLI_BIN;
  if (process.env.SEALTRAIL_COLLECTOR_BIN) return join(dirname(process.env.SEALTRAIL_COLLECTOR_BIN), 'sealtrail');
  return join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'release', 'sealtrail');
}

const POLICY = join(root, 'pkg-config', 'policy.default.json');
const work = mkdtempSync(join(tmpdir(), 'sealtrail-log-review-'));
const db = join(work, 'log.sqlite');
let collector;
let listen;
let browser;
let reviewer;
/** The chain uploaded after the backup: its file, its id and its events. */
let late;

const seed = (dir) => execFileSync('node', [join(root, 'scripts', 'demo-seed.mjs'), collector.url, dir], { stdio: 'pipe' });
const sql = (text) => execFileSync('sqlite3', [db, text], { encoding: 'utf8' }).trim();

/** A copy of the SQLite database with its write-ahead log, as a backup of a stopped collector. */
function copyDb(from, to) {
  for (const tail of ['-wal', '-shm']) rmSync(`${to}${tail}`, { force: true });
  copyFileSync(from, to);
  if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${to}-wal`);
}

/** Stops the collector and starts it again on the same port and database. */
async function restart(between = () => {}) {
  await collector.stop();
  between();
  collector = await startCollector({ database: db, listen });
}

before(async () => {
  // The sample evening, but one chain held back to arrive after the backup.
  const early = join(work, 'early');
  const held = join(work, 'held');
  execFileSync(cli(), ['sample', early, '--policy', POLICY], { stdio: 'pipe' });
  mkdirSync(held);
  const files = readdirSync(early).filter((n) => n.endsWith('.jsonl'));
  const count = (n) => readFileSync(join(early, n), 'utf8').split('\n').filter((l) => l.trim()).length;
  const smallest = files.sort((a, b) => count(a) - count(b)).find((n) => count(n) >= 2);
  const events = readFileSync(join(early, smallest), 'utf8').split('\n').filter((l) => l.trim());
  late = { file: smallest, chain: JSON.parse(events[0]).chain, events: events.map((l) => JSON.parse(l)) };
  renameSync(join(early, smallest), join(held, smallest));

  collector = await startCollector({ database: db });
  listen = new URL(collector.url).host;
  seed(early);
  // A clean stop, a backup of the database, and back on the same port.
  await restart(() => copyDb(db, `${db}.backup`));
  seed(held);
  browser = await launch();
  reviewer = await browser.openPage(collector.url);
});

after(async () => {
  await reviewer?.close();
  await browser?.close();
  await collector?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Opens the review page in the reviewer's browser and waits for the log checks. */
async function review() {
  await reviewer.goto('/review.html');
  if (!(await reviewer.evaluate(() => sessionStorage.getItem('sealtrail.review.token')))) {
    await reviewer.fill('#token', REVIEW_TOKEN);
    await reviewer.click('#signin button[type="submit"]');
  }
  // The checks, or the panel's error; the page loads every panel at once, slowly on a loaded machine.
  await reviewer.waitFor(() => document.querySelector('#log-checks li[data-check="heads"], #log-checks li[data-check="signature"][data-ok="false"]')
    || document.querySelector('#log-panel .panel-error')?.textContent, null, { timeout: 120_000 });
  const error = await reviewer.evaluate(() => document.querySelector('#log-panel .panel-error').textContent);
  assert.equal(error, '', 'the log panel could not load');
  return reviewer.evaluate(() => ({
    checks: Object.fromEntries([...document.querySelectorAll('#log-checks li')].map((li) => [li.dataset.check, { ok: li.dataset.ok === 'true', text: li.textContent }])),
    heads: Object.fromEntries([...document.querySelectorAll('#log-heads tr[data-chain]')].map((tr) => [tr.dataset.chain, tr.dataset.included])),
    alert: document.getElementById('log-alert').hidden ? null : document.getElementById('log-alert').textContent,
    alertRole: document.getElementById('log-alert').getAttribute('role'),
    failed: window.__errors ?? [],
  }));
}

test('every stored chain head is included and the log is consistent with the last review', async () => {
  const first = await review();
  assert.equal(first.alert, null, first.alert);
  assert.ok(first.checks.signature.ok, first.checks.signature.text);
  assert.match(first.checks.consistency.text, /First review in this browser/);
  assert.ok(first.checks.heads.ok, first.checks.heads.text);
  assert.ok(Object.keys(first.heads).length >= 2);
  assert.ok(Object.values(first.heads).every((s) => s === 'yes'), JSON.stringify(first.heads));
  assert.equal(first.heads[late.chain], 'yes');

  // The next review proves the log only grew from the checkpoint kept.
  const second = await review();
  assert.equal(second.alert, null, second.alert);
  assert.ok(second.checks.consistency.ok);
  assert.match(second.checks.consistency.text, /Consistent with the checkpoint of \d+ events kept/);
  assert.deepEqual(second.failed, []);
  const failed = reviewer.gate.requests.filter((r) => r.status >= 400 && r.path !== '/favicon.ico');
  assert.deepEqual(failed, []);

  // A review that reads fewer chain heads than are stored (the page reads at
  // most 10,000; here 1) says plainly that the others went unchecked.
  const partial = await reviewer.evaluate(async () => {
    const { checkLog } = await import('/review-log.js');
    await checkLog(1);
    const alert = document.getElementById('log-alert');
    return {
      checks: Object.fromEntries([...document.querySelectorAll('#log-checks li')].map((li) => [li.dataset.check, { ok: li.dataset.ok === 'true', text: li.textContent }])),
      heads: document.querySelectorAll('#log-heads tr[data-chain]').length,
      alert: alert.hidden ? null : alert.textContent,
    };
  });
  assert.equal(partial.heads, 1);
  assert.ok(partial.checks.heads.ok, partial.checks.heads.text);
  assert.match(partial.checks.heads.text, /^Every chain head read \(of the 1 most recently changed chains\)/);
  assert.equal(partial.checks.coverage?.ok, false, JSON.stringify(partial.checks));
  assert.match(partial.checks.coverage.text, /more than 1 chains are stored.*went unchecked/);
  assert.match(partial.alert ?? '', /went unchecked/);
  assert.doesNotMatch(partial.alert, /does not hold/);
});

test('a stored event edited by hand in the database: its head is not included, an alert names its chain', async () => {
  // The intruder stops the collector, drops the append-only trigger and
  // rewrites the chain's head (its line and its hash), then starts it again.
  const seq = late.events.length - 1;
  await restart(() => {
    const hash = sql(`SELECT hash FROM events WHERE chain = '${late.chain}' AND seq = ${seq}`);
    assert.match(hash, /^[0-9a-f]{64}$/);
    const forged = `${hash[0] === '0' ? '1' : '0'}${hash.slice(1)}`;
    sql(`DROP TRIGGER events_no_update; UPDATE events SET hash = '${forged}', line = replace(line, '${hash}', '${forged}') WHERE chain = '${late.chain}' AND seq = ${seq};`);
  });

  const seen = await review();
  assert.equal(seen.heads[late.chain], 'no');
  assert.equal(seen.checks.heads.ok, false);
  assert.equal(seen.alertRole, 'alert');
  assert.ok(seen.alert?.includes(late.chain), seen.alert);
  assert.match(seen.alert, /not included in the checkpoint/);
  // The other heads still hold, and the log itself only grew.
  assert.ok(Object.entries(seen.heads).filter(([c]) => c !== late.chain).every(([, s]) => s === 'yes'));
  assert.ok(seen.checks.consistency.ok, seen.checks.consistency.text);
  assert.ok(seen.checks.signature.ok);
});

test('a collector restored from an older backup, then grown back to a split view, is caught against the kept checkpoint', async () => {
  await restart(() => copyDb(`${db}.backup`, db));
  const shrunk = await review();
  assert.equal(shrunk.checks.consistency.ok, false);
  assert.match(shrunk.checks.consistency.text, /the log shrank/);
  assert.ok(shrunk.alert?.includes('the log shrank'), shrunk.alert);
  // The restored log is signed by the same key: only the kept checkpoint tells.
  assert.ok(shrunk.checks.signature.ok);

  // Another history of the held-back chain (its first event cancelled, every
  // event re-hashed and re-linked) brings the restored log back to the size
  // the reviewer holds.
  const other = join(work, 'other');
  mkdirSync(other);
  let prev = late.events[0].prev;
  const lines = late.events.map((e, i) => {
    const { hash: _, ...rest } = { ...e, prev, outcome: i === 0 ? 'cancelled' : e.outcome };
    const hash = createHash('sha256').update(canonicalize(rest)).digest('hex');
    prev = hash;
    return canonicalize({ ...rest, hash });
  });
  writeFileSync(join(other, late.file), `${lines.join('\n')}\n`);
  seed(other);
  const split = await review();
  assert.equal(split.checks.consistency.ok, false, split.checks.consistency.text);
  assert.match(split.checks.consistency.text, /split view/);
  assert.ok(split.alert?.includes('split view'), split.alert);
  assert.deepEqual(split.failed, []);
});
