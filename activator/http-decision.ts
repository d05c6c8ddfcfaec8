/**
 * What the activator does with an HTTP/1.x request whose Service has no ready
 * endpoint yet: its own paths go to the page server, health checkers get 200
 * without a wake, browsers get the waiting page, and everything else (API
 * calls, WebSocket upgrades) is held until a pod is ready.
 */
import { ACTIVATOR_PREFIX } from '../lib/names.js';
import { isIgnoredAgent } from './ignored-agents.js';
import type { RequestHead } from './request-head.js';

export type HttpDecision = 'page' | 'ignored' | 'browser' | 'hold';

export function decideHttp(head: RequestHead, ignoredAgents: readonly RegExp[]): HttpDecision {
  if (head.path.startsWith(ACTIVATOR_PREFIX)) return 'page';
  if (isIgnoredAgent(head.headers['user-agent'], ignoredAgents)) return 'ignored';
  if (isBrowserRequest(head)) return 'browser';
  return 'hold';
}

/** A browser navigation: a GET that accepts HTML and is not an upgrade. */
export function isBrowserRequest(head: Pick<RequestHead, 'method' | 'headers'>): boolean {
  if (head.method !== 'GET' || head.headers.upgrade) return false;
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(head.headers.accept ?? '');
}
