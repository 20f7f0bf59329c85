// sealtrail review page: reads the collector's review APIs with a bearer token
// (kept in sessionStorage, for this tab only) and draws chain status, alerts,
// the break-glass log with each one's review, access timelines, an
// after-hours heat map and the demographic access table; the case queue is
// review-cases.js. No framework; DOM and SVG are built with element
// APIs only (never from HTML strings), so the page runs under a strict CSP.

import { $, el, svg, clear, short, when, notice, api, download, signInAs, showSignedIn, wireSignIn, signedOut, ApiError, TOKEN_KEY } from './review-lib.js';
import { checkLog } from './review-log.js';
import { initCases, loadCases, openCase, breakGlassReviews, reviewCell } from './review-cases.js';

const SEVERITIES = ['critical', 'high', 'medium'];
const ACTION_COLOURS = {
  view: '#4a78c2',
  'view-sealed': '#7d8fa8',
  unseal: '#b35c00',
  'break-glass': '#a4161a',
  export: '#6a1b9a',
};
const OTHER_COLOUR = '#2b8a3e';

/** Runs a panel loader, showing its error in the panel's error line instead of failing the page. */
async function guarded(panelId, load) {
  const line = document.querySelector(`#${panelId} .panel-error`);
  try {
    await load();
    if (line) line.textContent = '';
  } catch (e) {
    const text = e instanceof ApiError && e.status === 403 ? `Your role may not read this: ${e.message}` : `Could not load: ${e.message}`;
    if (line) line.textContent = text;
    if (e instanceof ApiError && e.status === 401) signOut('The token is no longer accepted: sign in again.');
  }
}

// ---- chains -----------------------------------------------------------------

async function loadChains() {
  const data = await api('/api/chains');
  const tiles = clear($('chain-summary'));
  const labels = { verified: 'verified', tampered: 'tampered', 'anchor-ahead': 'anchor ahead of upload', empty: 'empty' };
  for (const status of ['verified', 'tampered', 'anchor-ahead', 'empty']) {
    const n = data.summary[status] ?? 0;
    if (n === 0 && status !== 'verified' && status !== 'tampered') continue;
    tiles.append(el('div', { class: `tile status-${status}`, 'data-status': status }, el('strong', { text: String(n) }), labels[status]));
  }
  const body = clear($('chains').tBodies[0]);
  for (const c of data.chains) {
    const result = el('span', { class: 'meta' });
    const verifyBtn = el('button', {
      type: 'button',
      text: 'Re-verify',
      onclick: async () => {
        result.textContent = ' verifying…';
        try {
          const v = await api(`/api/chains/${c.chain}/verify`);
          result.textContent = v.valid ? ` valid: ${v.events} events` : ` BROKEN at seq ${v.failure.seq}: ${v.failure.rule} (${v.failure.detail})`;
          result.className = v.valid ? 'outcome-success' : 'outcome-denied';
        } catch (e) {
          result.textContent = ` ${e.message}`;
        }
      },
    });
    const evidenceBtn = el('button', { type: 'button', text: 'Evidence', onclick: () => downloadEvidence(c.chain) });
    body.append(
      el(
        'tr',
        { 'data-chain': c.chain },
        el('td', {}, el('span', { class: `badge status-${c.status}`, text: c.status }), guaranteeNote(c)),
        el('td', { class: 'mono', title: c.chain, text: short(c.chain, 10) }),
        el('td', { class: 'num', text: String(c.events) }),
        el('td', { class: 'mono', title: c.head ?? '', text: short(c.head) }),
        el('td', { class: 'mono', text: c.anchor ? `seq ${c.anchor.seq} ${short(c.anchor.hash, 8)}` : '—' }),
        el('td', { text: when(c.lastTime) }),
        el('td', {}, verifyBtn, ' ', evidenceBtn, result),
      ),
    );
  }
  if (data.chains.length === 0) body.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: 'No chain uploaded yet.' })));
}

/** A chain's browser guarantees, marked when that browser could have lost events before uploading them. */
function guaranteeNote(c) {
  const g = c.guarantees ?? {};
  if (!g.durability && !g.storage) return el('span', { class: 'meta', text: ' browser did not say', title: 'An older module: no storage guarantees reported' });
  const title = `durability ${g.durability ?? 'unknown'}, storage ${g.storage ?? 'unknown'}`;
  return c.couldLose ? el('span', { class: 'badge could-lose', 'data-could-lose': 'true', title, text: 'could lose' }) : el('span', { class: 'meta', title, text: ' kept safely' });
}

