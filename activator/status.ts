/**
 * `/_nozzle/status` for the Host of the request: the WakeStatus the waiting
 * page polls (contract: rescaler-web/status.ts).
 */
import type { WakeStatus } from '../rescaler-web/status.js';
import type { RouteMatch } from './ingress-index.js';
import type { Wake } from './wake.js';

export function wakeStatus(options: {
  readonly host: string;
  readonly match: RouteMatch;
  readonly wake: Wake | undefined;
  readonly timeoutMs: number;
}): WakeStatus {
  const { host, match, wake, timeoutMs } = options;
  const base = { namespace: match.route.namespace, host, timeoutMs };
  if (!wake) {
    // A grace route without a wake of ours: another replica woke it.
    return { ...base, phase: match.state === 'grace' ? 'ready' : 'sleeping', workloads: [] };
  }
  const common = {
    ...base,
    startedAt: wake.startedAt.toISOString(),
    elapsedMs: wake.elapsedMs,
    workloads: wake.progress(),
  };
  switch (wake.state) {
    case 'waking':
      return { ...common, phase: 'waking' };
    case 'ready':
      return { ...common, phase: 'ready' };
    case 'failed':
      return { ...common, phase: 'failed', message: wake.failure?.message ?? 'the wake failed' };
  }
}
