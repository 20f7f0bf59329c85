// The quarterly review report as a reviewer reads and prints it: the sample
// evening uploaded and triaged as the demo does (scripts/demo-seed.mjs);
// in every engine the page shows the totals GET /api/report gives, without
// a CSP violation or a script error, axe-core clean; in Chromium the page
// printed to PDF by the browser's own command line (--print-to-pdf, the
// print stylesheet applied) holds the five questions and the same totals
// (pdftotext, poppler-utils), without the page's controls or the token.
//
// Needs the built package, the collector and the CLI (as tests/e2e/sample.test.mjs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { root, ENGINE, collectorAndBrowser, seriousViolations, REVIEW_TOKEN } from './harness.mjs';

const env = collectorAndBrowser();
const dir = mkdtempSync(join(tmpdir(), 'sealtrail-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli() {
  if (process.env.SEALTRAIL_CLI_BIN) return process.env.SEALTRAIL_CLI_BIN;
  if (process.env.SEALTRAIL_COLLECTOR_BIN) return join(dirname(process.env.SEALTRAIL_COLLECTOR_BIN), 'sealtrail');
  return join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'release', 'sealtrail');
}

const ymd = (d) => d.toISOString().slice(0, 10);

// Yesterday to today (UTC): everything the collector receives in this run.
const today = new Date();
const from = ymd(new Date(today.getTime() - 86_400_000));
const to = ymd(today);
let seeded;

/** Seeds the collector once (the first test to ask) and answers GET /api/report of the period. */
function seed() {
  seeded ??= seedOnce();
  return seeded;
}

async function seedOnce() {
  execFileSync(cli(), ['sample', join(dir, 'sample'), '--policy', join(root, 'pkg-config', 'policy.default.json')], { stdio: 'pipe' });
  execFileSync('node', [join(root, 'scripts', 'demo-seed.mjs'), env.collector.url, join(dir, 'sample'), REVIEW_TOKEN], { stdio: 'pipe' });
  const end = new Date(`${to}T00:00:00.000Z`);
  end.setUTCDate(end.getUTCDate() + 1);
  const resp = await fetch(`${env.collector.url}/api/report?from=${from}T00:00:00.000Z&to=${end.toISOString()}`, { headers: { Authorization: `Bearer ${REVIEW_TOKEN}` } });
  assert.equal(resp.status, 200);
  const report = await resp.json();
  assert.ok(report.totals.breakGlass > 0 && report.totals.resolved > 0, JSON.stringify(report.totals));
  return report;
}

test('the report page shows the totals of the period, accessible and under the CSP', async () => {
  const report = await seed();
  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto(`/report.html?from=${from}&to=${to}`);
    await page.fill('#token', REVIEW_TOKEN);
    await page.click('#signin button[type="submit"]');
    await page.element('#totals [data-total="breakGlass"] td');
    for (const [key, n] of Object.entries(report.totals)) {
      assert.equal(await page.text(`#totals [data-total="${key}"] td`), String(n), key);
    }
    assert.equal(await page.count('section.question'), 5);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation');
    assert.deepEqual(await page.errors(), []);
    assert.deepEqual(await seriousViolations(page), []);
  } finally {
    await page.close();
  }
});

test('the printed quarterly report holds the five questions and the right totals', { skip: ENGINE !== 'chromium' && 'print to PDF from the command line is Chromium\'s' }, async () => {
  const report = await seed();
  const pdf = join(dir, 'report.pdf');
  execFileSync('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    `--user-data-dir=${join(dir, 'profile')}`,
    '--virtual-time-budget=20000', '--no-pdf-header-footer', `--print-to-pdf=${pdf}`,
    `${env.collector.url}/report.html?from=${from}&to=${to}#token=${REVIEW_TOKEN}`,
  ], { stdio: 'pipe', timeout: 120_000 });
  const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });

  assert.ok(text.includes(`Quarterly review: ${from} to ${to}`), text);
  for (const q of [
    '1. Which staff have used break-glass access?',
    '2. What were the documented reasons?',
    '3. Do patterns show disproportionate access',
    '4. Were investigation and incident outcomes documented?',
    '5. Did any access appear inappropriate',
  ]) assert.ok(text.includes(q), `${q} not printed`);
  const totals = {
    'Break-glass attempts': report.totals.breakGlass,
    'Break-glass granted': report.totals.granted,
    'Staff who used break-glass': report.totals.staff,
    'Cases opened': report.totals.cases,
    'Cases resolved with a documented outcome': report.totals.resolved,
    'Cases still open': report.totals.open,
    'Accesses found inappropriate': report.totals.inappropriate,
  };
  for (const [label, n] of Object.entries(totals)) {
    const m = new RegExp(`${label}\\s+(\\d+)`).exec(text);
    assert.ok(m, `${label} not printed`);
    assert.equal(Number(m[1]), n, label);
  }
  for (const s of report.staff) assert.ok(text.includes(s.id), `${s.id} not printed`);
  // The print stylesheet leaves the controls out; the token is nowhere.
  for (const control of ['Download CSV', 'Reviewer token', 'Sign out']) assert.ok(!text.includes(control), `${control} printed`);
  assert.ok(!text.includes(REVIEW_TOKEN));
});