async function downloadEvidence(chain) {
  const name = `sealtrail-${chain}.jsonl`;
  await download(`/api/evidence/${chain}`, name, 'Evidence export', `Evidence for chain ${chain} downloaded: verify it offline with \`sealtrail verify ${name}\`.`);
}

// ---- transparency log --------------------------------------------------------

let logChains = [];

async function loadLog() {
  await checkLog();
  logChains = (await api('/api/chains')).chains;
  const select = clear($('lp-chain'));
  for (const c of logChains) select.append(el('option', { value: c.chain, text: `${short(c.chain, 10)} (${c.events} events)` }));
  pickLogChain();
}

/** The proof form asks for the chosen chain's head by default. */
function pickLogChain() {
  const c = logChains.find((x) => x.chain === $('lp-chain').value);
  if (c) $('lp-seq').value = String(Math.max(0, c.events - 1));
}

// ---- alerts -----------------------------------------------------------------

async function loadAlerts() {
  const chosen = [...document.querySelectorAll('input[name="severity"]:checked')].map((i) => i.value);
  const target = clear($('alerts'));
  if (chosen.length === 0) {
    target.append(el('p', { class: 'muted', text: 'Choose at least one severity.' }));
    return;
  }
  const data = await api(`/api/alerts?severity=${chosen.join(',')}`);
  rememberIds(data.findings.map((f) => ({ staffId: f.actorId, recordId: f.recordId })));
  for (const sev of SEVERITIES.filter((s) => chosen.includes(s))) {
    const items = data.findings.filter((f) => f.severity === sev);
    // Focusable, so a keyboard can scroll a long list.
    const list = el('ul', { tabindex: 0, 'aria-label': `${sev} findings` });
    for (const f of items) {
      const when_ = f.evidence && f.evidence.at ? f.evidence.at : f.created;
      list.append(
        el(
          'li',
          { 'data-rule': f.rule, 'data-kind': f.kind },
          el('span', { class: 'rule', text: f.kind === 'alert' ? f.rule : `${f.kind}: ${f.rule}` }),
          ' ',
          // A pattern for a person to judge (demographic targeting), never a verdict.
          f.evidence?.safeguardingReview ? [el('span', { class: 'badge review-needed', text: 'requires safeguarding review' }), ' '] : null,
          el('span', { text: f.message }),
          el('div', {
            class: 'meta',
            text: [when(when_), f.actorId && `staff ${f.actorId}`, f.recordId && `record ${f.recordId}`, f.chain && `chain ${short(f.chain, 8)} seq ${f.seq}`]
              .filter(Boolean)
              .join(' · '),
          }),
        ),
      );
    }
    if (items.length === 0) list.append(el('li', { class: 'muted', text: 'None.' }));
    target.append(el('div', { class: `severity severity-${sev}`, 'data-severity': sev }, el('h3', { text: `${sev[0].toUpperCase()}${sev.slice(1)} (${items.length})` }), list));
  }
}

// ---- break-glass log --------------------------------------------------------

/**
 * The address a break-glass came from: the one the collector saw the batch
 * come from (`uploadIp`), and the event's own `session.ip` beside it when
 * the page reported one that differs.
 */
function ipCell(e) {
  const seen = e.uploadIp ?? e.ip ?? '';
  const cell = el('td', { class: 'mono', text: seen });
  if (e.uploadIp && e.ip && e.ip !== e.uploadIp) cell.append(el('div', { class: 'meta', text: `session says ${e.ip}` }));
  return cell;
}

const BG_LIMIT = 25;
let bgOffset = 0;

async function loadBreakGlass() {
  const days = $('bg-days').value;
  const [data, reviews] = await Promise.all([api(`/api/break-glass/audit-log?days=${days}&limit=${BG_LIMIT}&offset=${bgOffset}`), breakGlassReviews(days)]);
  const body = clear($('breakglass').tBodies[0]);
  for (const e of data.entries) {
    body.append(
      el(
        'tr',
        {},
        el('td', { text: when(e.time) }),
        el('td', {}, e.name ?? '', el('div', { class: 'meta mono', text: e.staffId ?? '' })),
        el('td', { text: e.role ?? '' }),
        el('td', { class: 'mono', text: e.recordId ?? '—' }),
        el('td', { class: 'reason' }, el('strong', { text: e.reasonCode ?? '—' }), el('div', { text: e.reasonText ?? '' })),
        el('td', { class: 'reason', text: e.context ?? '' }),
        el('td', { text: e.incidentRef ?? '' }),
        ipCell(e),
        el('td', { class: `outcome-${e.outcome}`, text: e.outcome ?? '' }),
        reviewCell(reviews, e),
      ),
    );
  }
  if (data.entries.length === 0) body.append(el('tr', {}, el('td', { colspan: 10, class: 'muted', text: 'No break-glass access in this period.' })));
  const last = Math.min(bgOffset + data.entries.length, data.total);
  $('bg-range').textContent = data.total === 0 ? '' : `${bgOffset + 1}–${last} of ${data.total}`;
  $('bg-prev').disabled = bgOffset === 0;
  $('bg-next').disabled = last >= data.total;
  rememberIds(data.entries);
}

