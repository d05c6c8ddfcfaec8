/** The page server's answers (never the backend's), each with `Connection: close`. */
import type { ServerResponse } from 'node:http';
import { CONTENT_SECURITY_POLICY, renderWaitingPage } from '../rescaler-web/page.js';
import type { WakeStatus } from '../rescaler-web/status.js';

/**
 * On every answer of the activator's own: the waiting page tells its status
 * poll answered by the activator from one answered by the app (once the
 * Service's pods are Ready the poll is spliced to them, or reaches them
 * without the activator at all).
 */
export const ACTIVATOR_HEADER = 'x-nozzle-activator';

const CLOSE = { connection: 'close', 'cache-control': 'no-store', [ACTIVATOR_HEADER]: '1' };

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...CLOSE,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The rescaler waiting page, at once: 503 so nothing caches or indexes it as
 * the app. With `wakeToken` (verified wake) its script confirms the wake.
 */
export function sendWaitingPage(
  res: ServerResponse,
  status: WakeStatus,
  retryAfterSeconds: number,
  wakeToken?: string,
): void {
  const text = renderWaitingPage(status, wakeToken === undefined ? {} : { wakeToken });
  res.writeHead(503, {
    ...CLOSE,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'retry-after': String(retryAfterSeconds),
  });
  res.end(text);
}
