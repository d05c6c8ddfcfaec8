/**
 * The pages' Content-Security-Policy. Each page carries it in a <meta>; the
 * activator may also send it as a header (same value). It allows exactly the
 * inline stylesheet and script by hash and same-origin `fetch` (the status
 * poll), so the page can load nothing from anywhere else, and an injected
 * script or style would not run even if escaping ever failed.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './script.js';
import { STYLES } from './styles.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLES)}`,
  `script-src ${sha256(PAGE_SCRIPT)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
