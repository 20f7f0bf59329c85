// End-to-end tests through the clinic demo, in headless Chromium, against
// the real collector. Run by scripts/test-web.sh (node --test tests/e2e/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, launch, launchPersistent, openPage, loadDemo, status, review, axeSource } from './harness.mjs';

let collector;
let browser;

before(async () => {
  collector = await startCollector();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await collector?.stop();
});

const REASON = 'Strategy meeting today needs the full clinical picture of this child';

async function openRecord(page, id) {
  const before = await page.evaluate(() => window.demo.state.eventCount);
  await page.click(`#records button[data-record="${id}"]`);
  await page.waitForFunction((n) => window.demo.state.eventCount > n && window.demo.state.sealed, before);
}

async function noInjection(page) {
  return page.evaluate(() => ({
    hits: window.__hits,
    xss: window.__xss ?? 0,
    csp: window.__csp,
    injected: document.querySelectorAll('img, svg, iframe, object, embed, a[href^="javascript"], [onerror], [onload], [onclick]').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
  }));
}

test('seals per role: the nurse sees a placeholder where the outreach specialist sees the DV note', async () => {
  const { context, page, errors } = await openPage(browser);
  assert.equal(await loadDemo(page, collector.url, 'u-nurse-17'), 'true');
  await openRecord(page, 'p-1001');
  const text = await page.textContent('#record');
  assert.doesNotMatch(text, /controlling behaviour/, 'DV note sealed for a nurse');
  assert.match(text, /Sealed: Domestic violence indicator \[V, SDV\]/);
  assert.match(text, /Attending weekly recovery group/, 'substance use on her caseload is shown');
  const sealed = await page.evaluate(() => window.demo.state.sealed);
  assert.equal(sealed.event.action, 'view-sealed');
  const placeholder = JSON.stringify(sealed.view);
  assert.match(placeholder, /"commitment":"sha256:[0-9a-f]{64}"/);
  assert.doesNotMatch(placeholder, /controlling|"salt"/);

  await page.selectOption('#staff', 'u-outreach-04');
  await page.waitForFunction(() => window.demo.state.who.userId === 'u-outreach-04' && /controlling behaviour/.test(document.querySelector('#record').textContent));
  assert.match(await page.textContent('#events'), /view-sealed success p-1001 · outreachSpecialist/);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation under the strict policy');
  assert.deepEqual(errors, []);
  await context.close();
});

test('break-glass by an unauthorised role is refused, explained and logged', async () => {
  const { context, page } = await openPage(browser);
  await loadDemo(page, collector.url, 'u-nurse-17');
  await openRecord(page, 'p-1001');
  await page.click('#breakglass');
  const dialog = page.locator('dialog.sealtrail-dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /not available to your role/);
  assert.match(await dialog.textContent(), /Your role nurse may not break the glass on record p-1001/);
  assert.equal(await dialog.locator('form').count(), 0, 'no form for a role that may not ask');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await page.waitForFunction(() => /refused/.test(document.querySelector('#message').textContent));
  assert.match(await page.textContent('#events'), /break-glass denied p-1001 · nurse/);
  await page.waitForFunction(() => document.querySelector('#alerts [data-rule="break-glass-unauthorised"]'));
  await context.close();
});

test('granted break-glass with a reason; each reveal is logged before it is shown', async () => {
  const { context, page } = await openPage(browser);
  await loadDemo(page, collector.url, 'sg-001');
  await openRecord(page, 'p-1002');
  assert.doesNotMatch(await page.textContent('#record'), /Asthma/);
  await page.click('#breakglass');
  const dialog = page.locator('dialog.sealtrail-dialog');
  await dialog.getByLabel('Reason', { exact: true }).selectOption('abuseAllegation');
  // The 10-500 rule, with the error announced on the field.
  await dialog.getByLabel('Why do you need this access now?').fill('   too short   ');
  assert.match(await dialog.locator('.sealtrail-count').first().textContent(), /^9 of 500/);
  await dialog.getByRole('button', { name: 'Request access' }).click();
  const text = dialog.getByLabel('Why do you need this access now?');
  assert.equal(await text.getAttribute('aria-invalid'), 'true');
  assert.match(await dialog.locator('[role="alert"]').textContent(), /at least 10 characters/);
  await text.fill(REASON);
  await dialog.getByLabel('Incident or investigation reference (optional)').fill('INC-2026-0042');
  await dialog.getByRole('button', { name: 'Request access' }).click();
  await page.waitForFunction(() => /access granted/.test(document.querySelector('#message').textContent));
  const grant = await page.evaluate(() => window.demo.state.grants.get('p-1002'));
  assert.equal(grant.recordId, 'p-1002');
  assert.ok(Date.parse(grant.expiresAt) - Date.parse(grant.issuedAt) === 15 * 60_000);

  const headBefore = (await status(page)).head.seq;
  await page.click('.sealed[data-pointer="/diagnoses"] button');
  await page.waitForSelector('.revealed[data-pointer="/diagnoses"]');
  assert.match(await page.textContent('.revealed[data-pointer="/diagnoses"]'), /Asthma/);
  const after = await status(page);
  assert.equal(after.head.seq, headBefore + 1, 'the unseal event was stored first');
  const events = await page.textContent('#events');
  assert.match(events, /unseal success p-1002 · safeguardingLead/);
  assert.match(events, /reason \(abuseAllegation\): Strategy meeting today/);
  await context.close();
});

test('keyboard only: open, fill, confirm; Escape cancels; focus returns to the opener', async () => {
  const { context, page } = await openPage(browser);
  await loadDemo(page, collector.url, 'sg-001');
  await openRecord(page, 'p-1003');
  await page.focus('#breakglass');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog.sealtrail-dialog[open]');
  assert.match(await page.evaluate(() => document.activeElement.id), /-code$/, 'focus moves to the reason code');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('dialog.sealtrail-dialog'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'breakglass', 'focus returns to the opener');
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('#message').textContent));
  assert.match(await page.textContent('#events'), /break-glass cancelled p-1003/);

  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog.sealtrail-dialog[open]');
  await page.keyboard.press('ArrowDown'); // first reason code
  await page.keyboard.press('Tab');
  await page.keyboard.type(REASON);
  await page.keyboard.press('Tab'); // context
  await page.keyboard.type('Court date brought forward.');
  await page.keyboard.press('Tab'); // incident reference
  await page.keyboard.press('Tab'); // cancel
  await page.keyboard.press('Tab'); // confirm
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Request access');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /access granted/.test(document.querySelector('#message').textContent));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'breakglass');
  await context.close();
});

