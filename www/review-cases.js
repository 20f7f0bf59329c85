// sealtrail review page, the case queue: every finding and break-glass is a
// case (new, acknowledged, under investigation, resolved). The queue filters
// by state, severity, assignee, source and overdue; a case opens below it
// with its evidence, its history and the actions the reviewer's role allows
// now (the collector's `may`). Each action is a POST the collector appends to
// its own chain; the page then redraws the case and the queue and says what
// happened in a live region. Forms and buttons are native, so the whole
// workflow runs from the keyboard.

import { $, el, clear, when, api } from './review-lib.js';

const STATE_LABELS = { new: 'new', acknowledged: 'acknowledged', underInvestigation: 'under investigation', resolved: 'resolved' };

let hooks = { guarded: async (_, f) => f(), onChange: () => {} };
/** The open case's id, and the outcome labels the policy defines. */
let current = null;
let outcomes = [];

const label = (id) => outcomes.find((o) => o.id === id)?.label ?? id;

/** The queue's query from the filter form. */
function query() {
  const p = new URLSearchParams({ limit: '200' });
  for (const name of ['state', 'severity', 'assignee', 'source']) {
    const v = $(`cases-${name}`).value;
    if (v) p.set(name, v);
  }
  if ($('cases-overdue').checked) p.set('overdue', 'true');
  return p.toString();
}

function stateBadge(c) {
  const parts = [el('span', { class: `badge state-${c.state}`, text: STATE_LABELS[c.state] ?? c.state })];
  if (c.overdue) parts.push(' ', el('span', { class: 'badge overdue', text: 'overdue' }));
  return parts;
}

