// The sealtrail demo: a small clinic page over the browser module.
//
// Every DOM node is built with createElement/textContent (never parsed from HTML strings):
// record text, names and break-glass reasons are data, and some demo records
// carry XSS payloads on purpose. The page runs under a strict CSP (see
// index.html): no inline script or style, wasm allowed by 'wasm-unsafe-eval'.
import init, { Sealtrail } from '/pkg/sealtrail.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

/** An element with text and attributes; children are nodes or strings (as text). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children.map((c) => (c instanceof Node ? c : String(c))));
  return e;
}

const state = {
  st: null,
  policy: null,
  staff: [],
  records: [],
  who: null,
  session: null,
  selected: null,
  sealed: null,
  /** Where the demo user connects from: `onSite` (a managed device) or `remote` (an unmanaged one). */
  network: 'onSite',
  grants: new Map(),
  eventCount: 0,
};

function sessionFor(person, authStrength = person.authStrength, authAgeMinutes = 5) {
  const now = Date.now();
  return {
    userId: person.userId,
    name: person.name,
    role: person.role,
    caseload: person.caseload,
    team: person.team,
    authStrength,
    authTime: new Date(now - authAgeMinutes * 60_000).toISOString(),
    expiresAt: new Date(now + 8 * 3_600_000).toISOString(),
    sessionId: `demo-${person.userId}-${now.toString(36)}`,
    client: 'sealtrail-demo/1 (' + navigator.userAgent.slice(0, 60) + ')',
    network: state.network,
    device: state.network === 'onSite' ? 'managed' : 'unmanaged',
  };
}

function say(text, isError = false) {
  const m = $('message');
  m.textContent = text;
  m.classList.toggle('error', isError);
}

function roleLabel(role) {
  return state.policy?.roles?.[role]?.label ?? role;
}

function noteTypeLabel(id) {
  return state.policy?.noteTypes?.[id]?.label ?? `${id} (not in policy)`;
}

// ---------------------------------------------------------------- staff

function fillStaff() {
  const select = $('staff');
  select.replaceChildren(
    ...state.staff.map((p) => el('option', { value: p.userId, text: `${p.name} · ${roleLabel(p.role)}` })),
  );
  select.value = state.who.userId;
  $('auth').textContent = `auth: ${state.session.authStrength}`;
}

async function switchTo(userId) {
  const person = state.staff.find((p) => p.userId === userId);
  if (!person) return;
  state.who = person;
  state.session = sessionFor(person);
  state.st.setSession(state.session);
  state.grants.clear();
  $('auth').textContent = `auth: ${state.session.authStrength}`;
  renderRecordList(state.records);
  if (state.selected) await openRecord(state.selected);
}

/** The session switch: on site or remote; the policy's conditions decide what that changes. */
async function switchNetwork(network) {
  state.network = network;
  state.session = sessionFor(state.who);
  state.st.setSession(state.session);
  if (state.selected) await openRecord(state.selected);
  say(network === 'onSite'
    ? 'Now on site, on a managed device.'
    : 'Now remote, on an unmanaged device: very restricted notes stay sealed.');
}

async function stepUp() {
  state.session = sessionFor(state.who, 'mfa', 0);
  state.st.setSession(state.session);
  $('auth').textContent = `auth: ${state.session.authStrength} (just now)`;
  say('Re-authenticated with MFA.');
}

// ---------------------------------------------------------------- records

function renderRecordList(records) {
  const mine = new Set(state.who.caseload);
  $('records').replaceChildren(
    ...records.map((r) => {
      const b = el('button', { type: 'button', 'data-record': r.id, 'aria-current': r.id === state.selected ? 'true' : null },
        r.id, el('span', { class: 'muted', text: ` · ${r.team}${mine.has(r.id) ? ' · your caseload' : ''}` }));
      b.addEventListener('click', () => openRecord(r.id));
      return el('li', {}, b);
    }),
  );
}

