/**
 * What the activator does with an HTTP/1.x request whose Service has no ready
 * endpoint yet: crawlers get 503 without a wake (whatever they ask for, the
 * activator's own paths included), its own paths go to the page server,
 * health checkers get 200 without a wake, browsers get the waiting page, and
 * everything else (API calls, WebSocket upgrades) is held until a pod is ready.
 */
import { ACTIVATOR_PREFIX } from '../lib/names.js';
import { isBotAgent } from './bot-agents.js';
import { isIgnoredAgent } from './ignored-agents.js';
import type { RequestHead } from './request-head.js';

export type HttpDecision = 'bot' | 'page' | 'ignored' | 'browser' | 'hold';

export interface AgentRules {
  /** Health checkers: 200, no wake (NOZZLE_ACTIVATOR_IGNORED_AGENTS). */
  readonly ignoredAgents: readonly RegExp[];
  /** Crawlers: 503, no wake (NOZZLE_ACTIVATOR_BOT_AGENTS). */
  readonly botAgents: readonly RegExp[];
}

export function decideHttp(head: RequestHead, rules: AgentRules): HttpDecision {
  const agent = head.headers['user-agent'];
  if (isIgnoredAgent(agent, rules.ignoredAgents)) {
    return head.path.startsWith(ACTIVATOR_PREFIX) ? 'page' : 'ignored';
  }
  if (isBotAgent(agent, rules.botAgents)) return 'bot';
  if (head.path.startsWith(ACTIVATOR_PREFIX)) return 'page';
  if (isBrowserRequest(head)) return 'browser';
  return 'hold';
}

/** A browser navigation: a GET that accepts HTML and is not an upgrade. */
export function isBrowserRequest(head: Pick<RequestHead, 'method' | 'headers'>): boolean {
  if (head.method !== 'GET' || head.headers.upgrade) return false;
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(head.headers.accept ?? '');
}
