/**
 * `/_nozzle/status` of one namespace: the WakeStatus the waiting page polls
 * (contract: rescaler-web/status.ts). `ready` is the target Service's own:
 * once it has a ready endpoint the page reloads into the app, whatever else
 * the namespace's wake still waits for. It shows this namespace's own
 * progress and nothing else: the client is anonymous.
 */
import type { WakeStatus } from '../rescaler-web/status.js';
import type { DataPathWake } from './waker.js';

export function wakeStatus(options: {
  readonly namespace: string;
  readonly host: string;
  readonly wake: DataPathWake | undefined;
  readonly ready: boolean;
  readonly timeoutMs: number;
}): WakeStatus {
  const { namespace, host, wake, ready, timeoutMs } = options;
  const base = { namespace, host, timeoutMs };
  if (!wake) return { ...base, phase: ready ? 'ready' : 'sleeping', workloads: [] };
  const common = {
    ...base,
    ...(wake.startedAt ? { startedAt: wake.startedAt.toISOString() } : {}),
    ...(wake.elapsedMs !== undefined ? { elapsedMs: wake.elapsedMs } : {}),
    workloads: wake.progress?.() ?? [],
  };
  if (ready) return { ...common, phase: 'ready' };
  if (wake.state === 'failed') return { ...common, phase: 'failed', message: failureMessage(wake) };
  return { ...common, phase: 'waking' };
}

/**
 * What the page may say of a failed wake: a timeout names only this
 * namespace's own workloads; an API error (RBAC, admission, the apiserver)
 * would name Nozzle's internals to an anonymous client, so it stays in the
 * activator's log.
 */
function failureMessage(wake: DataPathWake): string {
  if (wake.failure?.reason === 'timeout') return wake.failure.message;
  return 'the app could not be started: Nozzle could not restore it (its operators find why in the activator log)';
}
