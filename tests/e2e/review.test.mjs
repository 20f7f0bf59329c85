// End to end, in the engine SEALTRAIL_ENGINE names (chromium, firefox,
// webkit): a clinician page seals a record and breaks the glass through the
// browser module, the module uploads the chain to a real collector, and the
// review page shows the verified chain, the break-glass entry with its
// reason, and the alert an unauthorised attempt raised.
//
// Needs the built package (scripts/build-web.sh) and the collector binary:
//   cargo build --release -p sealtrail-collector && node --test tests/e2e/review.test.mjs
// SEALTRAIL_COLLECTOR_BIN overrides the binary's path.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, collectorAndBrowser, loadAxe } from './harness.mjs';

const TOKEN = 'e2e-safeguarding-token-000000000000';
const ADMIN_TOKEN = 'e2e-admin-token-0000000000000000000';
const REASON = 'Disclosure of abuse reported this morning; checking the safety plan now';

before(() => {
  assert.ok(existsSync(join(root, 'pkg', 'sealtrail.js')), 'pkg/ is missing: run scripts/build-web.sh first');
});

const env = collectorAndBrowser({ tokens: [`${TOKEN}=safeguardingLead:sg-001:Sam Okafor`, `${ADMIN_TOKEN}=admin:ad-001:Ada Admin`] });

/** What went wrong on a page: console errors, uncaught errors, and answers
 * of 400 or more (a missing favicon is not a problem). */
async function problems(page) {
  const inPage = await page.evaluate(() => [...(window.__console ?? []), ...(window.__errors ?? [])]);
  const failed = page.gate.requests.filter((r) => r.status >= 400 && r.path !== '/favicon.ico').map((r) => `${r.status} ${r.path}`);
  return [...inPage, ...failed];
}

/** In the page: whether the element `sel` names is rendered (has a box). */
const shown = (sel) => document.querySelector(sel)?.getClientRects().length > 0;

