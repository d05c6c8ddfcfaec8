/** The answers the activator gives itself (never the backend's). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_SECURITY_POLICY, renderNotFoundPage, renderWaitingPage } from '../rescaler-web/page.js';
import type { WakeStatus } from '../rescaler-web/status.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function sendHtml(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** The rescaler waiting page, at once: 503 so nothing caches or indexes it as the app. */
export function sendWaitingPage(res: ServerResponse, status: WakeStatus, retryAfterSeconds: number): void {
  sendHtml(res, 503, renderWaitingPage(status), { 'retry-after': String(retryAfterSeconds) });
}

/** 404 for a host (or path) no recorded route matches: a page for browsers, JSON for the rest. */
export function sendNotFound(req: IncomingMessage, res: ServerResponse, host: string): void {
  if (/text\/html/i.test(req.headers.accept ?? '')) return sendHtml(res, 404, renderNotFoundPage(host));
  sendJson(res, 404, { error: 'not_found', message: `nothing is served at ${host}` });
}