async function openRecord(id) {
  const record = state.records.find((r) => r.id === id);
  if (!record) return;
  state.selected = id;
  for (const b of document.querySelectorAll('#records button')) {
    b.setAttribute('aria-current', b.dataset.record === id ? 'true' : 'false');
  }
  let sealed;
  try {
    sealed = await state.st.seal(record, 'view');
  } catch (e) {
    if (state.selected !== id) return; // a later click owns the screen now
    state.sealed = null;
    $('record').replaceChildren();
    say(`Could not open the record: ${e.message}`, true);
    return;
  }
  // Seals resolve in order, but a click made while an earlier one was pending
  // owns the screen: never draw a record the user has already left.
  if (state.selected !== id) return;
  state.sealed = sealed;
  renderRecord();
}

function isSealed(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && '$sealed' in v;
}

function countSealed(v) {
  if (isSealed(v)) return 1;
  if (v && typeof v === 'object') return Object.values(v).reduce((n, x) => n + countSealed(x), 0);
  return 0;
}

function renderRecord() {
  const { view, recordId, event } = state.sealed;
  const sealedCount = countSealed(view);
  $('record-title').replaceChildren(
    isSealed(view.name) ? 'Sealed name' : String(view.name ?? recordId),
    el('span', { class: 'muted', text: ` · ${recordId}` }),
  );
  for (const id of ['export', 'print']) $(id).disabled = false;
  $('breakglass').disabled = sealedCount === 0;
  say(`${event.action} logged as event #${event.seq}; ${sealedCount} field(s) sealed for ${roleLabel(state.who.role)}.`);

  const fields = el('dl', { class: 'fields' });
  for (const [key, value] of Object.entries(view)) {
    if (['notes', 'id', 'name', 'resourceType'].includes(key)) continue;
    fields.append(el('dt', { text: key }), el('dd', {}, renderValue(value, `/${key}`)));
  }
  const notes = el('section', { 'aria-label': 'Notes' }, el('h3', { text: 'Notes' }));
  for (const [i, note] of (Array.isArray(view.notes) ? view.notes : []).entries()) {
    if (isSealed(note)) {
      notes.append(el('div', { class: 'note' }, renderValue(note, `/notes/${i}`)));
      continue;
    }
    notes.append(
      el('article', { class: 'note' },
        el('div', { class: 'note-meta', text: `${note.date ?? ''} · ${note.author ?? ''} · ${noteTypeLabel(note.type)}` }),
        el('div', {}, renderValue(note.text, `/notes/${i}/text`))),
    );
  }
  $('record').replaceChildren(fields, notes);
}

/** A value of the view as DOM: text for scalars, a sealed badge for placeholders. */
function renderValue(value, pointer) {
  if (isSealed(value)) return sealedBadge(value.$sealed);
  if (Array.isArray(value)) {
    if (value.every((v) => !isSealed(v) && (typeof v !== 'object' || v === null))) return document.createTextNode(value.join(', ') || '—');
    const ul = el('ul');
    value.forEach((v, i) => ul.append(el('li', {}, renderValue(v, `${pointer}/${i}`))));
    return ul;
  }
  if (value !== null && typeof value === 'object') {
    const dl = el('dl', { class: 'fields' });
    for (const [k, v] of Object.entries(value)) dl.append(el('dt', { text: k }), el('dd', {}, renderValue(v, `${pointer}/${k}`)));
    return dl;
  }
  return document.createTextNode(value === null || value === undefined ? '—' : String(value));
}

/** Why the policy sealed the field at `pointer`: its condition's label ("patient restriction"), if one refused. */
function sealedBecause(pointer) {
  return state.sealed?.decisions?.find((d) => d.pointer === pointer)?.why?.label ?? null;
}

