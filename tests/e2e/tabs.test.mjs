// Several tabs of one origin against the real collector: each appends to
// its own chain, one uploads at a time (a Web Lock), and when the uploading
// tab closes mid-batch another takes over. The gate in front of the
// collector makes it slow, then down, then holds the uploads, and notes when
// each upload started and ended, so overlapping posts of one chain show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectorAndBrowser, loadDemo, review, sleep } from './harness.mjs';

const env = collectorAndBrowser();

const TABS = 5;
const EVENTS = 1000;
const UPLOADS = /^\/api\/chains\/[^/]+\/events$/;

/** Init script: counts the page's event uploads in flight (`__posting`). */
function countUploads() {
  const fetch = window.fetch;
  window.__posting = 0;
  window.fetch = async function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    const upload = init?.method === 'POST' && /\/events$/.test(new URL(url, location.href).pathname);
    if (upload) window.__posting += 1;
    try {
      return await fetch.call(this, input, init);
    } finally {
      if (upload) window.__posting -= 1;
    }
  };
}

/** Starts `n` appends in the page, one after the other, without waiting. */
function startAppending(n) {
  window.__appended = 0;
  window.__appendErrors = [];
  (async () => {
    for (let i = 0; i < n; i++) {
      try {
        await window.demo.sealtrail.log({ type: 'search', query: `tab query ${i}` });
        window.__appended += 1;
      } catch (e) {
        window.__appendErrors.push(String(e));
      }
    }
  })();
}

/** Pairs of uploads of one chain whose times overlap, among those the
 * collector received. A held upload that was never passed on is left out:
 * it is the closed tab's, whose lock the browser released when the tab
 * closed, while the gate, not the collector, still held its socket. */
function overlaps(requests) {
  const byChain = new Map();
  for (const r of requests.filter((r) => r.method === 'POST' && UPLOADS.test(r.path) && r.forwarded)) {
    const list = byChain.get(r.path) ?? [];
    list.push(r);
    byChain.set(r.path, list);
  }
  const found = [];
  for (const [path, list] of byChain) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const end = list[i - 1].end ?? Infinity;
      if (list[i].start < end) found.push(`${path}: ${list[i - 1].start}-${end} and ${list[i].start}`);
    }
  }
  return found;
}

test('five tabs of one origin: one uploader at a time, nothing lost, hand-over when it closes', async () => {
  const page = await env.browser.openPage(env.collector.url, { init: countUploads });
  const { driver, gate } = page;
  const tabs = [];
  try {
    gate.route(UPLOADS, () => ({ delay: 150 })); // a slow collector
    for (let i = 0; i < TABS; i++) {
      if (i > 0) await driver.switchTo().newWindow('tab');
      assert.equal(await loadDemo(page, 'u-nurse-17', '&batchDelayMs=0'), 'true');
      tabs.push({ handle: await driver.getWindowHandle(), chain: await page.evaluate(() => window.demo.sealtrail.chain) });
    }
    assert.equal(new Set(tabs.map((t) => t.chain)).size, TABS, 'a chain per tab');
    const inTab = async (t, fn, arg) => {
      await driver.switchTo().window(t.handle);
      return page.evaluate(fn, arg);
    };
    for (const t of tabs) await inTab(t, startAppending, EVENTS);

    // The collector goes down while the tabs append, and comes back.
    await sleep(1500);
    gate.route(UPLOADS, () => 'abort');
    await sleep(2000);
    gate.route(UPLOADS, () => 'pass');
    for (const t of tabs) {
      await driver.switchTo().window(t.handle);
      await page.waitFor((n) => window.__appended === n || window.__appendErrors.length > 0, EVENTS, { timeout: 120_000, polling: 250 });
      assert.deepEqual(await page.evaluate(() => window.__appendErrors), [], 'every append logged');
    }

    // Uploads held: one tab is mid-batch, and only one (each asks to upload
    // now, past any back-off left from the outage).
    gate.route(UPLOADS, () => 'hold');
    for (const t of tabs) {
      await inTab(t, () => {
        window.demo.sealtrail.flush();
        return true;
      });
    }
    let uploading = [];
    for (let round = 0; round < 100 && uploading.length === 0; round++) {
      uploading = [];
      for (const t of tabs) if (await inTab(t, () => window.__posting)) uploading.push(t);
      if (uploading.length === 0) await sleep(100);
    }
    assert.equal(uploading.length, 1, 'exactly one tab uploads');
    const [gone] = uploading;
    // A tab that cannot get the lock still logs before it reveals.
    const waiting = tabs.find((t) => t !== gone);
    const logged = await inTab(waiting, async () => {
      const started = performance.now();
      const { event } = await window.demo.sealtrail.log({ type: 'search', query: 'while another tab uploads' });
      const st = await window.demo.sealtrail.status();
      return { ms: performance.now() - started, seq: event.seq, head: st.head.seq, posting: window.__posting };
    });
    assert.equal(logged.head, logged.seq, JSON.stringify(logged));
    assert.equal(logged.posting, 0, 'the waiting tab posts nothing');
    assert.ok(logged.ms < 5_000, JSON.stringify(logged));

    // The uploading tab closes mid-batch; another takes over within seconds.
    const closed = await inTab(gone, async () => (await window.demo.sealtrail.status()).head);
    await driver.switchTo().window(gone.handle);
    await driver.close();
    const closedAt = Date.now();
    const rest = tabs.filter((t) => t !== gone);
    await driver.switchTo().window(rest[0].handle);
    for (const h of gate.held.splice(0)) h.abort();
    gate.route(UPLOADS, () => 'pass');
    for (let i = 0; i < 100; i++) {
      if (gate.requests.some((r) => UPLOADS.test(r.path) && r.start > closedAt)) break;
      await sleep(100);
    }
    const next = gate.requests.find((r) => UPLOADS.test(r.path) && r.start > closedAt);
    assert.ok(next && next.start - closedAt < 10_000, `an upload resumed ${next ? next.start - closedAt : 'never'} ms after the close`);

    // Every event of every chain (the closed tab's too) arrives, once.
    const heads = new Map([[gone.chain, closed]]);
    for (const t of rest) {
      await driver.switchTo().window(t.handle);
      await page.uploaded({ timeout: 120_000, polling: 500 });
      heads.set(t.chain, (await page.evaluate(() => window.demo.sealtrail.status())).head);
    }
    for (const [chain, head] of heads) {
      const verified = await review(env.collector.url, `/api/chains/${chain}/verify`);
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.equal(verified.body.valid, true, JSON.stringify(verified.body));
      assert.equal(verified.body.events, head.seq + 1, `${chain}: ${JSON.stringify(verified.body)}`);
      assert.equal(verified.body.head, head.hash);
    }
    assert.deepEqual(overlaps(gate.requests), [], 'no chain posted by two tabs at once');
  } finally {
    // Back to one window, as the next test file expects.
    const [keep, ...others] = await driver.getAllWindowHandles();
    for (const h of others) {
      await driver.switchTo().window(h);
      await driver.close();
    }
    await driver.switchTo().window(keep);
    await page.close();
  }
});
