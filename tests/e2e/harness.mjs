// Test harness for the end-to-end tests: the real collector (serving www/
// at / and pkg/ at /pkg/) on a free loopback port with a temporary SQLite
// file, and Debian's Chromium driven by playwright-core (never a downloaded
// browser).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REVIEW_TOKEN = 'e2e-review-token-0001';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** Starts the collector binary; resolves with its base URL and a stop function. */
export async function startCollector() {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const bin = process.env.SEALTRAIL_COLLECTOR_BIN ?? join(targetDir, 'release', 'sealtrail-collector');
  const dir = mkdtempSync(join(tmpdir(), 'sealtrail-e2e-'));
  const child = spawn(bin, [
    '--listen', '127.0.0.1:0',
    '--database', `sqlite://${join(dir, 'e2e.sqlite')}`,
    '--static-dir', join(root, 'www'),
    '--pkg-dir', join(root, 'pkg'),
    '--policy', join(root, 'pkg-config', 'policy.default.json'),
    '--token', `${REVIEW_TOKEN}=safeguardingLead:sg-e2e:E2E Reviewer`,
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A persistent profile (its own browser): the quota override of the DevTools
 * protocol takes effect there, not in incognito contexts. */
export async function launchPersistent() {
  const dir = mkdtempSync(join(tmpdir(), 'sealtrail-profile-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  return { context, async close() { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/**
 * A fresh context (own IndexedDB) and page with hooks: any alert/confirm/prompt
 * or a global `__xss` counts as an executed payload; CSP violations and page
 * errors are collected.
 */
export async function openPage(browser, { bypassCSP = false, init } = {}) {
  const context = await browser.newContext({ bypassCSP });
  await context.addInitScript(() => {
    window.__hits = 0;
    for (const name of ['alert', 'confirm', 'prompt']) window[name] = () => { window.__hits += 1; };
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

/** Loads the demo as `userId` and waits until the module started. */
export async function loadDemo(page, base, userId, extra = '') {
  await page.goto(`${base}/?as=${encodeURIComponent(userId)}${extra}`);
  await page.waitForFunction(() => document.body.dataset.ready);
  return page.evaluate(() => document.body.dataset.ready);
}

export async function status(page) {
  return page.evaluate(() => window.demo.sealtrail.status());
}

export async function review(base, path) {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${REVIEW_TOKEN}` } });
  return { status: r.status, body: await r.json() };
}

export const axeSource = () => readFileSync(join(root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
