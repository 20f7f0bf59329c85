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
//   log         behave, with a transparency log: acks carry a tlog-proof of
//               their last event in a checkpoint signed with the fixture's
//               key (GET /key), and GET .../tlog/consistency serves proofs
//   logbadsig   log, but checkpoints signed with another key of the same name
//   logbadpath  log, but the inclusion proof's first hash is flipped
//   logsplit    log, but from the second upload on the tree is rewritten
//               (its first leaf replaced): a checkpoint inconsistent with the first
//   cred        behave, requiring each upload's credential (Authorization:
//               Bearer; an anchor's `credential` member): 401 unless its
//               claims (signature unchecked) name the chain and `exp` is ahead
//   cred401x1   cred, but the first event upload is a 401 whatever it carries
// Every logged request carries `auth`: the credential it was sent with.
// GET /log/<run> returns every request of that run: {kind, status, first, last, count, body}.
// Prints "fixture listening on http://127.0.0.1:PORT" once ready. CORS open.
import http from 'node:http';
import crypto from 'node:crypto';

// ---- a transparency log as docs/protocol.md describes it (RFC 9162 tree,
// C2SP signed-note checkpoints, tlog-proof), small and slow on purpose.
const ORIGIN = 'fixture.sealtrail.test/log';
const sha = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const b64 = (b) => Buffer.from(b).toString('base64');
function signer() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const id = sha(Buffer.from(`${ORIGIN}\n`), Buffer.from([1]), pub).subarray(0, 4);
  return {
    vkey: `${ORIGIN}+${id.toString('hex')}+${b64(Buffer.concat([Buffer.from([1]), pub]))}`,
    sign: (text) => `${text}\n— ${ORIGIN} ${b64(Buffer.concat([id, crypto.sign(null, Buffer.from(text), privateKey)]))}\n`,
  };
}
const KEY = signer();
const OTHER = signer();
const leafHash = (chain, seq, hash) => {
  const b = Buffer.alloc(56);
  Buffer.from(chain, 'hex').copy(b, 0);
  b.writeBigUInt64BE(BigInt(seq), 16);
  Buffer.from(hash, 'hex').copy(b, 24);
  return sha(Buffer.from([0]), b);
};
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
const mth = (d) => (d.length === 0 ? sha() : d.length === 1 ? d[0]
  : sha(Buffer.from([1]), mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length)))));
function path(m, d) {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m, d, whole) {
  if (m === d.length) return whole ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), whole), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}
/** The ack's `log` for leaf `index` of the tree `d` (as the scenario lies). */
function logReceipt(scenario, d, index, first) {
  const note = (scenario === 'logbadsig' ? OTHER : KEY).sign(`${ORIGIN}\n${d.length}\n${b64(mth(d))}\n`);
  const hashes = path(index, d).map((h) => Buffer.from(h));
  if (scenario === 'logbadpath' && hashes.length > 0) hashes[0][0] ^= 1;
  const proof = ['c2sp.org/tlog-proof@v1', `index ${index}`, ...hashes.map(b64)].join('\n') + `\n\n${note}`;
  return { index, firstIndex: first, proof };
}

const runs = new Map();
const run = (id) => {
  if (!runs.has(id)) runs.set(id, { log: [], chains: new Map(), heads: new Map(), uploads: 0, leaves: [] });
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
    'access-control-allow-headers': 'content-type, authorization',
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
  const ack = { chain, ackedSeq: last, head };
  if (!scenario.startsWith('log')) return [200, ack];
  const fresh = batch.filter((e) => !r.leaves.some((l) => l.chain === chain && l.seq === e.seq));
  const firstIndex = fresh.length > 0 ? r.leaves.length : null;
  for (const e of fresh) r.leaves.push({ chain, seq: e.seq, hash: leafHash(chain, e.seq, e.hash) });
  if (scenario === 'logsplit' && r.uploads >= 2) r.leaves[0].hash = sha(Buffer.from('rewritten'));
  const index = r.leaves.findIndex((l) => l.chain === chain && l.seq === ack.ackedSeq);
  return [200, { ...ack, log: logReceipt(scenario, r.leaves.map((l) => l.hash), index, firstIndex) }];
}

/** Why `token` is no credential for `chain` now (the claims only), or null. */
function unauthorized(token, chain) {
  let claims;
  try { claims = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url')); } catch { return 'no credential'; }
  if (claims?.chain !== chain) return `a credential for chain ${claims?.chain}`;
  if (!(claims.exp * 1000 > Date.now())) return 'an expired credential';
  return null;
}

const server = http.createServer((req, res) => {
  if (req.method === 'OPTIONS') return send(res, 204);
  const parts = req.url.split('/').filter(Boolean);
  if (req.method === 'GET' && parts[0] === 'log') return send(res, 200, run(parts[1]).log);
  if (parts[0] === 'login') return sendHtml(res, 200);
  if (req.method === 'GET' && parts[0] === 'key') return send(res, 200, { key: KEY.vkey, other: OTHER.vkey });
  // /s/<scenario>/<run>/tlog/consistency?old=N&new=M
  if (req.method === 'GET' && parts[3]?.startsWith('tlog')) {
    const u = new URL(req.url, 'http://x');
    const d = run(parts[2]).leaves.map((l) => l.hash);
    const [m, n] = [Number(u.searchParams.get('old')), Number(u.searchParams.get('new'))];
    run(parts[2]).log.push({ kind: 'consistency', old: m, new: n, at: Date.now() });
    if (!(m <= n && n <= d.length)) return send(res, 400, { error: 'bad-request' });
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
    return res.end(subproof(m, d.slice(0, n), true).map((h) => `${b64(h)}\n`).join(''));
  }
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    // /s/<scenario>/<run>/chains/<chain>/(events|head)
    const [s, scenario, id, chainsWord, chain, kind] = parts;
    if (s !== 's' || chainsWord !== 'chains' || !['events', 'head'].includes(kind)) return send(res, 404, { error: 'not found' });
    const r = run(id);
    let parsed;
    try { parsed = JSON.parse(body); } catch { return send(res, 400, { error: 'not json' }); }
    const auth = kind === 'head' ? parsed.credential : req.headers.authorization?.replace(/^Bearer /, '');
    const entry = { kind, chain, body: parsed, auth: auth ?? null, at: Date.now() };
    r.log.push(entry);
    if (scenario.startsWith('cred')) {
      const why = scenario === 'cred401x1' && kind === 'events' && !r.refusedOnce ? 'scripted refusal' : unauthorized(auth, chain);
      if (kind === 'events' && why === 'scripted refusal') r.refusedOnce = true;
      if (why) {
        entry.status = 401;
        return send(res, 401, { error: 'unauthorized', message: why });
      }
    }
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
