/**
 * The rescaler waiting page as a string: escaping, each phase, self-containment (no
 * external URLs, a CSP whose hashes match the inline style and script), the
 * no-JavaScript refresh, progress numbers, and colour contrast.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { html } from '../../rescaler-web/escape.js';
import { formatDuration, totals } from '../../rescaler-web/format.js';
import { CONTENT_SECURITY_POLICY, REFRESH_SECONDS, renderWaitingPage } from '../../rescaler-web/page.js';
import { contrastPairs, contrastRatio, dark, light } from '../../rescaler-web/palette.js';
import { PAGE_SCRIPT } from '../../rescaler-web/script.js';
import type { WakePhase, WakeStatus } from '../../rescaler-web/status.js';

const status: WakeStatus = {
  namespace: 'shop-preview',
  host: 'shop.preview.example.com',
  phase: 'waking',
  startedAt: '2025-01-01T12:00:00Z',
  elapsedMs: 14_200,
  timeoutMs: 120_000,
  workloads: [
    { kind: 'Deployment', name: 'web', ready: 2, desired: 3 },
    { kind: 'Deployment', name: 'api', ready: 1, desired: 1 },
    { kind: 'StatefulSet', name: 'postgres', ready: 0, desired: 1 },
  ],
};

const phases: readonly WakePhase[] = ['sleeping', 'waking', 'ready', 'failed'];

/** The document's markup without its inline stylesheet and script. */
function markup(page: string): string {
  return page.replace(/<style>[^]*?<\/style>/, '').replace(/<script>[^]*?<\/script>/, '');
}

function between(page: string, open: string, close: string): string {
  const start = page.indexOf(open);
  const end = page.indexOf(close, start + open.length);
  if (start < 0 || end < 0) throw new Error(`no ${open}…${close} in the page`);
  return page.slice(start + open.length, end);
}

const refreshMeta = /<meta http-equiv="refresh" content="(\d+)">/g;

