// End to end, in the engine SEALTRAIL_ENGINE names: a nurse opens a record
// in the clinic page, the module uploads the chain, and the patient access
// report page (www/access-report.html) lists the access for that record,
// staff named as the shipped default policy says (roles only), nothing a
// patient may not read (names, addresses, sessions), axe-core clean, and
// its print stylesheet leaves only the report (Chromium: print media
// emulated, and the page printed to a PDF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, collectorAndBrowser, loadDemo, seriousViolations } from './harness.mjs';

const TOKEN = 'e2e-compliance-token-0000000000000000';
const env = collectorAndBrowser({ tokens: [`${TOKEN}=compliance:co-001:Cam Compliance`] });

/** The nurse opens p-1001 and p-1002 in the clinic page; the chain is uploaded. */
async function nurseEvening() {
  const clinic = await env.browser.openPage(env.collector.url);
  try {
    await loadDemo(clinic, 'u-nurse-17', '&batchDelayMs=0');
    for (const id of ['p-1001', 'p-1002']) {
      const before = await clinic.evaluate(() => window.demo.state.eventCount);
      await clinic.click(`#records button[data-record="${id}"]`);
      await clinic.waitFor(([n, want]) => window.demo.state.eventCount > n && window.demo.state.selected === want, [before, id]);
    }
    await clinic.uploaded();
  } finally {
    await clinic.close();
  }
}

test('the access report lists who opened a record, by role, printable and accessible', async () => {
  await nurseEvening();
  const page = await env.browser.openPage(env.collector.url);
  try {
    await page.goto('/access-report.html');
    await page.fill('#token', TOKEN);
    await page.click('#signin button[type="submit"]');
    // The form shows once the collector knows the token.
    await page.waitFor(() => !document.querySelector('#report-form').hidden);
    await page.fill({ label: 'Record id' }, 'p-1001');
    await page.click({ button: 'Produce report' });
    await page.element('#accesses tbody tr[data-action]');

    assert.equal(await page.text('#report-title'), 'Who accessed record p-1001');
    const rows = await page.text('#accesses tbody');
    assert.match(rows, /nurse/);
    assert.doesNotMatch(rows, /Nia Patel|u-nurse-17|127\.0\.0\.1/, 'roles only, no address');
    assert.doesNotMatch(rows, /p-1002/);
    const total = Number(await page.text('#report-totals [data-total="accesses"] strong'));
    assert.equal(total, await page.count('#accesses tbody tr[data-action]'));
    assert.ok(total >= 1);
    assert.equal(await page.text('#report-totals [data-total="staff"] strong'), '1');
    assert.match(await page.text('#report-facts'), /by role only/);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation');
    assert.deepEqual(await page.errors(), []);

    assert.deepEqual(await seriousViolations(page), []);

    // With a pseudonym key, the page asks for the record's pseudonym (the
    // vector of the core's tests and `sealtrail pseudonym`), keeps no key,
    // and finds none of the demo's accesses (they name the record by id).
    await page.fill({ label: 'Record id' }, 'p-1001');
    await page.fill('#record-key', '00'.repeat(32));
    await page.click({ button: 'Produce report' });
    await page.waitFor(() => /Pseudonym/.test(document.querySelector('#report-facts').textContent));
    assert.match(await page.text('#report-facts'), /rp-432a122c773b7e6048f11280874ad78d/);
    assert.equal(await page.text('#report-totals [data-total="accesses"] strong'), '0');
    assert.equal(await page.evaluate(() => document.querySelector('#record-key').value), '');
    assert.equal(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }).includes('0'.repeat(64))), false);
    assert.ok(page.gate.requests.some((r) => r.path === '/api/records/rp-432a122c773b7e6048f11280874ad78d/report'));

    if (ENGINE === 'chromium') {
      // Printed: the report alone (no sign-in, form or buttons), every row.
      await page.driver.sendDevToolsCommand('Emulation.setEmulatedMedia', { media: 'print' });
      const shown = (sel) => page.evaluate((s) => document.querySelector(s).getClientRects().length > 0, sel);
      assert.equal(await shown('#report-form'), false);
      assert.equal(await shown('.report-actions'), false);
      assert.equal(await shown('header.bar'), false);
      assert.equal(await shown('#accesses'), true);
      await page.driver.sendDevToolsCommand('Emulation.setEmulatedMedia', { media: '' });
      const pdf = Buffer.from(await page.driver.printPage({ orientation: 'portrait' }), 'base64');
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.ok((pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length >= 1);
    }
  } finally {
    await page.close();
  }
});
