import http from 'node:http';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBrowser, evaluate } from '../../tests/support/browsers.mjs';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) { res.writeHead(503); return res.end('{}'); }
  const path = url.pathname === '/' ? '/benches/web/page.html' : url.pathname;
  const file = normalize(join(root, path));
  if (!existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await startBrowser('chromium');
const d = browser.driver;
await d.manage().setTimeouts({ script: 600_000 });
await d.get(`http://127.0.0.1:${server.address().port}`);
await evaluate(d, async () => {
  const m = await import('/pkg/sealtrail.js'); await m.default();
  const policy = await (await fetch('/pkg/policy.default.json')).json();
  const t = Date.now(); const iso = (ms) => new Date(ms).toISOString();
  const s = { userId: 'u-b', name: 'B', role: 'nurse', caseload: [], team: 'team-north', authStrength: 'mfa', authTime: iso(t - 60000), expiresAt: iso(t + 3600000), sessionId: 'b', client: 'b', network: 'onSite', device: 'managed' };
  window.st = await m.Sealtrail.start({ policy, session: s, endpoint: '/api', options: { dbName: `p-${Math.random()}`, backoffMs: 60000, backoffMaxMs: 60000 } });
  await st.log({ type: 'search', query: 'warm' });
  for (let r = 0; r < 3; r++) await Promise.all(Array.from({ length: 1000 }, (_, i) => st.log({ type: 'search', query: `w${i}` })));
  return true;
});
await d.sendAndGetDevToolsCommand('Profiler.enable', {});
await d.sendAndGetDevToolsCommand('Profiler.setSamplingInterval', { interval: 100 });
await d.sendAndGetDevToolsCommand('Profiler.start', {});
const times = await evaluate(d, async () => {
  const out = [];
  for (let r = 0; r < 5; r++) { const t0 = performance.now(); await Promise.all(Array.from({ length: 1000 }, (_, i) => st.log({ type: 'search', query: `b${i}` }))); out.push(performance.now() - t0); }
  return out;
});
const prof = await d.sendAndGetDevToolsCommand('Profiler.stop', {});
writeFileSync('/tmp/burst.cpuprofile', JSON.stringify(prof.profile));
console.log('burst ms', times.map((x) => x.toFixed(1)).join(' '));
await browser.close?.(); await d.quit().catch(() => {}); server.close(); process.exit(0);
