// Test harness for the end-to-end tests: the real collector (serving www/
// at / and pkg/ at /pkg/) on a free loopback port with a temporary SQLite
// file, and a browser engine (SEALTRAIL_ENGINE: chromium, firefox or webkit)
// driven through WebDriver by tests/support/browsers.mjs, each page behind
// its own gate (tests/e2e/gate.mjs) for interception and init scripts. The
// test bodies are the same in every engine.
import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Key } from 'selenium-webdriver';
import { root, startBrowser, engineFromEnv, evaluate } from '../support/browsers.mjs';
import { openGate } from './gate.mjs';

export { root };
export const ENGINE = engineFromEnv();
export const REVIEW_TOKEN = 'e2e-review-token-00000000000000001';

/** Starts the collector binary with review `tokens` (`token=role:id:name`);
 * resolves with its base URL and a stop function. `database` (a SQLite file
 * the caller keeps) and `listen` (an address, to come back on the same port)
 * are for tests that restart a collector on its database. */
export async function startCollector({ tokens = [`${REVIEW_TOKEN}=safeguardingLead:sg-e2e:E2E Reviewer`], database, listen = '127.0.0.1:0' } = {}) {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const bin = process.env.SEALTRAIL_COLLECTOR_BIN ?? join(targetDir, 'release', 'sealtrail-collector');
  const dir = database ? null : mkdtempSync(join(tmpdir(), 'sealtrail-e2e-'));
  const child = spawn(bin, [
    '--listen', listen,
    '--database', `sqlite://${database ?? join(dir, 'e2e.sqlite')}`,
    '--static-dir', join(root, 'www'),
    '--pkg-dir', join(root, 'pkg'),
    '--policy', join(root, 'pkg-config', 'policy.default.json'),
    // The demo page asks the collector's demo login for its upload credentials.
    '--demo-login',
    ...tokens.flatMap((t) => ['--token', t]),
  ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`collector exited ${code}: ${stderr}`)); });
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 3000); });
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const KEYS = { Enter: Key.ENTER, Escape: Key.ESCAPE, Tab: Key.TAB, ArrowDown: Key.ARROW_DOWN, ArrowUp: Key.ARROW_UP, Space: Key.SPACE };

/**
 * A test page: one browser session behind its own gate. Targets are a CSS
 * selector, `{ label }` (the control a `<label>` with that exact text names)
 * or `{ button }` (the button with that exact text), found as a person would.
 */
class Page {
  constructor(browser, gate) {
    this.browser = browser;
    this.driver = browser.driver;
    this.gate = gate;
  }

  /** The page's origin (its gate). */
  get base() {
    return this.gate.url;
  }

  async goto(path) {
    await this.driver.get(new URL(path, this.base).href);
  }

  async reload() {
    await this.driver.navigate().refresh();
  }

  evaluate(fn, arg) {
    return evaluate(this.driver, fn, arg);
  }