test('axe-core finds no violations in the dialog (form, errors, refusal)', async () => {
  const { context, page } = await openPage(browser);
  await loadDemo(page, collector.url, 'sg-001');
  await page.evaluate(axeSource());
  await openRecord(page, 'p-1001');
  const run = () => page.evaluate(async () => {
    const r = await window.axe.run(document.querySelector('dialog.sealtrail-dialog'));
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  await page.click('#breakglass');
  await page.waitForSelector('dialog.sealtrail-dialog[open]');
  assert.deepEqual(await run(), []);
  await page.getByRole('button', { name: 'Request access' }).click();
  assert.deepEqual(await run(), [], 'with errors shown');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('dialog.sealtrail-dialog'));
  await page.selectOption('#staff', 'u-nurse-17');
  await page.waitForFunction(() => window.demo.state.who.userId === 'u-nurse-17' && window.demo.state.sealed);
  await page.click('#breakglass');
  await page.waitForSelector('dialog.sealtrail-dialog[open]');
  assert.deepEqual(await run(), [], 'the refusal');
  await context.close();
});

test('reload in the middle of an upload loses nothing', async () => {
  const { context, page } = await openPage(browser);
  // Hold every event upload: the page reloads while they are in flight.
  const held = [];
  await context.route('**/api/chains/*/events', (route) => { held.push(route); });
  await loadDemo(page, collector.url, 'u-nurse-17', '&batchDelayMs=0');
  for (const id of ['p-1001', 'p-1002', 'p-1005']) await openRecord(page, id);
  await page.waitForFunction(() => true);
  const first = await status(page);
  assert.ok(first.pending >= 3, JSON.stringify(first));
  await page.waitForTimeout(300);
  assert.ok(held.length >= 1, 'an upload was in flight');
  const chain = first.chain;
  const head = first.head;
  await context.unroute('**/api/chains/*/events');
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  for (const r of held) r.abort().catch(() => {});
  assert.notEqual(await page.evaluate(() => window.demo.sealtrail.chain), chain, 'a new chain per page load');
  await page.waitForFunction(async () => {
    const s = await window.demo.sealtrail.flush();
    return s.pending === 0;
  }, null, { timeout: 20_000, polling: 200 });
  const verified = await review(collector.url, `/api/chains/${chain}/verify`);
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  assert.equal(verified.body.valid, true, JSON.stringify(verified.body));
  assert.equal(verified.body.events, head.seq + 1, JSON.stringify(verified.body));
  assert.equal(verified.body.head, head.hash);
  await context.close();
});

test('XSS payloads in record text, names and reasons never execute, even without CSP', async () => {
  // CSP bypassed on purpose: the rendering itself must be safe.
  const { context, page, errors } = await openPage(browser, { bypassCSP: true });
  await loadDemo(page, collector.url, 'sg-001');
  for (const id of ['p-1001', 'p-1002', 'p-1005']) await openRecord(page, id);
  await page.click('#breakglass');
  const dialog = page.locator('dialog.sealtrail-dialog');
  await dialog.getByLabel('Reason', { exact: true }).selectOption('incidentFollowUp');
  await dialog.getByLabel('Why do you need this access now?').fill('<img src=x onerror="window.__xss=1"> follow-up <script>window.__xss=2</script>');
  await dialog.getByLabel('Further context (optional)').fill('<svg onload="window.__xss=3"></svg>');
  await dialog.getByRole('button', { name: 'Request access' }).click();
  await page.waitForFunction(() => /access granted/.test(document.querySelector('#message').textContent));
  await page.click('.sealed[data-pointer="/notes/1/text"] button');
  await page.waitForSelector('.revealed[data-pointer="/notes/1/text"]');
  assert.match(await page.textContent('.revealed[data-pointer="/notes/1/text"]'), /<iframe src="javascript:/, 'revealed as text');
  for (const who of ['u-doctor-02', 'u-nurse-17']) {
    await page.selectOption('#staff', who);
    await page.waitForFunction((w) => window.demo.state.who.userId === w && window.demo.state.sealed, who);
  }
  await openRecord(page, 'p-1002');
  assert.match(await page.textContent('#staff'), /Dr\. Lee <script>/, 'the name is shown as text');
  assert.match(await page.textContent('#record-title'), /<img src=x onerror=/, 'the record name is shown as text');
  assert.match(await page.textContent('#events'), /<img src=x onerror="window.__xss=1"> follow-up/);
  await page.waitForTimeout(200);
  const seen = await noInjection(page);
  assert.equal(seen.hits, 0);
  assert.equal(seen.xss, 0);
  assert.equal(seen.injected, 0);
  assert.deepEqual(seen.scripts, ['app.js']);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without IndexedDB the module fails closed and shows no record', async () => {
  const { context, page } = await openPage(browser, {
    init: () => Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true }),
  });
  assert.equal(await loadDemo(page, collector.url, 'u-nurse-17'), 'error');
  assert.match(await page.textContent('#boot'), /indexedDB is not available here/);
  assert.equal(await page.locator('#records button').count(), 0);
  await context.close();
});

