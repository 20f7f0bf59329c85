// sealtrail patient access report: for one record, who accessed it, when,
// what kind of content and with what purpose, from the collector's
// `/api/records/{id}/report` (staff named as the policy says: names, roles
// or pseudonyms), printable (access-report.css) and downloadable as a FHIR
// AuditEvent Bundle. DOM from element APIs only, under a strict CSP.

import { $, el, clear, when, notice, api, download, signInAs, showSignedIn, wireSignIn, signedOut, ApiError, TOKEN_KEY } from './review-lib.js';

/** What each action means, in words a patient reads. */
const ACTIONS = {
  view: 'viewed the record',
  'view-sealed': 'opened the record; protected content stayed hidden',
  unseal: 'opened protected content',
  edit: 'changed the record',
  delete: 'deleted content',
  export: 'exported the record',
  print: 'printed the record',
  search: 'found the record in a search',
  'break-glass': 'emergency access (break the glass)',
  deny: 'was refused access',
  'step-up-required': 'was asked to confirm their identity',
};

/** Purposes of use (HL7 v3 ActReason) in words. */
const PURPOSES = {
  TREAT: 'care and treatment',
  ETREAT: 'emergency treatment',
  BTG: 'emergency access',
  HOPERAT: 'service operations',
  HPAYMT: 'payment',
  HRESCH: 'research',
  PUBHLTH: 'public health',
  HLEGAL: 'legal',
  COC: 'coordination of care',
  CAREMGT: 'care management',
};

const OUTCOMES = { success: 'done', denied: 'refused', cancelled: 'cancelled', error: 'failed' };

/** How the policy names staff, said on the report. */
const NAMING = {
  names: 'by name and role',
  roles: 'by role only',
  pseudonyms: 'by a stable pseudonym (the same person has the same pseudonym in every report) and role',
};

/** Most entries the report fetches (10 pages of the API's 1000). */
const MAX_ENTRIES = 10_000;
const PAGE = 1000;

/**
 * The pseudonym events name `recordId` by when the page ran with the
 * `recordPseudonymKey` option: `rp-` and the first 16 bytes of
 * HMAC-SHA256(key, recordId) in hex (as `sealtrail pseudonym` prints it),
 * computed with WebCrypto; the key (64 hex digits) is not kept.
 */
async function recordPseudonym(keyHex, recordId) {
  const bytes = Uint8Array.from(keyHex.match(/[0-9a-fA-F]{2}/g), (h) => parseInt(h, 16));
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const tag = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(recordId)));
  return `rp-${[...tag.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Every page of the report of `record` over `days`. */
async function fetchReport(record, days) {
  const path = (offset) => `/api/records/${encodeURIComponent(record)}/report?days=${days}&limit=${PAGE}&offset=${offset}`;
  const first = await api(path(0));
  const entries = [...first.entries];
  while (entries.length < first.total && entries.length < MAX_ENTRIES) {
    const next = await api(path(entries.length));
    if (next.entries.length === 0) break;
    entries.push(...next.entries);
  }
  return { ...first, entries };
}

function staffLabel(staff) {
  if (staff.name) return `${staff.name} (${staff.id}), ${staff.role}`;
  if (staff.id) return `${staff.id}, ${staff.role}`;
  if (staff.pseudonym) return `${staff.pseudonym}, ${staff.role}`;
  return staff.role;
}

/** The distinct people (or roles) of `entries`, as the report names them. */
function staffKey(staff) {
  return staff.id ?? staff.pseudonym ?? `role:${staff.role}`;
}

function contentCell(e) {
  const parts = [];
  if (e.recordType) parts.push(`${e.recordType} record`);
  if (e.fields.length > 0) parts.push(`fields: ${e.fields.join(', ')}`);
  if (e.noteTypes.length > 0) parts.push(`notes: ${e.noteTypes.join(', ')}`);
  if (e.labels.length > 0) parts.push(`sensitivity: ${e.labels.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : '—';
}