// ---- timeline -----------------------------------------------------------------

const knownIds = { staff: new Set(), records: new Set() };

function rememberIds(entries) {
  for (const e of entries) {
    if (e.staffId) knownIds.staff.add(e.staffId);
    if (e.recordId) knownIds.records.add(e.recordId);
  }
  fillIdList();
}

function fillIdList() {
  const kind = $('tl-kind').value;
  const list = clear($('tl-ids'));
  for (const id of [...knownIds[kind]].sort()) list.append(el('option', { value: id }));
}

async function loadTimeline(kind, id, days) {
  const target = clear($('timeline'));
  const data = await api(`/api/${kind}/${encodeURIComponent(id)}/access?days=${days}&limit=1000`);
  rememberIds(data.entries);
  if (data.entries.length === 0) {
    target.append(el('p', { class: 'muted', text: `No access ${kind === 'staff' ? 'by' : 'to'} ${id} in the last ${days} days.` }));
    return;
  }
  // One row per counterpart: records for a staff member, staff for a record.
  const rowKey = (e) => (kind === 'staff' ? e.recordId ?? '(no record)' : `${e.name ?? e.staffId} (${e.role})`);
  const rows = [...new Set(data.entries.map(rowKey))].sort();
  // The axis spans the data (events may be stamped by clocks ahead of this
  // one), at least an hour, with a little room at both ends.
  const times = data.entries.map((e) => Date.parse(e.time)).filter((t) => !Number.isNaN(t));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const span = Math.max(hi - lo, 3_600_000);
  const start = lo - span * 0.04;
  const now = lo + span * 1.04;
  const W = 900;
  const left = 240;
  const right = 44;
  const rowH = 22;
  const top = 10;
  const H = top + rows.length * rowH + 34;
  const x = (t) => left + ((t - start) / (now - start)) * (W - left - right);
  const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Access timeline ${kind === 'staff' ? 'of staff member' : 'of record'} ${id}` });
  plot.append(svg('title', { text: `${data.total} accesses ${kind === 'staff' ? 'by' : 'to'} ${id}, last ${days} days` }));
  // Time axis with ticks.
  const axisY = top + rows.length * rowH + 4;
  plot.append(svg('line', { class: 'axis', x1: left, y1: axisY, x2: W - right, y2: axisY }));
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = start + ((now - start) * i) / ticks;
    const tx = x(t);
    plot.append(svg('line', { class: 'gridline', x1: tx, y1: top, x2: tx, y2: axisY }));
    const d = new Date(t);
    const label = span <= 2 * 86_400_000 ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
    plot.append(svg('text', { x: tx, y: axisY + 16, 'text-anchor': 'middle', text: label }));
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    plot.append(svg('line', { class: 'gridline', x1: left, y1: y, x2: W - right, y2: y }));
    plot.append(svg('text', { x: left - 8, y: y + 4, 'text-anchor': 'end', text: r.length > 34 ? `${r.slice(0, 33)}…` : r }));
  });
  for (const e of data.entries) {
    const t = Date.parse(e.time);
    if (Number.isNaN(t)) continue;
    const y = top + rows.indexOf(rowKey(e)) * rowH + rowH / 2;
    const colour = ACTION_COLOURS[e.action] ?? OTHER_COLOUR;
    const refused = e.outcome !== 'success';
    const dot = svg('circle', {
      cx: x(t).toFixed(1),
      cy: y,
      r: e.action === 'break-glass' ? 6 : 4.5,
      fill: refused ? '#fff' : colour,
      stroke: colour,
      'stroke-width': refused ? 2.5 : 1,
      'data-action': e.action,
    });
    const from = e.uploadIp ?? e.ip;
    dot.append(svg('title', { text: `${when(e.time)} · ${e.action} (${e.outcome}) · ${kind === 'staff' ? e.recordId ?? '' : e.staffId}${e.reasonCode ? ` · reason ${e.reasonCode}` : ''}${from ? ` · from ${from}` : ''}` }));
    plot.append(dot);
  }
  target.append(plot, legend());
  if (data.total > data.entries.length) target.append(el('p', { class: 'meta', text: `Showing the newest ${data.entries.length} of ${data.total}.` }));
}

function legend() {
  const items = Object.keys(ACTION_COLOURS).map((a) => el('span', {}, el('span', { class: `swatch sw-${a}` }), a));
  items.push(el('span', {}, el('span', { class: 'swatch sw-other' }), 'other'));
  items.push(el('span', {}, el('span', { class: 'swatch sw-denied' }), 'refused or cancelled (hollow)'));
  return el('div', { class: 'legend' }, items);
}

// ---- heat map ---------------------------------------------------------------

async function loadHeatmap() {
  const days = $('hm-days').value;
  const action = $('hm-action').value;
  const data = await api(`/api/stats/hours?days=${days}${action ? `&action=${encodeURIComponent(action)}` : ''}`);
  const target = clear($('heatmap'));
  const counts = data.counts;
  const max = Math.max(1, ...counts.flat());
  const bh = data.businessHours ?? {};
  const inHours = (d, h) => {
    const day = data.weekdays[d];
    const start = parseInt((bh.start ?? '08:00').slice(0, 2), 10);
    const end = parseInt((bh.end ?? '18:00').slice(0, 2), 10);
    return (bh.days ?? []).includes(day) && h >= start && h < end;
  };
  const cell = 30;
  const left = 44;
  const top = 22;
  const W = left + 24 * cell + 10;
  const H = top + 7 * cell + 10;
  const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Accesses by weekday and hour, ${data.timeZone}` });
  plot.append(svg('title', { text: `Accesses by weekday and hour (${data.timeZone}), last ${days} days; outlined cells are business hours` }));
  for (let h = 0; h < 24; h += 3) plot.append(svg('text', { x: left + h * cell + cell / 2, y: 14, 'text-anchor': 'middle', text: `${String(h).padStart(2, '0')}h` }));
  let offHours = 0;
  let total = 0;
  counts.forEach((row, d) => {
    plot.append(svg('text', { x: left - 6, y: top + d * cell + cell / 2 + 4, 'text-anchor': 'end', text: data.weekdays[d] }));
    row.forEach((n, h) => {
      total += n;
      const business = inHours(d, h);
      if (!business) offHours += n;
      // Off-hours cells use a red scale, business hours a blue one.
      const a = n === 0 ? 0 : 0.15 + 0.85 * (n / max);
      const fill = n === 0 ? '#f3f5f8' : business ? `rgba(74, 120, 194, ${a.toFixed(2)})` : `rgba(164, 22, 26, ${a.toFixed(2)})`;
      const rect = svg('rect', { x: left + h * cell + 1, y: top + d * cell + 1, width: cell - 2, height: cell - 2, rx: 3, fill, 'data-count': n });
      rect.append(svg('title', { text: `${data.weekdays[d]} ${String(h).padStart(2, '0')}:00–${String(h + 1).padStart(2, '0')}:00: ${n} access${n === 1 ? '' : 'es'}${business ? '' : ' (outside business hours)'}` }));
      plot.append(rect);
      if (n > 0) plot.append(svg('text', { x: left + h * cell + cell / 2, y: top + d * cell + cell / 2 + 4, 'text-anchor': 'middle', text: String(n) }));
      if (business) plot.append(svg('rect', { class: 'in-hours', x: left + h * cell + 1, y: top + d * cell + 1, width: cell - 2, height: cell - 2, rx: 3 }));
    });
  });
  const share = total === 0 ? 0 : Math.round((100 * offHours) / total);
  target.append(
    plot,
    el('p', { class: 'meta', text: `${total} accesses, ${offHours} (${share}%) outside business hours (${(bh.days ?? []).join(', ')} ${bh.start ?? ''}–${bh.end ?? ''}, ${data.timeZone}). Red cells are outside business hours.` }),
  );
}

