import type { Kube } from '../lib/kube/client.js';
import type { NozzleMessage } from '../lib/messages.js';
import { sleepWorkload, type SleepOptions, type TakeoverSummary } from '../lib/sleep/sleep.js';
import { wakeNamespace } from '../lib/wake/wake-namespace.js';
import type { Outcome } from './metrics.js';

export interface OperationResult {
  readonly outcome: Extract<Outcome, 'slept' | 'already_asleep' | 'woke' | 'skipped'>;
  readonly detail: Record<string, unknown>;
}

/** What the log line of a sleep says about its takeover. */
const takeoverDetail = ({ services, skipped, keda }: TakeoverSummary): Record<string, unknown> => ({
  services,
  skipped,
  keda,
});

/** Runs what a message asks for; throws when it could not (the caller decides: retry or dead-letter). */
export async function runOperation(
  kube: Kube,
  message: NozzleMessage,
  options: SleepOptions,
): Promise<OperationResult> {
  switch (message.op) {
    case 'sleep': {
      const result = await sleepWorkload(kube, message, options);
      switch (result.outcome) {
        case 'slept':
          return { outcome: 'slept', detail: { from: result.from, ...takeoverDetail(result) } };
        case 'already-asleep':
          return { outcome: 'already_asleep', detail: takeoverDetail(result) };
        case 'skipped':
          return { outcome: 'skipped', detail: { reason: result.reason } };
      }
      break;
    }
    case 'wake': {
      const result = await wakeNamespace(kube, message.namespace, options.optIn);
      return { outcome: 'woke', detail: { workloads: result.workloads } };
    }
  }
}
