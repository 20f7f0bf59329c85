// Where the engines differ, as tests: the facts of each engine the README's
// support table states (so a new browser version that changes one fails
// here, not silently), and the module's fallbacks for what an engine lacks,
// forced in every engine through the gate's init script.
// Run by scripts/test-web.sh once per engine (SEALTRAIL_ENGINE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE, collectorAndBrowser, loadDemo, status } from './harness.mjs';

const env = collectorAndBrowser();

/** Per engine, what the support table says (a persist() that does not
 * settle in two seconds is `pending`: Firefox waits on a permission prompt
 * nobody answers; WebKitGTK has no navigator.storage at all). */
const FACTS = {
  chromium: { storageManager: true, persist: false },
  firefox: { storageManager: true, persist: 'pending' },
  webkit: { storageManager: false, persist: 'absent' },
};

test(`${ENGINE}: the platform facts the support table states`, async () => {
  const page = await env.browser.openPage(env.collector.url);
  try {
    await loadDemo(page, 'u-nurse-17');
    const seen = await page.evaluate(async () => {
      const db = await new Promise((ok, ko) => {
        const q = indexedDB.open('engine-facts', 1);
        q.onupgradeneeded = () => q.result.createObjectStore('s');
        q.onsuccess = () => ok(q.result);
        q.onerror = () => ko(q.error);
      });
      const tx = db.transaction(['s'], 'readwrite', { durability: 'strict' });
      const durability = tx.durability;
      db.close();
      let ed25519;
      try {
        ed25519 = !!(await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])).privateKey;
      } catch {
        ed25519 = false;
      }
      const persist = navigator.storage?.persist
        ? await Promise.race([navigator.storage.persist(), new Promise((r) => setTimeout(() => r('pending'), 2000))])
        : 'absent';
      // (i32.const 0) i8x16.splat v128.any_true: valid only with SIMD.
      const simd = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 83, 11]));
      return {
        durability,
        storageManager: 'storage' in navigator,
        persist,
        locks: typeof navigator.locks?.request === 'function',
        broadcastChannel: typeof BroadcastChannel === 'function',
        beacon: typeof navigator.sendBeacon === 'function',
        ed25519,
        simd,
        dialog: typeof HTMLDialogElement === 'function' && 'inert' in HTMLElement.prototype,
      };
    });
    assert.deepEqual(seen, {
      durability: 'strict',
      locks: true,
      broadcastChannel: true,
      beacon: true,
      ed25519: true,
      simd: true,
      dialog: true,
      ...FACTS[ENGINE],
    });
    // The module's own reading agrees.
    const { guarantees } = await status(page);
    assert.deepEqual(guarantees, { durability: 'strict', storage: 'evictable' });
  } finally {
    await page.close();
  }
});

test('an engine that ignores the durability hint: best effort is reported, and a view still logs before it shows', async () => {
  const page = await env.browser.openPage(env.collector.url, {
    // An engine from before the hint: no `durability` on transactions.
    init: () => Object.defineProperty(IDBTransaction.prototype, 'durability', { get: () => undefined, configurable: true }),
  });
  try {
    assert.equal(await loadDemo(page, 'u-nurse-17'), 'true');
    assert.equal((await status(page)).guarantees.durability, 'bestEffort');
    await page.click('#records button[data-record="p-1001"]');
    await page.waitFor(() => window.demo.state.sealed);
    const s = await status(page);
    assert.equal(s.head.seq, 0, 'the view event was stored');
    assert.match(await page.text('#record'), /Sealed: Domestic violence indicator/);
    await page.waitFor(() => /best effort/.test(document.querySelector('#status').textContent));
  } finally {
    await page.close();
  }
});

test('no navigator.storage, or a persisted() that never answers: status still answers, evictable', async () => {
  const lacking = [
    // WebKitGTK: no StorageManager at all.
    () => Object.defineProperty(Navigator.prototype, 'storage', { get: () => undefined, configurable: true }),
    // A StorageManager whose answer never comes (as Firefox's persist() headless).
    () => Object.defineProperty(Navigator.prototype, 'storage', { get: () => ({ persisted: () => new Promise(() => {}) }), configurable: true }),
  ];
  for (const init of lacking) {
    const page = await env.browser.openPage(env.collector.url, { init });
    try {
      assert.equal(await loadDemo(page, 'u-nurse-17'), 'true');
      const started = Date.now();
      assert.equal((await status(page)).guarantees.storage, 'evictable');
      assert.ok(Date.now() - started < 5_000, 'status() did not wait on the browser');
    } finally {
      await page.close();
    }
  }
});