// ---- demographics -----------------------------------------------------------

async function loadDemographics() {
  const days = $('dm-days').value;
  const data = await api(`/api/stats/demographics?days=${days}`);
  const body = clear($('demographics').tBodies[0]);
  const perAttr = {};
  for (const g of data.groups) perAttr[g.attribute] = (perAttr[g.attribute] ?? 0) + g.accesses;
  for (const g of data.groups) {
    const share = perAttr[g.attribute] ? g.accesses / perAttr[g.attribute] : 0;
    const bar = svg('svg', { viewBox: '0 0 100 10', role: 'img', 'aria-label': `${Math.round(share * 100)}%` }, svg('rect', { x: 0, y: 0, width: 100, height: 10, fill: '#eef1f5' }), svg('rect', { x: 0, y: 0, width: (share * 100).toFixed(1), height: 10, fill: '#4a78c2' }));
    body.append(
      el(
        'tr',
        {},
        el('td', { text: g.attribute }),
        el('td', { text: g.value }),
        el('td', { class: 'num', text: String(g.accesses) }),
        el('td', { class: 'bar-cell' }, bar, ` ${Math.round(share * 100)}%`),
        el('td', { class: 'num', text: String(g.breakGlass) }),
        el('td', { class: 'num', text: String(g.unassigned) }),
        el('td', { class: 'num', text: String(g.staff) }),
        el('td', { class: 'num', text: String(g.records) }),
      ),
    );
  }
  if (data.groups.length === 0) body.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No event in this period carries demographics.' })));
}

