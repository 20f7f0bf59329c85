// sealtrail review page, shared pieces: element builders (DOM and SVG from
// element APIs only, never from HTML strings, so the page runs under a strict
// CSP), formatting, and the collector's review API with the tab's token.

export const TOKEN_KEY = 'sealtrail.review.token';
const SVG_NS = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

/** An HTML element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function short(hash, n = 12) {
  return typeof hash === 'string' ? `${hash.slice(0, n)}…` : '—';
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function notice(text, isError = false) {
  const n = $('notice');
  n.textContent = text;
  n.classList.toggle('error', isError);
}

// ---- API ------------------------------------------------------------------

/** A refused or failed call: its HTTP status and the collector's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A review API call: GET, or POST of `body` as JSON; the parsed answer (`raw`: the response). */
export async function api(path, { raw = false, body } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const init = { headers: { Authorization: `Bearer ${token ?? ''}` }, cache: 'no-store' };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.message) message = body.message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(resp.status, message);
  }
  return raw ? resp : resp.json();
}

/** Saves what `path` answers as the file `name`; `what` names it in a failure. */
export async function download(path, name, what, done = `${what} downloaded as ${name}.`) {
  try {
    const blob = await (await api(path, { raw: true })).blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    notice(done);
  } catch (e) {
    notice(`${what} failed: ${e.message}`, true);
  }
}

/** Keeps `token` for this tab and asks the collector whose it is: the
 * answer of `/api/whoami`, or null (token dropped, notice shown). */
export async function signInAs(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    return await api('/api/whoami');
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    notice(e.status === 401 ? 'That token is not known to this collector.' : `Sign-in failed: ${e.message}`, true);
    return null;
  }
}

/** Shows who is signed in (`me`, the answer of `/api/whoami`) in place of the sign-in form. */
export function showSignedIn(me) {
  $('signin').hidden = true;
  $('whoami').hidden = false;
  $('me').textContent = `${me.name ?? me.userId} (${me.role})`;
}

/** Wires the sign-in form and the sign-out button. */
export function wireSignIn(signIn, signOut) {
  $('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (token) signIn(token);
  });
  $('signout').addEventListener('click', () => signOut());
}

/** Forgets the token, hides `ids` and shows the sign-in form with `message`. */
export function signedOut(message, ids) {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ids) $(id).hidden = true;
  $('signin').hidden = false;
  $('token').value = '';
  notice(message, message !== 'Signed out.');
}
