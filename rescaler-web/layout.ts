/**
 * The HTML document around every page: head (CSP, viewport, inline styles,
 * the no-JavaScript refresh), the header and footer landmarks, and the inline
 * script when the page wants one. Callers pass already-escaped markup.
 */
import { CONTENT_SECURITY_POLICY } from './csp.js';
import { html } from './escape.js';
import { PAGE_SCRIPT } from './script.js';
import { STYLES } from './styles.js';

export interface DocumentParts {
  /** Plain text; escaped here. */
  readonly title: string;
  /** Markup for <main> (its attributes and content). */
  readonly main: string;
  /**
   * Reload after this many seconds when JavaScript is off. Inside <noscript>,
   * so with JavaScript on it is inert text and the script updates the page in
   * place instead of reloading it.
   */
  readonly noScriptRefreshSeconds?: number;
  /** Say in the footer what Nozzle does. */
  readonly tagline?: boolean;
  /** Extra footer markup (already escaped), e.g. a <noscript> note. */
  readonly footerNote?: string;
  readonly script?: boolean;
}

const logo =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M12 2.2c-3.9 4.9-6.6 8.6-6.6 12a6.6 6.6 0 0 0 13.2 0c0-3.4-2.7-7.1-6.6-12z' +
  'm-2.9 12.5a1 1 0 0 1 1 1 1.9 1.9 0 0 0 1.9 1.9 1 1 0 1 1 0 2 3.9 3.9 0 0 1-3.9-3.9 1 1 0 0 1 1-1z"/></svg>';

export function renderDocument(parts: DocumentParts): string {
  const refresh =
    parts.noScriptRefreshSeconds === undefined
      ? ''
      : `<noscript><meta http-equiv="refresh" content="${html(parts.noScriptRefreshSeconds)}"></noscript>\n`;
  const footer = [
    parts.tagline ? '<p>Nozzle puts idle environments to sleep and wakes them on the first visit.</p>' : '',
    parts.footerNote ?? '',
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${html(CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
${refresh}<title>${html(parts.title)}</title>
<style>${STYLES}</style>
</head>
<body>
<header class="nz-header">${logo}<span>Nozzle</span></header>
${parts.main}
${footer.length ? `<footer class="nz-footer">\n${footer.join('\n')}\n</footer>\n` : ''}${parts.script ? `<script>${PAGE_SCRIPT}</script>\n` : ''}</body>
</html>
`;
}