function sealedBadge(p) {
  const label = `Sealed: ${noteTypeLabel(p.noteType)} [${p.labels.join(', ')}]`;
  const badge = el('span', { class: 'sealed', 'data-pointer': p.pointer, 'data-decision': p.type }, label);
  const because = sealedBecause(p.pointer);
  if (because) badge.append(el('span', { class: 'reason', 'data-reason': because, text: `· ${because}` }));
  const grant = state.grants.get(state.selected);
  if (p.type === 'stepUp') {
    badge.append(el('span', { text: `· needs ${p.authStrength} within ${p.maxAgeMinutes} min` }));
  } else if (grant && p.type === 'seal') {
    const b = el('button', { type: 'button', text: 'Reveal', 'aria-label': `Reveal ${noteTypeLabel(p.noteType)} at ${p.pointer}` });
    b.addEventListener('click', () => reveal(badge, p, grant));
    badge.append(b);
  } else if (p.breakGlass) {
    badge.append(el('span', { class: 'muted', text: '· break-glass available' }));
  }
  return badge;
}

async function reveal(badge, p, grant) {
  try {
    const opening = await state.st.reveal(state.selected, p.pointer, grant);
    const text = typeof opening.value === 'string' ? opening.value : JSON.stringify(opening.value);
    badge.replaceWith(el('span', { class: 'revealed', 'data-pointer': p.pointer }, text,
      el('span', { class: 'muted', text: ` (revealed under break-glass; unseal logged as event #${opening.event.seq})` })));
  } catch (e) {
    say(`Not revealed: ${e.message}`, true);
  }
}

async function breakGlass() {
  if (!state.selected) return;
  const result = await state.st.breakGlass(state.selected);
  if (result.outcome === 'granted') {
    state.grants.set(state.selected, result.grant);
    renderRecord();
    say(`Emergency access granted until ${new Date(result.grant.expiresAt).toLocaleTimeString()}; logged as event #${result.event.seq}. Reveal fields one by one.`);
  } else if (result.outcome === 'denied') {
    say(`Emergency access refused (logged as event #${result.event.seq}): ${result.refusals.map((r) => r.message).join('; ')}`, true);
  } else {
    say(`Emergency access cancelled (logged as event #${result.event.seq}).`);
  }
}

async function hostAction(action) {
  const record = state.records.find((r) => r.id === state.selected);
  const { decision, event } = await state.st.log(action, record);
  const what = action.type;
  if (decision.type === 'allow') say(`${what} allowed and logged as event #${event.seq}.`);
  else if (decision.type === 'stepUp') say(`${what} needs a fresh ${decision.authStrength} sign-in (within ${decision.maxAgeMinutes} min): use “Re-authenticate”. Logged as event #${event.seq}.`, true);
  else say(`${what} refused (${decision.cause}); logged as event #${event.seq}.`, true);
}

async function search(ev) {
  ev.preventDefault();
  const query = $('q').value;
  const filters = $('mine').checked ? { team: state.who.team } : {};
  const { decision, event } = await state.st.log({ type: 'search', query, filters });
  if (decision.type !== 'allow') {
    say(`Search refused; logged as event #${event.seq}.`, true);
    return;
  }
  const q = query.trim().toLowerCase();
  const hits = state.records.filter((r) => (!filters.team || r.team === filters.team) &&
    (q === '' || r.id.toLowerCase().includes(q) || String(r.name).toLowerCase().includes(q)));
  renderRecordList(hits);
  say(`${hits.length} record(s) found; search logged as event #${event.seq}.`);
}

// ---------------------------------------------------------------- chain panel

function onEvent(e) {
  state.eventCount += 1;
  const subject = e.subject?.recordId ? ` ${e.subject.recordId}` : '';
  const li = el('li', { value: e.seq, 'data-seq': e.seq, 'data-action': e.action },
    `${e.action}`, el('span', { class: `outcome-${e.outcome}`, text: ` ${e.outcome}` }),
    `${subject} · ${e.actor.role}`);
  if (e.reason) li.append(el('div', { class: 'muted reason', text: `reason (${e.reason.code}): ${e.reason.text}` }));
  const list = $('events');
  list.prepend(li);
  while (list.children.length > 60) list.lastElementChild.remove();
}

