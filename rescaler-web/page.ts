/**
 * The rescaler waiting page the activator serves to browsers. A pure function
 * from a WakeStatus to a complete HTML document with everything inline: no
 * external assets, a CSP that forbids loading any, and every interpolated
 * value escaped.
 *
 * The activator serves it with 503, `Retry-After` (see REFRESH_SECONDS) and
 * `Cache-Control: no-store`. The page polls `/_nozzle/status` on the same
 * origin and turns to its failed state from there.
 */
import { html } from './escape.js';
import { formatDuration } from './format.js';
import { renderDocument } from './layout.js';
import { renderProgress } from './progress.js';
import type { WakePhase, WakeStatus } from './status.js';

export { CONTENT_SECURITY_POLICY } from './csp.js';

/** How often the page reloads itself without JavaScript; a fitting `Retry-After`. */
export const REFRESH_SECONDS = 5;

function titleFor(phase: WakePhase, host: string): string {
  switch (phase) {
    case 'sleeping':
    case 'waking':
      return `Waking up ${host}`;
    case 'ready':
      return `${host} is ready`;
    case 'failed':
      return `${host} didn’t start`;
  }
}

function noScriptRefresh(phase: WakePhase): number | undefined {
  switch (phase) {
    case 'sleeping':
    case 'waking':
      return REFRESH_SECONDS;
    case 'ready':
      return 1;
    case 'failed':
      // A failure stays on screen to be read; "Try again" reloads.
      return undefined;
  }
}

/**
 * The waiting page for every phase: progress while sleeping or waking, a short
 * "opening the app" while ready (the script, or the refresh, reloads into the
 * app), and what went wrong plus what to do when failed. All phases' texts are
 * in the document; the stylesheet shows those of `data-phase`, which the
 * script changes as the status does. With `wakeToken` (the activator's
 * verified wake) nothing has started yet: the script sends the token to
 * `POST /_nozzle/wake` to start the wake, then follows it.
 */
export function renderWaitingPage(status: WakeStatus, options: { readonly wakeToken?: string } = {}): string {
  const host = html(status.host);
  const ns = `<code>${html(status.namespace)}</code>`;
  const timeout = formatDuration(status.timeoutMs);
  const known = status.elapsedMs !== undefined;
  const titles = (['sleeping', 'waking', 'ready', 'failed'] as const)
    .map((p) => ` data-title-${p}="${html(titleFor(p, status.host))}"`)
    .join('');
  const message = status.message?.trim()
    ? html(status.message.trim())
    : `Not everything was ready after ${html(timeout)}. What was not ready is marked below.`;

  const token = options.wakeToken === undefined ? '' : ` data-wake-token="${html(options.wakeToken)}"`;
  const main = `<main id="nz" data-phase="${html(status.phase)}" data-elapsed-ms="${known ? html(status.elapsedMs ?? 0) : ''}"${token}${titles}>
<div class="nz-card">
<p class="nz-badge">
<span class="nz-pulse" data-show="sleeping waking" aria-hidden="true"></span>
<span data-show="sleeping waking">Waking up</span>
<span data-show="ready">Ready</span>
<span data-show="failed">Didn’t start</span>
</p>
<h1>${host}</h1>
<p class="nz-lead" data-show="sleeping waking">The ${ns} namespace was asleep to save resources and is starting now. This page opens the app as soon as it is ready.</p>
<p class="nz-lead" data-show="ready">The ${ns} namespace is up. Opening the app… <a href="">Open it now</a></p>
<p class="nz-lead" data-show="failed">The ${ns} namespace did not become ready within ${html(timeout)}.</p>
<div class="nz-failed" data-show="failed" role="alert">
<h2>What went wrong</h2>
<p class="nz-message" id="nz-message">${message}</p>
<h2>What you can do</h2>
<ul>
<li>Try again in a minute. The app keeps starting in the background; it may just be slow.</li>
<li>If it keeps failing, tell the people who run ${ns} what was not ready. They can look with <code>kubectl -n ${html(status.namespace)} get pods</code>.</li>
</ul>
<p><a class="nz-button" href="">Try again</a></p>
</div>
${renderProgress(status.workloads)}
<p class="nz-meta" id="nz-elapsed-line" data-show="sleeping waking" data-known="${known}"><span class="nz-elapsed-part">Started <span id="nz-elapsed">${html(formatDuration(status.elapsedMs ?? 0))}</span> ago. </span>This can take up to ${html(timeout)}.</p>
</div>
</main>`;

  const refresh = noScriptRefresh(status.phase);
  return renderDocument({
    title: titleFor(status.phase, status.host),
    main,
    noScriptRefreshSeconds: refresh,
    footerNote:
      refresh === undefined
        ? undefined
        : `<noscript><p>This page refreshes itself every few seconds.</p></noscript>`,
    tagline: true,
    script: true,
  });
}
