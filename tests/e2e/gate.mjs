// A loopback proxy in front of the collector, one per test page, that gives
// every engine what WebDriver lacks and the tests need:
//   - request interception: a route answers `pass`, `abort` (the connection
//     is dropped, as a network failure), `hold` (no answer until released)
//     or `{ delay: ms }` (passed on after `ms`, a slow collector); every
//     request notes when it started and ended, so overlaps can be counted;
//   - an init script: HTML pages get `<script src="/__e2e/init.js">` before
//     their first script, so hooks run before the page's own code; it is a
//     same-origin script, so the page's strict CSP admits it unchanged;
//   - `bypassCSP`: the CSP meta tag and header are removed, for the test that
//     proves rendering is safe without it;
//   - axe-core served same-origin at `/__e2e/axe.js`, so the checker loads
//     under the page's CSP.
// Each gate is its own origin, so each page starts with empty storage.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../support/browsers.mjs';

/** Hooks every page gets: dialogs and a global `__xss` count as an executed
 * payload; CSP violations, `console.error` calls and uncaught errors are
 * collected. */
function hooks() {
  window.__hits = 0;
  for (const name of ['alert', 'confirm', 'prompt']) window[name] = () => { window.__hits += 1; };
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  window.__console = [];
  const consoleError = console.error.bind(console);
  console.error = (...args) => { window.__console.push(args.map(String).join(' ')); consoleError(...args); };
  window.__errors = [];
  window.addEventListener('error', (e) => window.__errors.push(String(e.error ?? e.message)));
  window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));
  // The hook is no part of the page: it leaves no script element behind.
  document.currentScript?.remove();
}

const CSP_META = /<meta\s+http-equiv="Content-Security-Policy"[^>]*>/i;

/**
 * Opens a gate to `upstream` (the collector's base URL). `init` is an extra
 * function run before the page's scripts. Resolves with the gate's `url`,
 * `route`, the `held` requests and `close`.
 */
export async function openGate(upstream, { bypassCSP = false, init } = {}) {
  const target = new URL(upstream);
  const routes = [];
  const held = [];
  const requests = [];
  const initJs = `(${hooks})();${init ? `(${init})();` : ''}`;

  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://gate').pathname;
    if (path === '/__e2e/init.js' || path === '/__e2e/axe.js') {
      const body = path === '/__e2e/init.js' ? initJs : readFileSync(join(root, 'node_modules', 'axe-core', 'axe.min.js'));
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
      return res.end(body);
    }
    const seen = { method: req.method, path, contentType: req.headers['content-type'] ?? '', start: Date.now() };
    requests.push(seen);
    // Answered, or the connection dropped.
    res.once('close', () => { seen.end = Date.now(); });
    const route = routes.find((r) => r.pattern.test(path));
    const action = route ? route.handle(seen) : 'pass';
    if (action === 'abort') return req.socket.destroy();
    if (action === 'hold') return held.push({ ...seen, abort: () => req.socket.destroy() });
    if (action?.delay) {
      // The body is read at once (as a slow collector would); the answer waits.
      req.pause();
      return setTimeout(() => { req.resume(); forward(); }, action.delay);
    }
    forward();

    function forward() {
      seen.forwarded = Date.now();
      const headers = { ...req.headers, host: target.host };
      delete headers['accept-encoding']; // plain bodies, so HTML can be edited
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
        seen.status = upRes.statusCode;
        const type = upRes.headers['content-type'] ?? '';
        const out = { ...upRes.headers };
        if (bypassCSP) delete out['content-security-policy'];
        if (!type.startsWith('text/html')) {
          res.writeHead(upRes.statusCode, out);
          return upRes.pipe(res);
        }
        const chunks = [];
        upRes.on('data', (c) => chunks.push(c));
        upRes.on('end', () => {
          let html = Buffer.concat(chunks).toString('utf8');
          if (bypassCSP) html = html.replace(CSP_META, '');
          html = html.replace(/<script/i, '<script src="/__e2e/init.js"></script><script');
          delete out['content-length'];
          delete out.etag;
          out['cache-control'] = 'no-store';
          res.writeHead(upRes.statusCode, out);
          res.end(html);
        });
      });
      up.on('error', () => req.socket.destroy());
      req.pipe(up);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Every request that reached the gate: method, path, content type,
     * `start` and `end` (ms since the epoch), `forwarded` (when it was
     * passed on to the collector; never for a held or aborted one), and the
     * collector's status once it answered. */
    requests,
    /** Requests a `hold` route kept unanswered, each with `abort()`. */
    held,
    /** Sends requests whose path matches `pattern` to `handle(request)`,
     * which answers `pass`, `abort`, `hold` or `{ delay: ms }`; a later
     * route for the same pattern replaces it. */
    route(pattern, handle) {
      this.unroute(pattern);
      routes.push({ pattern, handle });
    },
    unrouteAll() {
      routes.length = 0;
    },
    unroute(pattern) {
      const i = routes.findIndex((r) => String(r.pattern) === String(pattern));
      if (i >= 0) routes.splice(i, 1);
    },
    async close() {
      for (const h of held) h.abort();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
