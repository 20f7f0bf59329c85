// sealtrail quarterly review report: seed 003's five questions for one
// period, from the collector's GET /api/report, printable (the print rules
// of review.css and report.css) and downloadable as CSV or JSON. Built with DOM APIs
// only (review-lib.js), so it runs under the page's strict CSP.
//
// The period is whole UTC days, `from` to `to` inclusive, bounded by the
// collector's receive time. `?from=YYYY-MM-DD&to=YYYY-MM-DD` in the address
// picks it (default: the current quarter so far). The token is the review
// page's (kept for the tab); a headless print may hand it in the fragment,
// `#token=...`, which the page takes and removes at once (a fragment is
// never sent to a server).
import { $, el, clear, short, when, notice, api, download, signInAs, showSignedIn, wireSignIn, signedOut, ApiError, TOKEN_KEY } from './review-lib.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` of a Date, in UTC. */
const ymd = (d) => d.toISOString().slice(0, 10);

/** The period the address asks for, or the current quarter so far. */
function askedPeriod() {
  const q = new URLSearchParams(location.search);
  const now = new Date();
  const quarterStart = new Date(Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1));
  const from = q.get('from') ?? '';
  const to = q.get('to') ?? '';
  return { from: DAY.test(from) ? from : ymd(quarterStart), to: DAY.test(to) ? to : ymd(now) };
}

/** The API's query for whole days `from`..=`to` (UTC): `[from 00:00, to + 1 day 00:00)`. */
function query({ from, to }) {
  const end = new Date(`${to}T00:00:00.000Z`);
  end.setUTCDate(end.getUTCDate() + 1);
  return `from=${encodeURIComponent(`${from}T00:00:00.000Z`)}&to=${encodeURIComponent(end.toISOString())}`;
}

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);
const ratio = (x) => (x === null || x === undefined ? '—' : x.toFixed(2));
const num = (n) => el('td', { class: 'num' }, String(n));

/** A table with a caption, a header row and `rows` (arrays of cells: strings or `td`s). */
function table(caption, head, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  return el('table', { class: 'grid' },
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => (typeof c === 'string' ? el('td', {}, c) : c))))));
}

function section(n, title, ...body) {
  return el('section', { class: 'question', 'aria-labelledby': `q${n}` },
    el('h2', { id: `q${n}` }, `${n}. ${title}`), ...body);
}

function staffName(id, name) {
  return name ? `${name} (${id})` : id;
}

function caseRows(cases) {
  return cases.map((c) => [
    el('td', { class: 'mono', title: c.id }, short(c.id, 14)),
    c.rule,
    c.actorId ?? '—',
    c.recordId ?? '—',
    el('td', { class: 'reason' }, c.summary),
    c.outcomeLabel ?? c.state,
    when(c.resolved),
  ]);
}
const CASE_HEAD = ['Case', 'Rule', 'Staff', 'Record', 'Finding', 'Outcome', 'Resolved'];

