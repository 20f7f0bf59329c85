// What a newcomer sees after scripts/demo.sh: the sample evening (`sealtrail
// sample`), uploaded to the collector by scripts/demo-seed.mjs as the
// demo does, opens on the review page with a finding of every alert rule,
// demographic targeting marked for a safeguarding review.
//
// Needs the built package (scripts/build-web.sh), the collector and the CLI:
//   cargo build --release -p sealtrail-collector && cargo build --release --bin sealtrail \
//     && node --test tests/e2e/sample.test.mjs
// SEALTRAIL_COLLECTOR_BIN and SEALTRAIL_CLI_BIN override the binaries' paths
// (by default the CLI beside the collector).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { root, collectorAndBrowser, REVIEW_TOKEN } from './harness.mjs';

const RULES = [
  'outside-caseload',
  'repeated-unassigned',
  'bulk-access',
  'off-hours',
  'break-glass-unauthorised',
  'export',
  'role-escalation',
  'concurrent-access',
  'off-hours-spike',
  'demographic-targeting',
  'key-field-edits',
  'note-deleted',
  'backdated-entry',
  'related-record',
];

const env = collectorAndBrowser();

function cli() {
  if (process.env.SEALTRAIL_CLI_BIN) return process.env.SEALTRAIL_CLI_BIN;
  if (process.env.SEALTRAIL_COLLECTOR_BIN) return join(dirname(process.env.SEALTRAIL_COLLECTOR_BIN), 'sealtrail');
  return join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'release', 'sealtrail');
}

test('the sample evening, uploaded as the demo does, shows every rule on the review page', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealtrail-sample-'));
  try {
    execFileSync(cli(), ['sample', dir, '--policy', join(root, 'pkg-config', 'policy.default.json')], { stdio: 'pipe' });
    execFileSync('node', [join(root, 'scripts', 'demo-seed.mjs'), env.collector.url, dir], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto('/review.html');
    await page.fill('#token', REVIEW_TOKEN);
    await page.click('#signin button[type="submit"]');
    await page.waitFor((n) => new Set([...document.querySelectorAll('#alerts li[data-rule]')].map((li) => li.dataset.rule)).size >= n, RULES.length);
    const shown = await page.evaluate(() => [...document.querySelectorAll('#alerts li[data-rule]')].map((li) => ({
      rule: li.dataset.rule,
      severity: li.closest('[data-severity]').dataset.severity,
      text: li.textContent,
    })));
    for (const rule of RULES) assert.ok(shown.some((f) => f.rule === rule), `${rule} is not on the review page`);
    const targeting = shown.filter((f) => f.rule === 'demographic-targeting');
    assert.equal(targeting.length, 1);
    assert.equal(targeting[0].severity, 'critical');
    assert.ok(targeting[0].text.includes('requires safeguarding review'), targeting[0].text);
    assert.ok(shown.filter((f) => f.text.includes('requires safeguarding review')).every((f) => f.rule === 'demographic-targeting'));
    const spike = shown.find((f) => f.rule === 'off-hours-spike');
    assert.equal(spike.severity, 'high');
    assert.ok(spike.text.includes('staff-0412'), spike.text);
  } finally {
    await page.close();
  }
});