function onAlert(a) {
  $('alerts').prepend(el('li', { 'data-rule': a.rule }, `${a.severity}: ${a.rule}`, el('div', { text: a.summary })));
}

let statusTimer = 0;
function onStatus() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(refreshStatus, 100);
}

async function refreshStatus() {
  const s = await state.st.status();
  const current = s.chains.find((c) => c.current);
  const rows = [
    ['chain', s.chain],
    ['head', s.head ? `#${s.head.seq}` : '—'],
    ['pending', String(s.pending)],
    ['acknowledged', current?.ackedSeq ?? '—'],
    ['earlier chains', String(s.chains.filter((c) => !c.current).length)],
    ['online', s.online ? 'yes' : 'no'],
    ['last error', s.lastError ?? '—'],
    ['durability', s.guarantees.durability === 'strict' ? 'strict (on disk when stored)' : 'best effort (a crash can lose the last events)'],
    ['storage', s.guarantees.storage === 'persistent' ? 'persistent' : 'evictable (the browser may delete what is not yet uploaded)'],
  ];
  $('status').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { 'data-key': k, text: String(v) })]));
}

// ---------------------------------------------------------------- start

const endpoint = params.get('endpoint') ?? '/api';

/** The demo's login on the collector (`--demo-login`, scripts/demo.sh):
 * GET gives the log key to pin, POST a credential. A real host mints
 * credentials in its own backend, which knows who logged in
 * (docs/protocol.md, "Credentials"). */
async function demoLogin(body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const resp = await fetch(`${endpoint}/demo/login`, init);
  const answer = await resp.json();
  if (!resp.ok) throw new Error(`demo login: ${answer.message ?? resp.status}`);
  return answer;
}

/** The upload credential of `chain`, for the session now logged in. */
async function credential(chain) {
  const { userId, sessionId, role } = state.session;
  return (await demoLogin({ chain, userId, sessionId, role })).credential;
}

async function main() {
  await init();
  const [policy, staff, records] = await Promise.all(
    ['/pkg/policy.default.json', 'data/staff.json', 'data/records.json'].map((u) => fetch(u).then((r) => r.json())),
  );
  Object.assign(state, { policy, staff, records });
  state.who = staff.find((p) => p.userId === params.get('as')) ?? staff[0];
  state.session = sessionFor(state.who);
  const options = { onEvent, onAlert, onStatus, credential };
  if (params.has('batchDelayMs')) options.batchDelayMs = Number(params.get('batchDelayMs'));
  // Pin the collector's transparency-log key: nothing is deleted before the
  // log proves it holds the events.
  const key = await demoLogin().catch(() => null);
  if (key?.collectorKey) options.collectorKey = key.collectorKey;
  state.st = await Sealtrail.start({ policy, session: state.session, endpoint, options });
  fillStaff();
  renderRecordList(records);
  $('staff').addEventListener('change', (e) => switchTo(e.target.value));
  $('network').addEventListener('change', (e) => switchNetwork(e.target.value));
  $('stepup').addEventListener('click', stepUp);
  $('breakglass').addEventListener('click', breakGlass);
  $('export').addEventListener('click', () => hostAction({ type: 'export', format: 'pdf' }));
  $('print').addEventListener('click', () => hostAction({ type: 'print' }));
  $('search').addEventListener('submit', search);
  $('flush').addEventListener('click', async () => { await state.st.flush(); await refreshStatus(); });
  await refreshStatus();
  $('boot').textContent = `Audit chain ${state.st.chain} started. Every view, search, export and break-glass is logged.`;
  window.demo = { sealtrail: state.st, state, openRecord, switchTo, switchNetwork };
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  $('boot').textContent = `The audit module could not start, so no record is shown: ${e.message}`;
  $('boot').classList.add('error');
  document.body.dataset.ready = 'error';
});