  /** Polls `fn(arg)` in the page until it returns something truthy (30 s
   * by default, Playwright's default: CI machines are shared and loaded).
   * On a timeout, `why()` run in the page says what the page showed. */
  async waitFor(fn, arg, { timeout = 30_000, polling = 100, why } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        const v = await this.evaluate(fn, arg);
        if (v) return v;
      } catch (e) {
        last = e; // a navigation in progress; try again
      }
      if (Date.now() > end) {
        const shown = why ? await this.evaluate(why).catch((e) => `(why() failed: ${e.message})`) : null;
        throw new Error(`${ENGINE}: timed out after ${timeout} ms waiting for ${fn}${last ? ` (${last.message})` : ''}${shown ? `; the page showed: ${shown}` : ''}`);
      }
      await sleep(polling);
    }
  }

  /** Calls the demo instance's `flush()` until nothing is pending. Waits on
   * the module's own answer, never on the status the page last rendered
   * (which may predate the events just logged). */
  uploaded({ timeout = 20_000, polling = 200 } = {}) {
    return this.waitFor(async () => (await window.demo.sealtrail.flush()).pending === 0, null, {
      timeout,
      polling,
      why: async () => JSON.stringify(await window.demo.sealtrail.status()),
    });
  }

  /** The element `target` names, once it exists. */
  async element(target) {
    const find = (t) => {
      if (typeof t === 'string') return document.querySelector(t);
      const exact = (el) => el.textContent.trim() === (t.label ?? t.button);
      if (t.label) return [...document.querySelectorAll('label')].find(exact)?.control ?? null;
      return [...document.querySelectorAll('button')].find(exact) ?? null;
    };
    const found = await this.waitFor(find, target);
    return found;
  }

  async click(target) {
    await (await this.element(target)).click();
  }

  /** Replaces the text of a field, typed key by key. */
  async fill(target, text) {
    const el = await this.element(target);
    await el.clear();
    await el.sendKeys(text);
  }

  /** Chooses the option whose value is `value` in a `<select>`. */
  async select(target, value) {
    const el = await this.element(target);
    await evaluate(this.driver, (sel, v) => {
      sel.value = v;
      sel.dispatchEvent(new Event('input', { bubbles: true }));
      sel.dispatchEvent(new Event('change', { bubbles: true }));
    }, el, value);
  }

  async text(target) {
    const el = await this.element(target);
    return this.evaluate((e) => e.textContent, el);
  }

  async attr(target, name) {
    const el = await this.element(target);
    return el.getAttribute(name);
  }

  count(css) {
    return this.evaluate((c) => document.querySelectorAll(c).length, css);
  }

  async focus(target) {
    const el = await this.element(target);
    await this.evaluate((e) => e.focus(), el);
  }

  /** Presses one key (by its name in `KEYS`) on whatever has focus. */
  async press(key) {
    if (!KEYS[key]) throw new Error(`press: no key \`${key}\``);
    await this.driver.actions().sendKeys(KEYS[key]).perform();
  }

  async type(text) {
    await this.driver.actions().sendKeys(text).perform();
  }

  /** Uncaught errors and rejections the page has had. */
  errors() {
    return this.evaluate(() => window.__errors ?? []);
  }

  /** Leaves the page; its gate stays bound (so no later page gets its
   * origin, and with it this page's storage) until the browser closes. */
  async close() {
    this.gate.unrouteAll();
    await this.driver.get('about:blank');
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The engine's browser, one session for a whole test file: each page is a
 * new origin (its own gate), so each starts with empty storage.
 */
export async function launch() {
  const browser = await startBrowser(ENGINE);
  const gates = [];
  return {
    ...browser,
    /** A page behind a new gate to `base`, with the gate's hooks;
     * `bypassCSP` and `init` as in tests/e2e/gate.mjs. */
    async openPage(base, options = {}) {
      const gate = await openGate(base, options);
      gates.push(gate);
      return new Page(browser, gate);
    },
    async close() {
      try {
        await browser.quit();
      } finally {
        await Promise.all(gates.map((g) => g.close()));
      }
    },
  };
}

/** Loads the demo as `userId` and waits until the module started. */
export async function loadDemo(page, userId, extra = '') {
  await page.goto(`/?as=${encodeURIComponent(userId)}${extra}`);
  return page.waitFor(() => document.body?.dataset.ready);
}

export async function status(page) {
  return page.evaluate(() => window.demo.sealtrail.status());
}

export async function review(base, path) {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${REVIEW_TOKEN}` } });
  return { status: r.status, body: await r.json() };
}

/** Loads axe-core into the page (same-origin, from the gate: CSP admits it). */
export function loadAxe(page) {
  return page.evaluate(() => new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = '/__e2e/axe.js';
    s.onload = () => ok(true);
    s.onerror = () => fail(new Error('axe-core did not load'));
    document.head.append(s);
  }));
}

/** The serious and critical axe-core violations of the whole page, one line each. */
export async function seriousViolations(page) {
  await loadAxe(page);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
}

/**
 * For a test file: starts the collector (`options` as in `startCollector`)
 * and the engine's browser before its tests and stops both after them. The
 * returned object's `collector` and `browser` are set once started.
 */
export function collectorAndBrowser(options) {
  const env = {};
  before(async () => {
    env.collector = await startCollector(options);
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.collector?.stop();
  });
  return env;
}
