// sealtrail review page, the transparency-log panel: the published checkpoint
// and who signed it, and what this browser proves about it on every load,
// with WebCrypto alone (tlog-verify.js): the log's signature against the key
// pinned here on the first review, that every stored chain head is in the
// checkpoint (an inclusion proof per head, from the leaf the page computes
// out of the head the collector stores), and that the log only grew since
// the checkpoint kept from the last review (a consistency proof). The kept
// checkpoint lives in this browser's localStorage and moves forward only
// when everything about the new one holds; any failure is shown in an alert
// at the top of the page, never only in the panel.

import { $, el, clear, short, when, api } from './review-lib.js';
import { LogCheckError, parseKey, openCheckpoint, leafHash, verifyInclusion, verifyConsistency, fromBase64, toHex } from './tlog-verify.js';

/** Where the last verified checkpoint and the pinned key are kept (per collector origin). */
export const KEPT_KEY = 'sealtrail.review.log';

/** A signed checkpoint's body and signature lines, for display (the check is openCheckpoint). */
function readCheckpoint(note) {
  const [body, sigs = ''] = note.split('\n\n');
  const [origin, size, root] = body.split('\n');
  const signatures = sigs.split('\n').filter((l) => l.startsWith('— ')).map((l) => {
    const [, name, b64] = l.split(' ');
    let bytes = new Uint8Array();
    try {
      bytes = fromBase64(b64 ?? '', name);
    } catch {
      // Shown without a key ID; the check names the broken line.
    }
    // 4-byte key ID, then 64 bytes of Ed25519 (the log) or an 8-byte time and 64 bytes (a witness).
    const cosigned = bytes.length === 76 ? Number(new DataView(bytes.buffer).getBigUint64(4)) : null;
    return { name, keyId: toHex(bytes.subarray(0, 4)), cosigned };
  });
  return { origin, size, root, signatures };
}

function drawCheckpoint(note, logSigned) {
  const cp = readCheckpoint(note);
  const facts = clear($('log-checkpoint'));
  let rootHex = '';
  try {
    rootHex = toHex(fromBase64(cp.root ?? '', 'root'));
  } catch {
    rootHex = cp.root ?? '';
  }
  for (const [term, value, cls] of [['Log', cp.origin], ['Size', `${cp.size} events`], ['Root', rootHex, 'mono']]) {
    facts.append(el('dt', { text: term }), el('dd', { text: value, class: cls ?? '' }));
  }
  const body = clear($('log-signatures').tBodies[0]);
  for (const s of cp.signatures) {
    const witness = s.cosigned !== null;
    const kind = witness ? 'witness cosignature' : s.name === cp.origin ? 'log signature' : 'other signature';
    const checked = !witness && s.name === cp.origin ? (logSigned ? ' (verified here)' : ' (NOT verified)') : '';
    body.append(
      el(
        'tr',
        { 'data-signer': s.name },
        el('td', { text: s.name }),
        el('td', { text: kind, title: checked ? `${kind}${checked}` : '' }),
        el('td', { class: 'mono', text: s.keyId }),
        el('td', { text: witness ? when(new Date(s.cosigned * 1000).toISOString()) : '—' }),
      ),
    );
  }
  if (!cp.signatures.some((s) => s.cosigned !== null)) body.append(el('tr', {}, el('td', { colspan: 4, class: 'muted', text: 'No witness has cosigned this checkpoint.' })));
}

function readKept() {
  const text = localStorage.getItem(KEPT_KEY);
  if (text === null) return null;
  try {
    const kept = JSON.parse(text);
    if (typeof kept?.key === 'string' && typeof kept?.checkpoint === 'string') return kept;
  } catch {
    // Unreadable: treated as kept but broken, below.
  }
  return { broken: true };
}

const message = (e) => (e instanceof LogCheckError ? e.message : `could not check: ${e.message}`);

/** Most chain heads one review checks (the most recently changed; the API's own cap). */
export const HEADS_PER_REVIEW = 10_000;

/**
 * Loads `/api/tlog/heads`, draws the checkpoint and runs every check, on at
 * most `limit` chain heads: when more chains are stored, the review says the
 * others went unchecked (a failed check, never "every head").
 * Resolves with the failures (empty when everything holds).
 */
