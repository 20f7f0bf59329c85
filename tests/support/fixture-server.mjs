// A scripted collector for the browser tests of the uploader (test-only).
//
// Endpoint base: http://127.0.0.1:PORT/s/<scenario>/<run>, so one server
// serves every test at once; <run> keeps each test's chains and request log
// apart. It follows docs/protocol.md like a real collector (seq continuity,
// idempotent resends, acks within the batch), except where the scenario says:
//   ok          behave
//   down        503 to everything
//   fail500x2   500 to the first two event uploads, then behave
//   gap         first event upload: 409 gap with expectedSeq = first seq + 1
//               (as if the server already held the first event), then behave
//   fork        409 fork at the batch's first seq, always
//   hang1       the first event upload never answers, then behave
//   notack      200 to every event upload, with a body that is no acknowledgement
//   login200    every event upload: 200 with an HTML sign-in page (an SSO proxy)
//   redirect    every event upload: 302 to /login, which answers 200 HTML
//   ackpast     every event upload: 200 acknowledging a seq past the batch
// GET /log/<run> returns every request of that run: {kind, status, first, last, count, body}.
// Prints "fixture listening on http://127.0.0.1:PORT" once ready. CORS open.
import http from 'node:http';

const runs = new Map();
const run = (id) => {
  if (!runs.has(id)) runs.set(id, { log: [], chains: new Map(), heads: new Map(), uploads: 0 });
  return runs.get(id);
};

const LOGIN = '<!doctype html><title>Sign in</title><form method=post><input name=user></form>';

function sendHtml(res, status, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/html', 'access-control-allow-origin': '*', ...headers });
  res.end(status === 200 ? LOGIN : '');
}

function send(res, status, body) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'content-type',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
  });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function events(r, chain, batch, scenario) {
  r.uploads += 1;
  const first = batch[0]?.seq ?? 0;
  const last = batch[batch.length - 1]?.seq ?? first;
  if (scenario === 'down') return [503, { error: 'busy', message: 'scripted outage' }];
  if (scenario === 'fail500x2' && r.uploads <= 2) return [500, { error: 'internal', message: 'boom' }];
  if (scenario === 'fork') return [409, { error: 'fork', seq: first, message: 'scripted fork' }];
  if (scenario === 'max2' && batch.length > 2) return [413, { error: 'too-large', message: 'scripted limit' }];
  if (scenario === 'reject400') return [400, { error: 'bad-request', message: 'not a batch of events' }];
  if (scenario === 'notack') return [200, { ok: true }];
  if (scenario === 'gap' && r.uploads === 1) {
    const stored = r.chains.get(chain) ?? [];
    stored[first] = batch[0];
    r.chains.set(chain, stored);
    return [409, { error: 'gap', expectedSeq: first + 1, message: 'scripted gap' }];
  }
  const stored = r.chains.get(chain) ?? [];
  const next = stored.length;
  if (first > next) return [409, { error: 'gap', expectedSeq: next, message: 'gap' }];
  for (const e of batch) {
    if (e.seq < stored.length) {
      if (JSON.stringify(stored[e.seq]) !== JSON.stringify(e)) return [409, { error: 'fork', seq: e.seq, message: 'fork' }];
    } else {
      stored[e.seq] = e;
    }
  }
  r.chains.set(chain, stored);
  const head = batch[batch.length - 1]?.hash;
  if (scenario === 'ackpast') return [200, { chain, ackedSeq: last + 5, head }];
  return [200, { chain, ackedSeq: last, head }];
}

const server = http.createServer((req, res) => {
  if (req.method === 'OPTIONS') return send(res, 204);
  const parts = req.url.split('/').filter(Boolean);
  if (req.method === 'GET' && parts[0] === 'log') return send(res, 200, run(parts[1]).log);
  if (parts[0] === 'login') return sendHtml(res, 200);
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    // /s/<scenario>/<run>/chains/<chain>/(events|head)
    const [s, scenario, id, chainsWord, chain, kind] = parts;
    if (s !== 's' || chainsWord !== 'chains' || !['events', 'head'].includes(kind)) return send(res, 404, { error: 'not found' });
    const r = run(id);
    let parsed;
    try { parsed = JSON.parse(body); } catch { return send(res, 400, { error: 'not json' }); }
    const entry = { kind, chain, body: parsed, at: Date.now() };
    r.log.push(entry);
    if (kind === 'head') {
      entry.status = scenario === 'down' ? 503 : 200;
      if (entry.status === 200) r.heads.set(chain, parsed);
      return send(res, entry.status, { chain, anchoredSeq: parsed.seq });
    }
    const batch = Array.isArray(parsed.events) ? parsed.events : [];
    entry.first = batch[0]?.seq;
    entry.last = batch[batch.length - 1]?.seq;
    entry.count = batch.length;
    if (scenario === 'login200') {
      entry.status = 200;
      return sendHtml(res, 200);
    }
    if (scenario === 'redirect') {
      entry.status = 302;
      return sendHtml(res, 302, { location: '/login' });
    }
    if (scenario === 'hang1' && r.uploads === 0) {
      r.uploads += 1;
      entry.status = 'hung';
      setTimeout(() => { try { send(res, 504, { error: 'late' }); } catch { /* gone */ } }, 5000);
      return;
    }
    const [status, answer] = events(r, chain, batch, scenario);
    entry.status = status;
    send(res, status, answer);
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`fixture listening on http://127.0.0.1:${server.address().port}`);
});
