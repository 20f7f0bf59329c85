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
import { root, collectorAndBrowser, seriousViolations } from './harness.mjs';

const TOKEN = 'e2e-safeguarding-token-000000000000';
const ADMIN_TOKEN = 'e2e-admin-token-0000000000000000000';
const REASON = 'Disclosure of abuse reported this morning; checking the safety plan now';

before(() => {
  assert.ok(existsSync(join(root, 'pkg', 'sealtrail.js')), 'pkg/ is missing: run scripts/build-web.sh first');
});

const LEAD2_TOKEN = 'e2e-second-lead-token-0123456789abcdef';
const env = collectorAndBrowser({ tokens: [`${TOKEN}=safeguardingLead:sg-001:Sam Okafor`, `${ADMIN_TOKEN}=admin:ad-001:Ada Admin`, `${LEAD2_TOKEN}=safeguardingLead:sg-002:Lee Second`] });

/** What went wrong on a page: console errors, uncaught errors, and answers
 * of 400 or more (a missing favicon is not a problem). */
async function problems(page) {
  const inPage = await page.evaluate(() => [...(window.__console ?? []), ...(window.__errors ?? [])]);
  const failed = page.gate.requests.filter((r) => r.status >= 400 && r.path !== '/favicon.ico').map((r) => `${r.status} ${r.path}`);
  return [...inPage, ...failed];
}

/** In the page: whether the element `sel` names is rendered (has a box). */
const shown = (sel) => document.querySelector(sel)?.getClientRects().length > 0;

/**
 * The clinic's evening, once per file: the safeguarding lead breaks the glass
 * on a sealed record with a documented reason, an outreach specialist tries
 * and is refused, and the module uploads the chain. Resolves with its id.
 */
let evening;
function clinicEvening() {
  evening ??= (async () => {
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
      // The lead's chain: switching staff starts the next user's own chain.
      chain = await clinic.evaluate(() => window.demo.sealtrail.chain);

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
      await clinic.uploaded();
      assert.notEqual(await clinic.evaluate(() => window.demo.sealtrail.chain), chain);
      assert.deepEqual(await problems(clinic), []);
    } finally {
      await clinic.close();
    }
    return chain;
  })();
  return evening;
}

test('a break-glass in the clinic page shows up verified on the review page', async () => {
  const chain = await clinicEvening();

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
    assert.deepEqual(await seriousViolations(page), []);
  } finally {
    await page.close();
  }
});

/** Presses Tab until the focused element matches `css` (at most `max` presses): how a keyboard user gets there. */
async function tabTo(page, css, max = 120) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((c) => document.activeElement?.matches(c), css)) return;
    await page.press('Tab');
  }
  throw new Error(`Tab never reached ${css}`);
}

/** A review API call as `token`. */
async function call(token, path, body) {
  const init = { headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) Object.assign(init, { method: 'POST', body: JSON.stringify(body) });
  const r = await fetch(`${env.collector.url}${path}`, init);
  return { status: r.status, body: await r.json() };
}

test('a case is triaged end to end from the keyboard, and a break-glass shows its review', async () => {
  const chain = await clinicEvening();
  // The lead's own break-glass is reviewed by the second lead (nobody reviews their own).
  const bgCases = (await call(LEAD2_TOKEN, '/api/cases?source=break-glass')).body.cases;
  const bg = bgCases.find((c) => c.chain === chain && c.actorId === 'sg-001');
  assert.ok(bg, JSON.stringify(bgCases));
  const resolved = await call(LEAD2_TOKEN, `/api/cases/${bg.id}/resolve`, { outcome: 'appropriate', note: 'Disclosure confirmed with the duty social worker.' });
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));

  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto('/review.html');
    await tabTo(page, '#token');
    await page.type(TOKEN);
    await page.press('Enter');
    await page.element('#cases tbody tr[data-case]');

    // The break-glass log shows each break-glass with its reason and the reviewer's outcome.
    await page.waitFor(() => document.querySelector('#breakglass td[data-review="resolved"]'));
    const review = await page.text('#breakglass td[data-review="resolved"]');
    assert.ok(review.includes('Care reason confirmed / appropriate'), review);

    // An open finding about someone else's access (the evening's alerts); open it from the keyboard.
    const open = (await call(TOKEN, '/api/cases?source=finding&state=new')).body.cases.filter((c) => c.actorId !== 'sg-001');
    assert.ok(open.length > 0, 'the evening raised an alert about another staff member');
    const id = open[0].id;
    await page.element(`#cases tr[data-case="${id}"]`);
    await tabTo(page, `#cases button[data-open="${id}"]`);
    await page.press('Enter');
    await page.waitFor((c) => document.getElementById('case-view').dataset.case === c && document.activeElement?.id === 'case-title', id);
    const evidence = await page.text('#case-evidence');
    assert.ok(evidence.length > 0, 'the case shows its evidence');

    // Acknowledge, investigate, comment, resolve: Tab and Enter only.
    const stateIs = (s) => page.waitFor((want) => document.getElementById('case-view').dataset.state === want && document.activeElement?.id === 'case-title', s);
    await tabTo(page, '#case-ack button[data-op="acknowledge"]');
    await page.press('Enter');
    await stateIs('acknowledged');
    await tabTo(page, '#case-investigate');
    await page.press('Enter');
    await stateIs('underInvestigation');
    await tabTo(page, '#case-comment-note');
    await page.type('Spoke with the outreach team lead.');
    await page.press('Tab');
    await page.press('Enter');
    await page.waitFor(() => document.querySelector('#case-steps li[data-op="comment"]')?.textContent.includes('Spoke with the outreach team lead.'));
    await tabTo(page, '#case-outcome');
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement.value)) !== 'coaching'; i++) await page.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.getElementById('case-outcome').value), 'coaching');
    await page.press('Tab');
    await page.type('Coached on when break-glass applies; the dialog refused as it should.');
    await page.press('Tab');
    await page.press('Enter');
    await stateIs('resolved');
    const facts = await page.text('#case-facts');
    assert.ok(facts.includes('Coaching'), facts);
    assert.equal(await page.evaluate(() => document.getElementById('case-resolve').hidden), true);
    // The queue shows open cases by default: this one has left it.
    await page.waitFor((c) => !document.querySelector(`#cases tr[data-case="${c}"]`), id);

    assert.deepEqual(await seriousViolations(page), []);
    assert.deepEqual(await problems(page), []);
  } finally {
    await page.close();
  }

  // Every step is in the collector's own chain, by the reviewer who took it.
  const log = (await call(ADMIN_TOKEN, '/api/read-log?limit=100000')).body.entries;
  const steps = log.filter((e) => e.detail.case && e.outcome === 'success').map((e) => `${e.actor.id} ${e.action}`);
  for (const want of ['sg-002 case-resolve', 'sg-001 case-acknowledge', 'sg-001 case-investigate', 'sg-001 case-comment', 'sg-001 case-resolve']) {
    assert.ok(steps.includes(want), `${want} in ${steps}`);
  }
});