/** Draws the queue. */
export async function loadCases() {
  const data = await api(`/api/cases?${query()}`);
  outcomes = data.outcomes;
  const tiles = clear($('case-counts'));
  for (const s of ['new', 'acknowledged', 'underInvestigation', 'resolved', 'overdue']) {
    tiles.append(el('div', { class: `tile case-tile-${s}`, 'data-count': s }, el('strong', { text: String(data.counts[s] ?? 0) }), STATE_LABELS[s] ?? s));
  }
  const body = clear($('cases').tBodies[0]);
  for (const c of data.cases) {
    body.append(
      el(
        'tr',
        { 'data-case': c.id, class: c.id === current ? 'current' : undefined },
        el('td', {}, el('span', { class: `badge sev-${c.severity}`, text: c.severity })),
        el('td', { class: 'reason' }, el('button', { type: 'button', class: 'link', 'data-open': c.id, text: c.summary, onclick: () => openCase(c.id) }), el('div', { class: 'meta', text: `${c.kind}: ${c.rule}` })),
        el('td', {}, stateBadge(c), c.outcome ? el('div', { class: 'meta', text: label(c.outcome) }) : null),
        el('td', { class: 'mono', text: c.assignee ?? '—' }),
        el('td', { text: when(c.opened) }),
        el('td', { text: c.state === 'resolved' ? '—' : when(c.respondBy) }),
      ),
    );
  }
  if (data.cases.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No case matches.' })));
  $('cases-range').textContent = `${data.cases.length} of ${data.total}`;
}

/** Break-glass review cases of the last `days` days, by `chain-seq` (none for roles that may not see them). */
export async function breakGlassReviews(days) {
  const data = await api(`/api/cases?source=break-glass&days=${days}&limit=1000`);
  outcomes = data.outcomes;
  return new Map(data.cases.map((c) => [`${c.chain}-${c.seq}`, c]));
}

/** The break-glass log's review cell: the case's state and outcome, and a button opening it. */
export function reviewCell(reviews, entry) {
  const c = reviews.get(`${entry.chain}-${entry.seq}`);
  if (!c) return el('td', { class: 'muted', text: '—' });
  return el(
    'td',
    { 'data-review': c.state },
    stateBadge(c),
    c.outcome ? el('div', { text: label(c.outcome) }) : null,
    el('button', { type: 'button', class: 'link', 'aria-label': `Review the break-glass of ${entry.name ?? entry.staffId} on ${entry.recordId ?? 'no record'}`, text: 'Review', onclick: () => openCase(c.id) }),
  );
}

function fact(term, ...value) {
  return [el('dt', { text: term }), el('dd', {}, ...value)];
}

/** The evidence: a break-glass event's reason and context, or a finding's message and evidence. */
function evidence(kind, ev) {
  if (kind === 'break-glass') {
    const e = ev.event ?? {};
    const dl = el('dl', { class: 'facts' });
    dl.append(
      ...fact('Staff', `${e.actor?.name ?? ''} (${e.actor?.id ?? ''}, ${e.actor?.role ?? ''})`),
      ...fact('Record', e.subject?.recordId ?? '—'),
      ...fact('When', when(e.ts)),
      ...fact('Reason', el('strong', { text: e.reason?.code ?? '—' }), ' ', e.reason?.text ?? ''),
      ...fact('Context', e.reason?.context ?? '—'),
      ...fact('Incident', e.reason?.incidentRef ?? '—'),
      ...fact('Outcome', e.outcome ?? '—'),
      ...fact('Uploaded from', ev.uploadIp ?? '—'),
    );
    return dl;
  }
  return el('div', {}, el('p', { text: ev.message ?? '' }), el('pre', { class: 'evidence', tabindex: 0, 'aria-label': 'Evidence', text: JSON.stringify(ev.evidence, null, 2) }));
}

function step(s) {
  const what = s.op === 'resolve' ? `resolved: ${label(s.outcome)}` : s.op === 'assign' ? `assigned to ${s.assignee}` : s.op;
  return el('li', { 'data-op': s.op }, el('strong', { text: what }), ` by ${s.by.name ?? s.by.id} (${s.by.role}), ${when(s.time)}`, s.note ? el('div', { class: 'note', text: s.note }) : null);
}

function drawCase(view) {
  const c = view.case;
  current = c.id;
  outcomes = view.outcomes;
  $('case-view').hidden = false;
  $('case-view').dataset.case = c.id;
  $('case-view').dataset.state = c.state;
  $('case-title').textContent = `Case: ${c.summary}`;
  const facts = clear($('case-facts'));
  facts.append(
    ...fact('State', ...stateBadge(c)),
    ...fact('Severity', c.severity),
    ...fact('Kind', `${c.kind}: ${c.rule}`),
    ...fact('Assignee', c.assignee ?? 'nobody'),
    ...fact('Opened', when(c.opened)),
    ...fact('Respond by', when(c.respondBy)),
  );
  if (c.escalatedTo.length) facts.append(...fact('Escalated to', c.escalatedTo.join(', ')));
  if (c.outcome) facts.append(...fact('Outcome', label(c.outcome)), ...fact('Resolved', when(c.resolved)));
  clear($('case-evidence')).append(evidence(c.kind, view.evidence));
  const steps = clear($('case-steps'));
  steps.append(...view.steps.map(step));
  if (view.steps.length === 0) steps.append(el('li', { class: 'muted', text: 'Nobody has acted on this case yet.' }));
  const select = clear($('case-outcome'));
  select.append(el('option', { value: '', text: 'Choose an outcome' }), ...outcomes.map((o) => el('option', { value: o.id, text: o.label })));
  const may = view.may;
  $('case-ack').hidden = !may.acknowledge && !may.investigate;
  $('case-ack').querySelector('[data-op="acknowledge"]').disabled = !may.acknowledge;
  $('case-investigate').disabled = !may.investigate;
  $('case-assign').hidden = !may.assign;
  $('case-comment').hidden = !may.comment;
  $('case-resolve').hidden = !may.resolve;
  for (const row of document.querySelectorAll('#cases tr[data-case]')) row.classList.toggle('current', row.dataset.case === c.id);
}

/** Opens case `id` below the queue and moves focus to its title. */
export async function openCase(id) {
  await hooks.guarded('cases-panel', async () => {
    drawCase(await api(`/api/cases/${encodeURIComponent(id)}`));
    $('case-status').textContent = '';
    $('case-title').focus();
  });
}

/** Sends one action on the open case, then redraws it and the queue. */
async function act(op, body) {
  if (!current) return;
  const status = $('case-status');
  try {
    const view = await api(`/api/cases/${encodeURIComponent(current)}/${op}`, { body });
    drawCase(view);
    status.classList.remove('error');
    status.textContent = `Done: ${op}. The case is ${STATE_LABELS[view.case.state]}.`;
    for (const f of document.querySelectorAll('#case-actions form')) f.reset();
    // The control just used may be gone or disabled now: the case's title keeps the keyboard's place.
    $('case-title').focus();
    await hooks.guarded('cases-panel', loadCases);
    hooks.onChange();
  } catch (e) {
    status.classList.add('error');
    status.textContent = `Not done: ${e.message}`;
  }
}

/** Wires the filters and the action forms; `guarded` runs a loader showing its errors in the panel. */
export function initCases(options) {
  hooks = { ...hooks, ...options };
  $('cases-form').addEventListener('change', () => hooks.guarded('cases-panel', loadCases));
  $('cases-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('case-ack').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act('acknowledge', {});
  });
  $('case-investigate').addEventListener('click', () => act('investigate', {}));
  $('case-assign').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act('assign', { assignee: $('case-assignee').value.trim() });
  });
  $('case-comment').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act('comment', { note: $('case-comment-note').value });
  });
  $('case-resolve').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act('resolve', { outcome: $('case-outcome').value, note: $('case-resolve-note').value });
  });
}
