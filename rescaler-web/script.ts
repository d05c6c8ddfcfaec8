/**
 * The waiting page's in-page script, as the string the page inlines in a
 * <script> element. It is plain browser JavaScript kept in a string on
 * purpose: the Node build (`tsc -p .`, no DOM types) compiles nothing for the
 * browser, there is no bundler, and the page must stay a single self-contained
 * document. It is exercised in a real Chromium by test/rescaler-web/page.test.ts
 * and syntax-checked by test/rescaler-web/render.test.ts.
 *
 * What it does, and nothing else:
 * - polls `/_nozzle/status` (same origin; the activator answers for this
 *   Host) with backoff: 1 s after a change, growing to 5 s while nothing
 *   changes, doubling up to 30 s while the server cannot be reached;
 * - updates the server-rendered progress in place (text and <progress>
 *   values only change when they differ, so the live region announces real
 *   progress, not every poll) and sets `data-phase` on <main>, which the
 *   stylesheet uses to show the phase's texts;
 * - on `ready`, reloads: the activator then forwards the same URL to the app;
 *   also when the poll is answered by the app itself (no `x-nozzle-activator`
 *   header and not a 5xx): the takeover is gone and the app is serving;
 * - with a verified wake (`data-wake-token` on <main>), first confirms the
 *   wake: `POST /_nozzle/wake` with the token in `x-nozzle-wake-token`,
 *   retried with backoff (Retry-After when the activator gives one) until it
 *   is accepted, then polls; a refused token (403: expired) reloads the page
 *   for a fresh one.
 *
 * It never writes HTML: everything from the server goes through textContent.
 * Without JavaScript, the <noscript> meta refresh reloads the page instead.
 */
export const PAGE_SCRIPT = `
(() => {
  'use strict';
  const root = document.getElementById('nz');
  const list = document.getElementById('nz-list');
  const template = document.getElementById('nz-row');
  if (!root || !list || !template || typeof fetch !== 'function') return;
  const FAST = 1000, SLOW = 5000, MAX = 30000;
  const PHASES = ['sleeping', 'waking', 'ready', 'failed'];
  const loadedAt = Date.now();
  let delay = FAST, last = '', errors = 0, rows = 0;
  let elapsed = Number.parseFloat(root.getAttribute('data-elapsed-ms') || ''), elapsedAt = loadedAt;

  const setText = (el, value) => { if (el && el.textContent !== value) el.textContent = value; };
  const setAttr = (el, name, value) => { if (el && el.getAttribute(name) !== value) el.setAttribute(name, value); };
  const count = (n) => (typeof n === 'number' && n > 0 ? Math.floor(n) : 0);
  const duration = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60), r = s % 60;
    return r === 0 ? m + ' min' : m + ' min ' + r + ' s';
  };
  const showProgress = (box, ready, desired, noun) => {
    setText(box.querySelector('.nz-frac'), ready + '/' + desired);
    setText(box.querySelector('.nz-said'), ready + ' of ' + desired + ' ' + noun);
    const bar = box.querySelector('progress');
    if (!bar) return;
    setAttr(bar, 'max', String(Math.max(desired, 1)));
    setAttr(bar, 'value', String(ready));
    setAttr(bar, 'aria-valuetext', ready + ' of ' + desired + ' ' + noun);
  };
  const rowFor = (key) => {
    for (const li of list.children) if (li.getAttribute('data-key') === key) return li;
    const li = template.content.firstElementChild.cloneNode(true);
    const id = 'nz-js-' + rows++;
    li.querySelector('.nz-name').id = id;
    li.querySelector('progress').setAttribute('aria-labelledby', id);
    li.setAttribute('data-key', key);
    list.appendChild(li);
    return li;
  };
  const tick = () => {
    if (Number.isFinite(elapsed)) setText(document.getElementById('nz-elapsed'), duration(elapsed + Date.now() - elapsedAt));
  };
  const render = (s) => {
    let ready = 0, desired = 0;
    const seen = new Set();
    for (const w of s.workloads) {
      const d = count(w.desired), r = Math.min(count(w.ready), d);
      ready += r;
      desired += d;
      const li = rowFor(String(w.kind) + '/' + String(w.name));
      seen.add(li);
      setText(li.querySelector('.nz-name'), String(w.name));
      setText(li.querySelector('.nz-kind'), String(w.kind));
      showProgress(li, r, d, 'ready');
      setAttr(li, 'data-done', String(count(w.ready) >= d));
    }
    for (const li of Array.from(list.children)) if (!seen.has(li)) li.remove();
    showProgress(document.getElementById('nz-total'), ready, desired, 'replicas ready');
    if (typeof s.message === 'string' && s.message) setText(document.getElementById('nz-message'), s.message);
    if (typeof s.elapsedMs === 'number') {
      elapsed = s.elapsedMs;
      elapsedAt = Date.now();
      setAttr(document.getElementById('nz-elapsed-line'), 'data-known', 'true');
      tick();
    }
    setAttr(root, 'data-phase', s.phase);
    const title = root.getAttribute('data-title-' + s.phase);
    if (title && document.title !== title) document.title = title;
  };
  const schedule = (ms) => setTimeout(poll, ms * (0.8 + Math.random() * 0.4));
  const offline = (on) => { const el = document.getElementById('nz-offline'); if (el) el.hidden = !on; };
  const fromApp = (res) => !res.headers.get('x-nozzle-activator') && res.status < 500;
  const poll = () => {
    fetch('/_nozzle/status', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((res) => {
        if (fromApp(res)) {
          location.reload();
          return new Promise(() => {});
        }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then((s) => {
        if (!s || PHASES.indexOf(s.phase) < 0 || !Array.isArray(s.workloads)) throw new Error('not a status');
        errors = 0;
        offline(false);
        const key = JSON.stringify([s.phase, s.workloads, s.message]);
        delay = key === last ? Math.min(delay * 1.5, SLOW) : FAST;
        last = key;
        render(s);
        if (s.phase === 'ready') {
          setTimeout(() => location.reload(), Math.max(250, 1500 - (Date.now() - loadedAt)));
          return;
        }
        schedule(s.phase === 'failed' ? MAX : delay);
      })
      .catch(() => {
        errors += 1;
        if (errors >= 3) offline(true);
        delay = Math.min(Math.max(delay, FAST) * 2, MAX);
        schedule(delay);
      });
  };
  const confirmWake = (token, wait) => {
    fetch('/_nozzle/wake', {
      method: 'POST', cache: 'no-store', credentials: 'same-origin',
      headers: { Accept: 'application/json', 'x-nozzle-wake-token': token },
    })
      .then((res) => {
        if (fromApp(res)) return location.reload();
        if (res.ok) return schedule(FAST);
        if (res.status === 403) return void setTimeout(() => location.reload(), SLOW);
        const after = Number.parseInt(res.headers.get('retry-after') || '', 10) * 1000;
        const next = Math.min(Math.max(wait * 2, Number.isFinite(after) ? after : 0), MAX);
        setTimeout(() => confirmWake(token, next), next);
      })
      .catch(() => setTimeout(() => confirmWake(token, Math.min(wait * 2, MAX)), wait));
  };
  setInterval(tick, 1000);
  const token = root.getAttribute('data-wake-token');
  if (root.getAttribute('data-phase') === 'ready') setTimeout(() => location.reload(), 1500);
  else if (token) confirmWake(token, FAST);
  else schedule(FAST);
})();
`;
