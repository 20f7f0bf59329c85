// End to end, in real headless Chromium: a clinician page seals a record and
// breaks the glass through the browser module, the module uploads the chain
// to a real collector, and the review page shows the verified chain, the
// break-glass entry with its reason, and the alert an unauthorised attempt raised.
//
// Needs the built package (scripts/build-web.sh) and the collector binary:
//   cargo build --release -p sealtrail-collector && node --test tests/e2e/review.test.mjs
// SEALTRAIL_COLLECTOR_BIN overrides the binary's path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const TOKEN = 'e2e-safeguarding-token';
const ADMIN_TOKEN = 'e2e-admin-token-000';
const REASON = 'Disclosure of abuse reported this morning; checking the safety plan now';

function collectorBin() {
  if (process.env.SEALTRAIL_COLLECTOR_BIN) return process.env.SEALTRAIL_COLLECTOR_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  for (const profile of ['release', 'debug']) {
    const p = join(target, profile, 'sealtrail-collector');
    if (existsSync(p)) return p;
  }
  throw new Error('no collector binary: run `cargo build --release -p sealtrail-collector` first');
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

let collector;
let browser;
let base;
let dir;
const collectorLog = [];

before(async () => {
  assert.ok(existsSync(join(root, 'pkg', 'sealtrail.js')), 'pkg/ is missing: run scripts/build-web.sh first');
  dir = mkdtempSync(join(tmpdir(), 'sealtrail-e2e-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  collector = spawn(collectorBin(), [
    '--listen', `127.0.0.1:${port}`,
    '--database', `sqlite://${join(dir, 'e2e.sqlite')}`,
    '--static-dir', join(root, 'www'),
    '--pkg-dir', join(root, 'pkg'),
    '--policy', join(root, 'pkg-config', 'policy.default.json'),
    '--token', `${TOKEN}=safeguardingLead:sg-001:Sam Okafor`,
    '--token', `${ADMIN_TOKEN}=admin:ad-001:Ada Admin`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  collector.stdout.on('data', (d) => collectorLog.push(String(d)));
  collector.stderr.on('data', (d) => collectorLog.push(String(d)));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/review.html`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error(`collector did not start:\n${collectorLog.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  collector?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A page that fails the test on any console error or uncaught exception. */
async function strictPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // Failed loads are judged by URL below (a missing favicon is not a problem).
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return { page, problems };
}

test('a break-glass in the clinic page shows up verified on the review page', async () => {
  const context = await browser.newContext();
  const { page: clinic, problems: clinicProblems } = await strictPage(context);

  // The safeguarding lead opens a record that is not on their caseload: sealed.
  await clinic.goto(`${base}/index.html?as=sg-001&batchDelayMs=0`);
  await clinic.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
  await clinic.click('#records button[data-record="p-1001"]');
  await clinic.waitForSelector('#record .sealed');

  // Break the glass with a documented reason.
  await clinic.click('#breakglass');
  const dialog = clinic.locator('dialog.sealtrail-dialog[open]');
  await dialog.waitFor();
  const code = dialog.locator('select');
  const firstCode = await code.locator('option:not([value=""])').first().getAttribute('value');
  await code.selectOption(firstCode);
  await dialog.locator('textarea').first().fill(REASON);
  await dialog.locator('input[id$="-incident"]').fill('INC-2026-0042');
  await dialog.locator('button[type="submit"]').click();
  await clinic.waitForSelector('#record .sealed button');
  await clinic.locator('#record .sealed button').first().click();
  await clinic.waitForSelector('#record .revealed');

  // An outreach specialist tries too: not an authorised role, refused and logged.
  await clinic.selectOption('#staff', 'u-outreach-04');
  await clinic.click('#records button[data-record="p-1002"]');
  await clinic.waitForSelector('#record .sealed');
  if (await clinic.locator('#breakglass').isEnabled()) {
    await clinic.click('#breakglass');
    const refusal = clinic.locator('dialog.sealtrail-dialog[open]');
    await refusal.waitFor();
    await refusal.locator('button').last().click();
  }
  await clinic.click('#flush');
  await clinic.waitForFunction(() => document.querySelector('#status [data-key="pending"]')?.textContent === '0', null, { timeout: 20_000 });
  const chain = await clinic.evaluate(() => window.demo.sealtrail.chain);
  assert.deepEqual(clinicProblems, []);

  // The review page, signed in as the safeguarding lead.
  const { page: review, problems: reviewProblems } = await strictPage(context);
  await review.goto(`${base}/review.html`);
  await review.fill('#token', TOKEN);
  await review.click('#signin button[type="submit"]');
  await review.waitForSelector(`#chains tr[data-chain="${chain}"]`);
  assert.equal(await review.locator(`#chains tr[data-chain="${chain}"] .badge`).textContent(), 'verified');
  assert.equal(await review.locator('#chain-summary [data-status="tampered"] strong').textContent(), '0');

  // The break-glass entry with its reason and incident reference.
  await review.waitForSelector('#breakglass tbody tr td.reason');
  const log = await review.locator('#breakglass tbody').textContent();
  assert.ok(log.includes(REASON), log);
  assert.ok(log.includes('INC-2026-0042'), log);
  assert.ok(log.includes('Sam Okafor'), log);

  // The alerts: the unauthorised attempt is a high finding.
  await review.waitForSelector('#alerts [data-severity="high"]');
  const high = await review.locator('#alerts [data-severity="high"]').textContent();
  assert.ok(high.includes('break-glass-unauthorised'), high);

  // Re-verification on demand, through the core.
  await review.locator(`#chains tr[data-chain="${chain}"] button`, { hasText: 'Re-verify' }).click();
  await review.waitForFunction((c) => document.querySelector(`#chains tr[data-chain="${c}"] .outcome-success`)?.textContent.includes('valid'), chain);

  // A per-record timeline in SVG, with one dot per access.
  await review.fill('#tl-id', 'p-1001');
  await review.selectOption('#tl-kind', 'records');
  await review.click('#tl-form button[type="submit"]');
  await review.waitForSelector('#timeline svg circle');
  assert.ok((await review.locator('#timeline svg circle').count()) >= 3);
  assert.ok((await review.locator('#heatmap svg rect').count()) >= 7 * 24);
  const groups = await review.locator('#demographics tbody').textContent();
  assert.ok(groups.includes('ageBand'), groups);

  // The token lives in this tab's sessionStorage: a reload stays signed in.
  await review.reload();
  await review.waitForSelector('#whoami:not([hidden])');
  assert.deepEqual(reviewProblems, []);

  // And the reads were recorded, the reviewer named, in the collector's own chain.
  const readLog = await (await fetch(`${base}/api/read-log`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
  assert.ok(readLog.entries.some((e) => e.actor.id === 'sg-001' && e.detail.endpoint === '/api/break-glass/audit-log'));
  await context.close();
});

test('the review page refuses an unknown token and hides what a role may not read', async () => {
  const context = await browser.newContext();
  const { page, problems } = await strictPage(context);
  await page.goto(`${base}/review.html`);
  await page.fill('#token', 'not-a-real-token');
  await page.click('#signin button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('notice').classList.contains('error'));
  assert.ok(await page.locator('#panels').isHidden());
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector('#chains tbody tr');
  assert.ok(await page.locator('#breakglass-panel').isHidden(), 'the break-glass log is for safeguarding staff only');
  assert.ok(await page.locator('#alerts-panel').isVisible());
  // The 401 of the wrong token is the only failure.
  assert.ok(problems.length > 0 && problems.every((p) => p.startsWith('401 ')), problems.join('\n'));
  await context.close();
});

test('the review page has no serious accessibility violations (axe-core)', async () => {
  // axe is injected as a script, which the page's CSP forbids: this context
  // alone bypasses the CSP, only to run the checker.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/review.html`);
  await page.fill('#token', TOKEN);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector('#chains tbody tr');
  await page.waitForSelector('#heatmap svg');
  await page.addScriptTag({ path: join(root, 'node_modules', 'axe-core', 'axe.min.js') });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), []);
  await context.close();
});