export async function checkLog(limit = HEADS_PER_REVIEW) {
  const data = await api(`/api/tlog/heads?limit=${limit}`);
  // A full page may not be all: one more head past it says whether any went unchecked.
  const more = data.heads.length >= limit && (await api(`/api/tlog/heads?limit=1&offset=${limit}`)).heads.length > 0;
  const checks = [];
  const failed = (id, text) => checks.push({ id, ok: false, text });
  const passed = (id, text) => checks.push({ id, ok: true, text });
  const kept = readKept();
  const now = new Date().toISOString();

  let key = null;
  let cp = null;
  try {
    key = await parseKey(data.key);
    if (kept?.broken) throw new LogCheckError('the checkpoint kept in this browser is unreadable: the log cannot be compared with the last review');
    if (kept && kept.key !== key.text) {
      throw new LogCheckError(`the collector now signs with the key ${key.text}, but this browser pinned ${kept.key} at its first review (${when(kept.pinned)}): another log, or the collector lost its key`);
    }
    cp = await openCheckpoint(data.checkpoint, key);
    passed('signature', `The checkpoint of ${cp.size} events is signed by the collector's log key ${key.text} (${kept ? `pinned in this browser since ${when(kept.pinned)}` : 'pinned in this browser now'}).`);
  } catch (e) {
    failed('signature', `Checkpoint signature: ${message(e)}.`);
  }
  drawCheckpoint(data.checkpoint ?? '', cp !== null);

  if (cp) {
    try {
      if (!kept) {
        passed('consistency', 'First review in this browser: this checkpoint is kept, and the next review proves the log only grew from it.');
      } else {
        const old = await openCheckpoint(kept.checkpoint, key);
        let proof = [];
        if (old.size > 0n && old.size < cp.size) {
          const text = await (await api(`/api/tlog/consistency?old=${old.size}&new=${cp.size}`, { raw: true })).text();
          proof = text.split('\n').filter((l) => l !== '').map((l) => fromBase64(l, 'the consistency proof'));
        }
        await verifyConsistency(old.size, cp.size, old.root, cp.root, proof);
        passed('consistency', `Consistent with the checkpoint of ${old.size} events kept from the review of ${when(kept.verified)}: the log only grew since.`);
      }
      localStorage.setItem(KEPT_KEY, JSON.stringify({ key: key.text, checkpoint: data.checkpoint, verified: now, pinned: kept?.pinned ?? now }));
    } catch (e) {
      failed('consistency', `Since the last review (${when(kept?.verified)}): ${message(e)}. The checkpoint kept then stays in this browser as evidence.`);
    }
  }

  const body = clear($('log-heads').tBodies[0]);
  let included = 0;
  let pending = 0;
  const broken = [];
  for (const h of data.heads) {
    let state = 'yes';
    let note = `leaf ${h.index}`;
    if (h.index === null) {
      state = 'no';
      note = 'not in the log';
      broken.push(`chain ${h.chain}: its head (seq ${h.seq}) is not in the log`);
    } else if (h.proof === null) {
      state = 'pending';
      note = `leaf ${h.index}, after this checkpoint`;
    } else if (!cp) {
      state = 'unchecked';
      note = `leaf ${h.index}, unchecked: the checkpoint did not verify`;
    } else {
      try {
        const leaf = await leafHash(h.chain, h.seq, h.hash);
        await verifyInclusion(h.index, cp.size, leaf, h.proof.map((p) => fromBase64(p, 'the inclusion proof')), cp.root);
      } catch (e) {
        state = 'no';
        note = `leaf ${h.index}: ${message(e)}`;
        broken.push(`chain ${h.chain}: its stored head (seq ${h.seq}) is not what the log holds at leaf ${h.index} (${message(e)}): the stored chain was changed after the log took it`);
      }
    }
    if (state === 'yes') included += 1;
    if (state === 'pending') pending += 1;
    body.append(
      el(
        'tr',
        { 'data-chain': h.chain, 'data-included': state },
        el('td', {}, el('span', { class: `badge ${state === 'no' ? 'outcome-denied' : ''}`, text: { yes: 'included', no: 'NOT INCLUDED', pending: 'pending', unchecked: 'unchecked' }[state] })),
        el('td', { class: 'mono', title: h.chain, text: short(h.chain, 10) }),
        el('td', { class: 'num', text: String(h.seq) }),
        el('td', { class: 'mono', title: h.hash ?? '', text: short(h.hash) }),
        el('td', { text: note }),
      ),
    );
  }
  if (data.heads.length === 0) body.append(el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'No chain head stored yet.' })));
  const read = data.heads.length.toLocaleString('en');
  const which = more ? `Every chain head read (of the ${read} most recently changed chains)` : 'Every stored chain head';
  if (broken.length > 0) failed('heads', `Chain heads: ${broken.length} of ${data.heads.length} not included in the checkpoint. ${broken.join('; ')}.`);
  else if (cp) passed('heads', `${which} is in the checkpoint: ${included} proven${pending ? `, ${pending} logged after it (checked at the next checkpoint)` : ''}.`);
  if (more) {
    failed('coverage', `Not every chain was checked: more than ${read} chains are stored, and this review read only the ${read} most recently changed (the most one review reads). The heads of the others went unchecked: nothing here says they are in the log.`);
  }

  const list = clear($('log-checks'));
  for (const c of checks) list.append(el('li', { 'data-check': c.id, 'data-ok': String(c.ok), text: c.text }));
  const failures = checks.filter((c) => !c.ok).map((c) => c.text);
  // What failed a proof, then what was not checked at all (not proof of misbehaviour, but not proof of anything).
  const broke = checks.filter((c) => !c.ok && c.id !== 'coverage').map((c) => c.text);
  const unchecked = checks.filter((c) => !c.ok && c.id === 'coverage').map((c) => c.text);
  const alert = $('log-alert');
  alert.textContent = [...(broke.length ? [`The collector's transparency log does not hold:\n${broke.join('\n')}`] : []), ...unchecked].join('\n');
  alert.hidden = failures.length === 0;
  return failures;
}