// ---- page -------------------------------------------------------------------

let me = null;

async function loadAll() {
  const jobs = [];
  if (me.canReview) jobs.push(guarded('chains-panel', loadChains), guarded('log-panel', loadLog), guarded('heatmap-panel', loadHeatmap), guarded('demographics-panel', loadDemographics));
  if (me.canReadAlerts) jobs.push(guarded('alerts-panel', loadAlerts), guarded('cases-panel', loadCases));
  if (me.canReadBreakGlassLog) jobs.push(guarded('breakglass-panel', loadBreakGlass));
  await Promise.all(jobs);
  notice(`Loaded ${new Date().toLocaleTimeString()}.`);
}

function showPanels() {
  $('chains-panel').hidden = !me.canReview;
  $('log-panel').hidden = !me.canReview;
  $('heatmap-panel').hidden = !me.canReview;
  $('demographics-panel').hidden = !me.canReview;
  $('timeline-panel').hidden = !me.canReview;
  $('alerts-panel').hidden = !me.canReadAlerts;
  $('cases-panel').hidden = !me.canReadAlerts;
  $('breakglass-panel').hidden = !me.canReadBreakGlassLog;
}

async function signIn(token) {
  me = await signInAs(token);
  if (!me) return;
  showSignedIn(me);
  $('logged-note').hidden = false;
  $('panels').hidden = false;
  showPanels();
  await loadAll();
  const asked = /^#case=([\w-]+)$/.exec(location.hash);
  if (asked && me.canReadAlerts) await openCase(asked[1]);
}

function signOut(message = 'Signed out.') {
  me = null;
  signedOut(message, ['panels', 'whoami', 'logged-note']);
}

function wire() {
  wireSignIn(signIn, signOut);
  $('refresh').addEventListener('click', () => loadAll());
  initCases({ guarded, onChange: () => me?.canReadBreakGlassLog && guarded('breakglass-panel', loadBreakGlass) });
  for (const box of document.querySelectorAll('input[name="severity"]')) box.addEventListener('change', () => guarded('alerts-panel', loadAlerts));
  $('bg-days').addEventListener('change', () => {
    bgOffset = 0;
    guarded('breakglass-panel', loadBreakGlass);
  });
  $('bg-prev').addEventListener('click', () => {
    bgOffset = Math.max(0, bgOffset - BG_LIMIT);
    guarded('breakglass-panel', loadBreakGlass);
  });
  $('bg-next').addEventListener('click', () => {
    bgOffset += BG_LIMIT;
    guarded('breakglass-panel', loadBreakGlass);
  });
  $('tl-kind').addEventListener('change', fillIdList);
  $('lp-chain').addEventListener('change', pickLogChain);
  $('lp-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const [chain, seq] = [$('lp-chain').value, $('lp-seq').value];
    download(`/api/tlog/proof?chain=${encodeURIComponent(chain)}&seq=${encodeURIComponent(seq)}`, `sealtrail-${chain}-${seq}.tlog-proof`, `The log proof of event ${seq} of chain ${chain}`);
  });
  $('lp-checkpoint').addEventListener('click', () => download('/api/checkpoint', 'checkpoint.txt', 'The checkpoint'));
  $('tl-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('tl-id').value.trim();
    if (id) guarded('timeline-panel', () => loadTimeline($('tl-kind').value, id, Number($('tl-days').value)));
  });
  $('hm-form').addEventListener('change', () => guarded('heatmap-panel', loadHeatmap));
  $('dm-form').addEventListener('change', () => guarded('demographics-panel', loadDemographics));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
}

wire();