function render(r, period) {
  const t = r.totals;
  const o = r.outcomes;
  const totals = [
    ['Break-glass attempts', t.breakGlass, 'breakGlass'],
    ['Break-glass granted', t.granted, 'granted'],
    ['Staff who used break-glass', t.staff, 'staff'],
    ['Cases opened', t.cases, 'cases'],
    ['Cases resolved with a documented outcome', t.resolved, 'resolved'],
    ['Cases still open', t.open, 'open'],
    ['Accesses found inappropriate', t.inappropriate, 'inappropriate'],
  ];
  return [
    el('h2', { class: 'title' }, `Quarterly review: ${period.from} to ${period.to}`),
    el('p', { class: 'meta' },
      `Period: ${r.period.from} (inclusive) to ${r.period.to} (exclusive), by the time the collector received each access. `,
      `Where cases stand is as of ${r.generated}.`),
    el('table', { class: 'grid totals', id: 'totals' },
      el('caption', {}, 'Totals'),
      el('tbody', {}, totals.map(([label, n, key]) => el('tr', { 'data-total': key }, el('th', { scope: 'row' }, label), num(n))))),
    section(1, 'Which staff have used break-glass access?',
      table('Staff who used break-glass', ['Staff', 'Role', 'Attempts', 'Granted', 'Refused', 'Records', 'Reviewed', 'Inappropriate'],
        r.staff.map((s) => [staffName(s.id, s.name), s.role, num(s.uses), num(s.granted), num(s.refused), num(s.records), num(s.reviewed), num(s.inappropriate)]),
        'Nobody used break-glass in this period.')),
    section(2, 'What were the documented reasons?',
      table('Attempts by reason code', ['Reason code', 'Attempts'],
        r.reasons.byCode.map((c) => [c.code ?? '(no reason asked: prompt exemption)', num(c.uses)]), 'No reasons in this period.'),
      table('Every attempt', ['Received', 'Staff', 'Record', 'Outcome', 'Reason', 'Review'],
        r.reasons.uses.map((u) => [
          when(u.received),
          staffName(u.staffId, u.staffName),
          u.recordId ?? '—',
          u.outcome,
          el('td', { class: 'reason' },
            el('strong', {}, u.reasonCode ?? (u.exemption ? `exempt: ${u.exemption}` : 'none')),
            u.reasonText ? ` ${u.reasonText}` : '',
            u.context ? el('span', { class: 'muted' }, ` (${u.context})`) : ''),
          u.reviewOutcome ?? u.review,
        ]), '')),
    section(3, 'Do patterns show disproportionate access to specific youth or demographics?',
      el('p', { class: 'meta' }, `${r.demographics.accesses} accesses carried demographics. A group's share of the records someone broke the glass on, over its share of all records accessed: above 1, over-represented.`),
      table('Demographic groups', ['Attribute', 'Group', 'Records', 'Share', 'Break-glass records', 'Share', 'Ratio'],
        r.demographics.groups.map((g) => [g.attribute, g.value, num(g.records), num(pct(g.recordShare)), num(g.breakGlassRecords), num(pct(g.breakGlassShare)), num(ratio(g.ratio))]),
        'No access in this period carried demographics.'),
      el('h3', {}, 'Demographic targeting alerts (each requires safeguarding review)'),
      table('Demographic targeting cases', CASE_HEAD, caseRows(r.demographics.targeting), 'None in this period.')),
    section(4, 'Were investigation and incident outcomes documented?',
      el('table', { class: 'grid', id: 'case-states' },
        el('caption', { class: 'visually-hidden' }, 'Cases by state'),
        el('tbody', {}, [
          ['Cases opened', o.cases], ['New', o.new], ['Acknowledged', o.acknowledged], ['Under investigation', o.underInvestigation],
          ['Resolved (outcome and note)', o.resolved], ['Overdue', o.overdue],
          ['Break-glass reviews', o.breakGlassReviews], ['Break-glass reviews resolved', o.breakGlassReviewed],
        ].map(([label, n]) => el('tr', {}, el('th', { scope: 'row' }, label), num(n))))),
      table('Resolved cases by outcome', ['Outcome', 'Cases'],
        o.byOutcome.map((b) => [b.inappropriate ? el('td', {}, el('strong', {}, b.label)) : b.label, num(b.cases)]), '')),
    section(5, 'Did any access appear inappropriate (denied after review)?',
      table('Accesses found inappropriate', CASE_HEAD, caseRows(r.inappropriate), 'No access was found inappropriate in this period.')),
  ];
}

let period = askedPeriod();

async function show() {
  const main = $('report');
  try {
    const r = await api(`/api/report?${query(period)}`);
    clear(main).append(...render(r, period));
    main.hidden = false;
    document.title = `sealtrail quarterly review ${period.from} to ${period.to}`;
    notice('Every read of this report is recorded in the collector\'s own audit chain.');
  } catch (e) {
    main.hidden = true;
    if (e instanceof ApiError && e.status === 401) return signOut('The token is no longer accepted: sign in again.');
    notice(e instanceof ApiError && e.status === 403 ? `Your role may not read the quarterly report: ${e.message}` : `The report could not be made: ${e.message}`, true);
  }
}

async function signIn(token) {
  const me = await signInAs(token);
  if (!me) return;
  showSignedIn(me);
  $('period').hidden = false;
  $('from').value = period.from;
  $('to').value = period.to;
  await show();
}

function signOut(message = 'Signed out.') {
  signedOut(message, ['period', 'report', 'whoami']);
}

function wire() {
  const handed = /^#token=([^&]+)$/.exec(location.hash);
  if (handed) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(handed[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  wireSignIn(signIn, signOut);
  $('period').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const [from, to] = [$('from').value, $('to').value];
    if (!DAY.test(from) || !DAY.test(to) || from > to) {
      notice('Choose a first day on or before the last day.', true);
      return;
    }
    period = { from, to };
    history.replaceState(null, '', `?from=${from}&to=${to}`);
    show();
  });
  $('print').addEventListener('click', () => window.print());
  const name = () => `sealtrail-review-${period.from}-${period.to}`;
  $('csv').addEventListener('click', () => download(`/api/report?${query(period)}&format=csv`, `${name()}.csv`, 'The report (CSV)'));
  $('json').addEventListener('click', () => download(`/api/report?${query(period)}`, `${name()}.json`, 'The report (JSON)'));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
}

wire();