test('a break-glass in the clinic page shows up verified on the review page', async () => {
  const clinic = await env.browser.openPage(env.collector.url);
  let chain;
  try {
    // The safeguarding lead opens a record that is not on their caseload: sealed.
    await clinic.goto('/index.html?as=sg-001&batchDelayMs=0');
    await clinic.waitFor(() => document.body?.dataset.ready === 'true', null, { timeout: 30_000 });
    await clinic.click('#records button[data-record="p-1001"]');
    await clinic.element('#record .sealed');

    // Break the glass with a documented reason.
    await clinic.click('#breakglass');
    await clinic.element('dialog.sealtrail-dialog[open]');
    const firstCode = await clinic.attr('dialog.sealtrail-dialog[open] select option:not([value=""])', 'value');
    await clinic.select('dialog.sealtrail-dialog[open] select', firstCode);
    await clinic.fill('dialog.sealtrail-dialog[open] textarea', REASON);
    await clinic.fill('dialog.sealtrail-dialog[open] input[id$="-incident"]', 'INC-2026-0042');
    await clinic.click('dialog.sealtrail-dialog[open] button[type="submit"]');
    await clinic.element('#record .sealed button');
    await clinic.click('#record .sealed button');
    await clinic.element('#record .revealed');

    // An outreach specialist tries too: not an authorised role, refused and logged.
    // (Each step waits for the page's state, not for markup an earlier
    // render may have left: switching staff re-renders asynchronously.)
    await clinic.select('#staff', 'u-outreach-04');
    await clinic.waitFor(() => window.demo.state.who.userId === 'u-outreach-04' && window.demo.state.sealed);
    const events = await clinic.evaluate(() => window.demo.state.eventCount);
    await clinic.click('#records button[data-record="p-1002"]');
    await clinic.waitFor((n) => window.demo.state.eventCount > n && window.demo.state.selected === 'p-1002' && window.demo.state.sealed, events);
    if (await clinic.evaluate(() => !document.querySelector('#breakglass').disabled)) {
      await clinic.click('#breakglass');
      await clinic.element('dialog.sealtrail-dialog[open]');
      await (await clinic.evaluate(() => [...document.querySelectorAll('dialog.sealtrail-dialog[open] button')].at(-1))).click();
    }
    await clinic.click('#flush');
    await clinic.waitFor(() => document.querySelector('#status [data-key="pending"]')?.textContent === '0', null, { timeout: 20_000 });
    chain = await clinic.evaluate(() => window.demo.sealtrail.chain);
    assert.deepEqual(await problems(clinic), []);
  } finally {
    await clinic.close();
  }

  // The review page, signed in as the safeguarding lead.
  const review = await env.browser.openPage(env.collector.url);
  try {
    await review.goto('/review.html');
    await review.fill('#token', TOKEN);
    await review.click('#signin button[type="submit"]');
    await review.element(`#chains tr[data-chain="${chain}"]`);
    assert.equal(await review.text(`#chains tr[data-chain="${chain}"] .badge`), 'verified');
    assert.equal(await review.text('#chain-summary [data-status="tampered"] strong'), '0');

    // The collector's signed checkpoint, and the chain offered for a log proof of its head.
    await review.element('#log-signatures tbody tr[data-signer]');
    assert.match(await review.text('#log-checkpoint'), /Size\s*[1-9]\d* events/);
    assert.equal(await review.text('#log-signatures tbody tr[data-signer] td:nth-child(2)'), 'log signature');
    assert.ok(await review.evaluate((c) => [...document.querySelectorAll('#lp-chain option')].some((o) => o.value === c), chain));

    // The break-glass entry with its reason and incident reference.
    await review.element('#breakglass tbody tr td.reason');
    const log = await review.text('#breakglass tbody');
    assert.ok(log.includes(REASON), log);
    assert.ok(log.includes('INC-2026-0042'), log);
    assert.ok(log.includes('Sam Okafor'), log);
    // The address the collector saw the batch come from (the page cannot know its own).
    assert.ok(log.includes('127.0.0.1'), log);

    // The alerts: the unauthorised attempt is a high finding.
    await review.element('#alerts [data-severity="high"]');
    const high = await review.text('#alerts [data-severity="high"]');
    assert.ok(high.includes('break-glass-unauthorised'), high);

    // Re-verification on demand, through the core.
    const reverify = await review.evaluate((c) => [...document.querySelectorAll(`#chains tr[data-chain="${c}"] button`)].find((b) => b.textContent.includes('Re-verify')), chain);
    await reverify.click();
    await review.waitFor((c) => document.querySelector(`#chains tr[data-chain="${c}"] .outcome-success`)?.textContent.includes('valid'), chain);

    // A per-record timeline in SVG, with one dot per access.
    await review.fill('#tl-id', 'p-1001');
    await review.select('#tl-kind', 'records');
    await review.click('#tl-form button[type="submit"]');
    await review.element('#timeline svg circle');
    assert.ok((await review.count('#timeline svg circle')) >= 3);
    assert.ok((await review.count('#heatmap svg rect')) >= 7 * 24);
    const groups = await review.text('#demographics tbody');
    assert.ok(groups.includes('ageBand'), groups);

    // The token lives in this tab's sessionStorage: a reload stays signed in.
    await review.reload();
    await review.element('#whoami:not([hidden])');
    assert.deepEqual(await problems(review), []);
  } finally {
    await review.close();
  }

  // And the reads were recorded, the reviewer named, in the collector's own chain.
  const readLog = await (await fetch(`${env.collector.url}/api/read-log`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
  assert.ok(readLog.entries.some((e) => e.actor.id === 'sg-001' && e.detail.endpoint === '/api/break-glass/audit-log'));
});

test('the review page refuses an unknown token and hides what a role may not read', async () => {
  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto('/review.html');
    await page.fill('#token', 'not-a-real-token');
    await page.click('#signin button[type="submit"]');
    await page.waitFor(() => document.getElementById('notice').classList.contains('error'));
    assert.equal(await page.evaluate(shown, '#panels'), false);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#signin button[type="submit"]');
    await page.element('#chains tbody tr');
    assert.equal(await page.evaluate(shown, '#breakglass-panel'), false, 'the break-glass log is for safeguarding staff only');
    assert.equal(await page.evaluate(shown, '#alerts-panel'), true);
    // The 401 of the wrong token is the only failure (engines word a failed
    // load in the console differently, so the gate's record is the judge).
    const failed = page.gate.requests.filter((r) => r.status >= 400 && r.path !== '/favicon.ico');
    assert.ok(failed.length > 0 && failed.every((r) => r.status === 401), JSON.stringify(failed));
    assert.deepEqual(await page.errors(), []);
  } finally {
    await page.close();
  }
});

test('the review page has no serious accessibility violations (axe-core)', async () => {
  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto('/review.html');
    await page.fill('#token', TOKEN);
    await page.click('#signin button[type="submit"]');
    await page.element('#chains tbody tr');
    await page.element('#heatmap svg');
    await loadAxe(page);
    const serious = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    });
    assert.deepEqual(serious, []);
  } finally {
    await page.close();
  }
});
