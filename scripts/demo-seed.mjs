// Seeds a collector with the sample evening (scripts/demo.sh, and the
// end-to-end test of the sample): waits until it answers, uploads the chain
// files (`.jsonl` under SAMPLE_DIR, one event a line, as `sealtrail sample`
// writes them) the way the browsers that wrote them would have, then, given
// the safeguarding lead's token and on a fresh database, takes a few cases
// through the workflow so the review page opens on cases in every state: new,
// acknowledged, under investigation, resolved. Each chain is sent under a
// credential from the collector's demo login (`--demo-login`).
//
// The events of every chain are merged in time order and each run of
// consecutive events of one chain is sent as one batch (docs/protocol.md,
// `POST {endpoint}/chains/{chain}/events`): the collector judges its alert
// windows in the order events arrive, so a month of history must arrive
// before the evening it is the baseline of. Events already stored are not
// stored again: a second run is a retry that stores nothing new.
//
//   node scripts/demo-seed.mjs http://127.0.0.1:8787 .tmp/sample [LEAD_TOKEN]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const MAX_BATCH = 200;
const WAIT_MS = 120_000;

const [base, dir, token] = process.argv.slice(2);
if (!base || !dir) {
  console.error('usage: node scripts/demo-seed.mjs BASE_URL SAMPLE_DIR [LEAD_TOKEN]');
  process.exit(2);
}

async function answered(deadline) {
  for (;;) {
    try {
      if ((await fetch(`${base}/review.html`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the collector at ${base} did not answer`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The batches to send: every chain's events merged in time order. */
function batches() {
  const owners = new Map();
  const files = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
  const events = [];
  for (const name of files) {
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .forEach((line, i) => {
        let e;
        try {
          e = JSON.parse(line);
        } catch (err) {
          throw new Error(`${name}:${i + 1}: not JSON: ${err.message}`);
        }
        // Each line is sent as written: the hash covers its members, not a re-serialisation.
        events.push({ ts: e.ts, chain: e.chain, seq: e.seq, line });
        if (!owners.has(e.chain)) owners.set(e.chain, e);
      });
  }
  // Time stamps are fixed-width UTC (`YYYY-MM-DDTHH:MM:SS.mmmZ`): they sort as text.
  events.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.seq - b.seq));
  const out = [];
  for (const e of events) {
    const last = out.at(-1);
    if (last && last.chain === e.chain && last.lines.length < MAX_BATCH) last.lines.push(e.line);
    else out.push({ chain: e.chain, lines: [e.line] });
  }
  return { files: files.length, events: events.length, batches: out, owners };
}

async function call(path, body) {
  const init = { headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) Object.assign(init, { method: 'POST', body: JSON.stringify(body) });
  const resp = await fetch(`${base}${path}`, init);
  const answer = await resp.json();
  if (!resp.ok) throw new Error(`${path}: ${resp.status} ${answer.message ?? ''}`);
  return answer;
}

/** A few cases taken through triage, once (a database already triaged is left alone). */
async function triage() {
  const me = await call('/api/whoami');
  const queue = await call('/api/cases?state=new&limit=1000');
  const { counts } = queue;
  if (counts.acknowledged + counts.underInvestigation + counts.resolved > 0) {
    console.log('cases: triaged on an earlier run');
    return;
  }
  // Cases about someone else's access (nobody reviews their own).
  const open = queue.cases.filter((c) => c.actorId !== me.userId);
  const findings = open.filter((c) => c.kind !== 'break-glass');
  const [ack, investigate, resolve] = findings;
  const breakGlass = open.find((c) => c.kind === 'break-glass');
  const steps = [
    [ack, 'acknowledge', {}],
    [investigate, 'investigate', { note: 'Asked the ward manager for the shift roster.' }],
    [resolve, 'acknowledge', {}],
    [resolve, 'resolve', { outcome: 'coaching', note: 'Talked it through with the staff member; no further action.' }],
    [breakGlass, 'resolve', { outcome: 'appropriate', note: 'Reason confirmed with the duty social worker.' }],
  ];
  for (const [c, op, body] of steps) if (c) await call(`/api/cases/${c.id}/${op}`, body);
  const after = (await call('/api/cases?limit=1')).counts;
  console.log(`cases: ${after.new} new, ${after.acknowledged} acknowledged, ${after.underInvestigation} under investigation, ${after.resolved} resolved`);
}

/** The upload credential of `chain`, from the demo login (`--demo-login`),
 * for the owner of its first event `e` and issued before it (the sample was
 * written earlier than now). */
async function credential(e) {
  const issuedAt = Math.floor(Date.parse(e.ts) / 1000) - 60;
  const ask = { chain: e.chain, userId: e.actor.id, sessionId: e.session.id, role: e.actor.role, issuedAt };
  const resp = await fetch(`${base}/api/demo/login`, { method: 'POST', body: JSON.stringify(ask) });
  const answer = await resp.json();
  if (!resp.ok) throw new Error(`demo login for chain ${e.chain}: ${resp.status} ${answer.message ?? ''}`);
  return answer.credential;
}

/** Posts batch `b`, waiting as the collector asks (`Retry-After`) while it
 * answers that it is busy or that this credential or address is over its
 * rate (`docs/protocol.md`, "Limits"), as the browser's uploader does. */
async function upload(b, credential) {
  for (let attempt = 1; ; attempt += 1) {
    const resp = await fetch(`${base}/api/chains/${b.chain}/events`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', authorization: `Bearer ${credential}` },
      body: `{"events":[${b.lines.join(',')}]}`,
    });
    if (![429, 503].includes(resp.status) || attempt === 120) return resp;
    const seconds = Number(resp.headers.get('retry-after'));
    await resp.arrayBuffer();
    await new Promise((r) => setTimeout(r, 1000 * (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 10) : 1)));
  }
}

const plan = batches();
await answered(Date.now() + WAIT_MS);
const credentials = new Map();
for (const b of plan.batches) {
  if (!credentials.has(b.chain)) credentials.set(b.chain, await credential(plan.owners.get(b.chain)));
  const resp = await upload(b, credentials.get(b.chain));
  if (resp.status !== 200) throw new Error(`upload of chain ${b.chain}: ${resp.status} ${await resp.text()}`);
}
console.log(`uploaded ${plan.events} events of ${plan.files} chains in ${plan.batches.length} batches to ${base}`);
if (token) await triage();
