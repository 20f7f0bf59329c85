// Seeds the demo's collector (scripts/demo.sh): waits until it answers,
// uploads the sample evening's chains (a second run is a retry that stores
// nothing new), then, on a fresh database, takes a few cases through the
// workflow with the safeguarding lead's token so the review page opens on
// cases in every state: new, acknowledged, under investigation, resolved.
//
//   node scripts/demo-seed.mjs http://127.0.0.1:8787 .tmp/sample TOKEN
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, dir, token] = process.argv.slice(2);
if (!base || !dir || !token) {
  console.error('usage: node scripts/demo-seed.mjs BASE_URL SAMPLE_DIR LEAD_TOKEN');
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

async function call(path, body) {
  const init = { headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) Object.assign(init, { method: 'POST', body: JSON.stringify(body) });
  const resp = await fetch(`${base}${path}`, init);
  const answer = await resp.json();
  if (!resp.ok) throw new Error(`${path}: ${resp.status} ${answer.message ?? ''}`);
  return answer;
}

await answered(Date.now() + 120_000);

for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
  const events = readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (let i = 0; i < events.length; i += 200) {
    const batch = events.slice(i, i + 200);
    const resp = await fetch(`${base}/api/chains/${batch[0].chain}/events`, { method: 'POST', body: JSON.stringify({ events: batch }) });
    if (!resp.ok) throw new Error(`upload of ${name}: ${resp.status} ${await resp.text()}`);
  }
  console.log(`uploaded ${name} (${events.length} events)`);
}

const me = await call('/api/whoami');
const queue = await call('/api/cases?state=new&limit=1000');
const { counts } = queue;
if (counts.acknowledged + counts.underInvestigation + counts.resolved > 0) {
  console.log('cases: triaged on an earlier run');
} else {
  // Cases about someone else's access (nobody reviews their own).
  const open = queue.cases.filter((c) => c.actorId !== me.userId);
  const [ack, investigate, resolve, breakGlass] = [
    open.find((c) => c.kind !== 'break-glass'),
    open.filter((c) => c.kind !== 'break-glass')[1],
    open.filter((c) => c.kind !== 'break-glass')[2],
    open.find((c) => c.kind === 'break-glass'),
  ];
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