test('host actions: search is logged with its filters; export asks for a step-up, then passes', async () => {
  const { context, page } = await openPage(browser);
  await loadDemo(page, collector.url, 'u-doctor-02');
  await page.fill('#q', 'p-100');
  await page.click('#search button[type="submit"]');
  await page.waitForFunction(() => /search logged/.test(document.querySelector('#message').textContent));
  await openRecord(page, 'p-1001');
  await page.click('#export');
  await page.waitForFunction(() => /needs a fresh mfa sign-in/.test(document.querySelector('#message').textContent));
  assert.match(await page.textContent('#events'), /step-up-required denied p-1001/);
  await page.click('#stepup');
  await page.click('#export');
  await page.waitForFunction(() => /export allowed/.test(document.querySelector('#message').textContent));
  await page.waitForFunction(() => document.querySelector('#alerts [data-rule="export"]'));
  await context.close();
});

test('pagehide anchors the head with navigator.sendBeacon', async () => {
  const { context, page } = await openPage(browser);
  // No event upload and no fetch anchor gets through: only the beacon can.
  await context.route('**/api/chains/*/events', (route) => route.abort());
  const headTypes = [];
  await context.route('**/api/chains/*/head', (route) => {
    const type = route.request().resourceType();
    headTypes.push(type);
    return type === 'fetch' ? route.abort() : route.continue();
  });
  await loadDemo(page, collector.url, 'u-nurse-17');
  for (const id of ['p-1001', 'p-1003']) await openRecord(page, id);
  const { chain, head } = await status(page);
  await page.goto('about:blank');
  let anchored;
  for (let i = 0; i < 50 && !anchored; i++) {
    const chains = await review(collector.url, '/api/chains');
    const list = chains.body.chains ?? [];
    anchored = list.find((c) => c.chain === chain && c.anchor?.seq === head.seq && c.anchor?.hash === head.hash);
    if (!anchored) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(anchored, `the collector holds the anchor of ${chain} at seq ${head.seq}`);
  // Every head anchor sent by fetch was aborted above (the browser does not
  // show beacons to request interception), so this anchor came by beacon.
  assert.ok(headTypes.every((t) => t === 'fetch'), `only fetch anchors intercepted: ${headTypes}`);
  await context.close();
});

test('storage full: a view fails closed with a clear error and shows nothing', async () => {
  const profile = await launchPersistent();
  try {
    const page = await profile.context.newPage();
    await loadDemo(page, collector.url, 'sg-001');
    // Chromium's own quota machinery, shrunk to one byte for this origin
    // (before the first write: Chromium caches the quota once it has written).
    const cdp = await profile.context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(collector.url).origin, quotaSize: 1 });
    await page.click('#records button[data-record="p-1002"]');
    await page.waitForFunction(() => /Could not open the record/.test(document.querySelector('#message').textContent));
    assert.match(await page.textContent('#message'), /browser storage is full, so audit events cannot be stored and nothing is revealed/);
    assert.equal(await page.locator('#record > *').count(), 0, 'nothing shown without its event');
    assert.doesNotMatch(await page.textContent('body'), /Asthma|Strategy meeting held/);
    const s = await status(page);
    assert.equal(s.head, null, 'nothing was appended');
    assert.equal(s.pending, 0);
  } finally {
    await profile.close();
  }
});