function purposeCell(e) {
  if (!e.purposeOfUse && !e.reasonCode) return '—';
  const purpose = e.purposeOfUse ? (PURPOSES[e.purposeOfUse] ?? e.purposeOfUse) : '';
  return [purpose, e.reasonCode ? `reason: ${e.reasonCode}` : ''].filter(Boolean).join('; ');
}

/** Draws `report`; `id` is the record id when the report is of its pseudonym. */
function render(report, days, id) {
  const { entries } = report;
  $('report-title').textContent = `Who accessed record ${id ?? report.recordId}`;
  const since = new Date(Date.now() - days * 86_400_000);
  const facts = clear($('report-facts'));
  const fact = (term, value) => facts.append(el('dt', { text: term }), el('dd', { text: value }));
  fact('Record', id ?? report.recordId);
  if (id) fact('Pseudonym', report.recordId);
  fact('Period', `${since.toLocaleDateString()} to ${new Date().toLocaleDateString()} (${days} days)`);
  fact('Produced', new Date().toLocaleString());
  fact('Staff shown', NAMING[report.staffNames] ?? report.staffNames);
  if (entries.length < report.total) fact('Note', `the first ${entries.length} of ${report.total} accesses are listed`);

  const totals = clear($('report-totals'));
  const tile = (key, n, label) => totals.append(el('div', { class: 'tile', 'data-total': key }, el('strong', { text: String(n) }), label));
  tile('accesses', report.total, 'accesses');
  tile('staff', new Set(entries.map((e) => staffKey(e.staff))).size, report.staffNames === 'roles' ? 'roles' : 'staff members');
  tile('emergency', entries.filter((e) => e.action === 'break-glass').length, 'emergency accesses');
  tile('refused', entries.filter((e) => e.outcome === 'denied').length, 'refused attempts');

  const body = clear($('accesses').tBodies[0]);
  for (const e of entries) {
    body.append(el('tr', { 'data-action': e.action },
      el('td', {}, when(e.time), el('span', { class: 'ref', text: `${e.chain.slice(0, 12)}… #${e.seq}` })),
      el('td', { text: staffLabel(e.staff) }),
      el('td', { text: ACTIONS[e.action] ?? e.action }),
      el('td', { text: contentCell(e) }),
      el('td', { text: purposeCell(e) }),
      el('td', { class: `outcome-${e.outcome}`, text: OUTCOMES[e.outcome] ?? e.outcome }),
    ));
  }
  if (entries.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No access to this record is recorded in this period.' })));
  $('report').hidden = false;
  $('report-title').focus();
}

let shown = null;

async function produce() {
  const id = $('record').value.trim();
  const keyHex = $('record-key').value.trim();
  $('record-key').value = '';
  const days = Number($('days').value);
  if (!id) return;
  if (keyHex && !/^[0-9a-fA-F]{64}$/.test(keyHex)) {
    notice('The pseudonym key must be 64 hex digits.', true);
    return;
  }
  notice('Producing the report…');
  try {
    const record = keyHex ? await recordPseudonym(keyHex, id) : id;
    const report = await fetchReport(record, days);
    shown = { record, days };
    render(report, days, record === id ? null : id);
    notice(`Report of record ${id}: ${report.total} accesses.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut('The token is no longer accepted: sign in again.');
    notice(e instanceof ApiError && e.status === 403 ? `Your role may not produce access reports: ${e.message}` : `Could not produce the report: ${e.message}`, true);
  }
}

async function signIn(token) {
  const me = await signInAs(token);
  if (!me) return;
  showSignedIn(me);
  $('report-form').hidden = false;
  notice('Enter the record id to report on.');
  $('record').focus();
}

function signOut(message = 'Signed out.') {
  shown = null;
  signedOut(message, ['report-form', 'report', 'whoami']);
}

function wire() {
  wireSignIn(signIn, signOut);
  $('report-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    produce();
  });
  $('print').addEventListener('click', () => window.print());
  $('fhir').addEventListener('click', () => {
    if (!shown) return;
    const { record, days } = shown;
    download(`/api/records/${encodeURIComponent(record)}/report?days=${days}&format=fhir&limit=${PAGE}`, `access-report-${record}.fhir.json`, 'The FHIR Bundle');
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
}

wire();