test('html() escapes the characters that matter in content and attributes', (t) => {
  t.is(
    html(`<a href="x" title='y'>&\`</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
  );
  t.is(html(42), '42');
  t.is(html('plain-name.example.com'), 'plain-name.example.com');
});

test('everything from outside is escaped, in every phase', (t) => {
  const evil = {
    host: '<img src=x onerror=alert(1)>.example.com',
    namespace: '"><script>alert(2)</script>',
    workload: `</li><svg onload=alert(3)>'"`,
    message: '<iframe src="javascript:alert(4)"></iframe>',
  };
  const hostile: WakeStatus = {
    ...status,
    host: evil.host,
    namespace: evil.namespace,
    message: evil.message,
    workloads: [{ kind: 'Deployment', name: evil.workload, ready: 0, desired: 1 }],
  };
  const pages = phases.map((phase) => renderWaitingPage({ ...hostile, phase }));
  for (const page of pages) {
    for (const raw of Object.values(evil)) t.false(page.includes(raw), `raw ${raw} in the page`);
    // No element but the page's own: its one <svg> is the logo, its one <script> its own.
    t.false(/<(img|iframe|script)\b/.test(markup(page)));
    t.is((markup(page).match(/<svg\b/g) ?? []).length, 1);
  }
  const failed = renderWaitingPage({ ...hostile, phase: 'failed' });
  t.true(failed.includes(html(evil.host)));
  t.true(failed.includes(html(evil.namespace)));
  t.true(failed.includes(html(evil.workload)));
  t.true(failed.includes(html(evil.message)));
});

test('the waiting page says which app and namespace, and shows each workload’s progress', (t) => {
  const page = renderWaitingPage(status);
  t.is(between(page, '<h1>', '</h1>'), 'shop.preview.example.com');
  t.true(page.includes('<title>Waking up shop.preview.example.com</title>'));
  t.true(page.includes('The <code>shop-preview</code> namespace was asleep'));
  t.regex(page, /<header class="nz-header">/);
  t.regex(page, /<main id="nz" data-phase="waking"/);
  t.regex(page, /<footer class="nz-footer">/);
  t.regex(page, /<html lang="en">/);
  t.regex(page, /<meta name="viewport" content="width=device-width, initial-scale=1">/);

  const live = between(page, '<div id="nz-live" aria-live="polite">', '<template');
  for (const [name, frac, said] of [
    ['web', '2/3', '2 of 3 ready'],
    ['api', '1/1', '1 of 1 ready'],
    ['postgres', '0/1', '0 of 1 ready'],
  ] as const) {
    const row = new RegExp(
      `<span class="nz-name" id="(nz-w\\d)">${name}</span>[^]*?` +
        `<span class="nz-frac" aria-hidden="true">${frac}</span><span class="nz-said nz-sr">${said}</span>[^]*?` +
        `<progress max="${frac.split('/')[1]}" value="${frac.split('/')[0]}" aria-labelledby="\\1" aria-valuetext="${said}">`,
    );
    t.regex(live, row, name);
  }
  t.regex(
    live,
    /<progress max="5" value="3" aria-labelledby="nz-total-label" aria-valuetext="3 of 5 replicas ready">/,
  );
  t.regex(page, /data-key="Deployment\/api" data-done="true"/);
  t.regex(page, /data-key="StatefulSet\/postgres" data-done="false"/);
  t.regex(page, /Started <span id="nz-elapsed">14 s<\/span> ago\. <\/span>This can take up to 2 min\./);
});

test('each phase: its marker, title, and the refresh it needs without JavaScript', (t) => {
  const expected: Record<WakePhase, { title: string; refresh: string | undefined }> = {
    sleeping: { title: 'Waking up shop.preview.example.com', refresh: String(REFRESH_SECONDS) },
    waking: { title: 'Waking up shop.preview.example.com', refresh: String(REFRESH_SECONDS) },
    ready: { title: 'shop.preview.example.com is ready', refresh: '1' },
    failed: { title: 'shop.preview.example.com didn’t start', refresh: undefined },
  };
  for (const phase of phases) {
    const page = renderWaitingPage({ ...status, phase });
    t.regex(page, new RegExp(`<main id="nz" data-phase="${phase}"`), phase);
    t.is(between(page, '<title>', '</title>'), expected[phase].title, phase);
    const refreshes = [...page.matchAll(refreshMeta)].map((m) => m[1]);
    t.deepEqual(refreshes, expected[phase].refresh ? [expected[phase].refresh] : [], phase);
    // Every phase's texts are in the page, so the script can switch phases in place.
    for (const shown of ['data-show="sleeping waking"', 'data-show="ready"', 'data-show="failed"']) {
      t.true(page.includes(shown), `${phase}: ${shown}`);
    }
  }
});

test('the no-JavaScript refresh sits in <noscript> in <head>, so it never fires with JavaScript on', (t) => {
  const head = between(renderWaitingPage(status), '<head>', '</head>');
  t.true(head.includes(`<noscript><meta http-equiv="refresh" content="${REFRESH_SECONDS}"></noscript>`));
  t.is([...renderWaitingPage(status).matchAll(refreshMeta)].length, 1);
  t.true(REFRESH_SECONDS >= 2 && REFRESH_SECONDS <= 10, 'every few seconds');
});

test('sleeping before the wake started: no elapsed time shown', (t) => {
  const rest: WakeStatus = {
    namespace: status.namespace,
    host: status.host,
    phase: 'sleeping',
    timeoutMs: 120_000,
    workloads: status.workloads,
  };
  const page = renderWaitingPage(rest);
  t.regex(page, /id="nz-elapsed-line" data-show="sleeping waking" data-known="false"/);
  t.regex(page, /data-elapsed-ms=""/);
});

test('failed: the activator’s message, what to do, and a way to try again', (t) => {
  const message = 'postgres (StatefulSet) had 0 of 1 replicas ready after 2 min.';
  const page = renderWaitingPage({ ...status, phase: 'failed', message });
  t.is(between(page, '<p class="nz-message" id="nz-message">', '</p>'), message);
  t.regex(page, /<div class="nz-failed" data-show="failed" role="alert">/);
  t.true(page.includes('The <code>shop-preview</code> namespace did not become ready within 2 min.'));
  t.true(page.includes('What you can do'));
  t.true(page.includes('<a class="nz-button" href="">Try again</a>'));
  t.true(page.includes('kubectl -n shop-preview get pods'));
  t.regex(page, /<span class="nz-notready" data-show="failed">not ready<\/span>/);
});

test('failed without a message: a default that points at what is marked not ready', (t) => {
  const page = renderWaitingPage({ ...status, phase: 'failed' });
  t.is(
    between(page, '<p class="nz-message" id="nz-message">', '</p>'),
    'Not everything was ready after 2 min. What was not ready is marked below.',
  );
});

test('no external assets: no URLs, no links, nothing to load but the same-origin status and wake', (t) => {
  const pages = phases.map((phase) => renderWaitingPage({ ...status, phase }));
  for (const page of pages) {
    t.false(/https?:|\/\/[a-z0-9]/i.test(markup(page)), 'no absolute or protocol-relative URL');
    t.false(/<(link|img|iframe|object|embed|base|form)\b/i.test(page));
    t.false(/\bsrc=/i.test(page));
    for (const [, href] of page.matchAll(/href="([^"]*)"/g)) t.is(href, '', 'only links to this same URL');
    t.false(/url\(|@import/i.test(between(page, '<style>', '</style>')), 'the stylesheet loads nothing');
  }
  const fetched = [...PAGE_SCRIPT.matchAll(/fetch\(\s*'([^']*)'/g)].map((m) => m[1]);
  t.deepEqual(fetched, ['/_nozzle/status', '/_nozzle/wake']);
  t.false(/https?:|\/\/[a-z0-9]/i.test(PAGE_SCRIPT.replace(/^\s*\/\/.*$/gm, '')));
});

test('the CSP allows exactly the inline style and script, by hash, and same-origin fetch', (t) => {
  const page = renderWaitingPage(status);
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const style = between(page, '<style>', '</style>');
  const script = between(page, '<script>', '</script>');
  t.is(script, PAGE_SCRIPT);
  t.true(CONTENT_SECURITY_POLICY.includes(`style-src ${hash(style)}`));
  t.true(CONTENT_SECURITY_POLICY.includes(`script-src ${hash(script)}`));
  t.true(CONTENT_SECURITY_POLICY.startsWith("default-src 'none'"));
  t.true(CONTENT_SECURITY_POLICY.includes("connect-src 'self'"));
  t.true(
    page.includes(`<meta http-equiv="Content-Security-Policy" content="${html(CONTENT_SECURITY_POLICY)}">`),
  );
});

test('the in-page script parses, never writes HTML, and reloads on ready', (t) => {
  t.notThrows(() => new Script(PAGE_SCRIPT, { filename: 'rescaler-page-script.js' }));
  t.false(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/.test(PAGE_SCRIPT));
  t.true(PAGE_SCRIPT.includes("s.phase === 'ready'"));
  t.true(PAGE_SCRIPT.includes('location.reload()'));
  t.true(PAGE_SCRIPT.length < 6_000, `small (${PAGE_SCRIPT.length} characters)`);
});

test('progress numbers: ready is capped at desired and never negative', (t) => {
  const odd: WakeStatus = {
    ...status,
    workloads: [
      { kind: 'Deployment', name: 'over', ready: 5, desired: 2 },
      { kind: 'Deployment', name: 'under', ready: -1, desired: 2 },
      { kind: 'StatefulSet', name: 'zero', ready: 0, desired: 0 },
    ],
  };
  t.deepEqual(totals(odd.workloads), { ready: 2, desired: 4 });
  const page = renderWaitingPage(odd);
  t.regex(page, /data-key="Deployment\/over" data-done="true">[^]*?<progress max="2" value="2"/);
  t.regex(page, /data-key="Deployment\/under" data-done="false">[^]*?<progress max="2" value="0"/);
  t.regex(page, /data-key="StatefulSet\/zero" data-done="true">[^]*?<progress max="1" value="0"/);
});

test('durations read like a person would say them', (t) => {
  t.is(formatDuration(0), '0 s');
  t.is(formatDuration(14_200), '14 s');
  t.is(formatDuration(60_000), '1 min');
  t.is(formatDuration(90_000), '1 min 30 s');
  t.is(formatDuration(120_000), '2 min');
  t.is(formatDuration(-5), '0 s');
});

test('colours meet WCAG AA in the light and the dark scheme', (t) => {
  t.is(contrastRatio('#000000', '#ffffff').toFixed(1), '21.0');
  for (const [scheme, palette] of [
    ['light', light],
    ['dark', dark],
  ] as const) {
    for (const [fg, bg, min, what] of contrastPairs(palette)) {
      const ratio = contrastRatio(fg, bg);
      t.true(ratio >= min, `${scheme}: ${what} ${fg} on ${bg} is ${ratio.toFixed(2)}:1, needs ${min}:1`);
    }
  }
});

test('reduced motion turns animations and transitions off', (t) => {
  const style = between(renderWaitingPage(status), '<style>', '</style>');
  t.regex(
    style,
    /@media \(prefers-reduced-motion:reduce\)\{[^}]*animation:none!important;transition:none!important/,
  );
});

test('a verified wake’s token is an escaped attribute of <main>; without one there is none', (t) => {
  const status = {
    namespace: 'shop',
    host: 'shop.example',
    phase: 'sleeping',
    timeoutMs: 1000,
    workloads: [],
  } as const;
  t.regex(
    renderWaitingPage(status, { wakeToken: '123.abc_-' }),
    /<main id="nz"[^>]* data-wake-token="123\.abc_-"/,
  );
  t.regex(renderWaitingPage(status, { wakeToken: '"><x' }), /data-wake-token="&quot;&gt;&lt;x"/);
  t.notRegex(renderWaitingPage(status), /data-wake-token="/);
});
