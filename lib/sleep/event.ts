import type { Kube } from '../kube/client.js';
import { recordEvent } from '../kube/events.js';
import { FIELD_MANAGER } from '../names.js';
import type { Workload, WorkloadKind } from '../kube/workloads.js';

/** What the Event says about the takeover (lib/sleep/sleep.ts TakeoverSummary, structurally). */
export interface SleepNote {
  readonly services: readonly string[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  readonly keda: { readonly paused: readonly string[] };
}

/** Pure: `Slept: replicas 3 -> 0; Services taken over: web, web-alias; not taken over: db (headless ...)`. */
export function sleepNote(from: number, note: SleepNote): string {
  const parts = [`Slept: replicas ${from} -> 0`];
  if (note.services.length > 0) parts.push(`Services taken over: ${note.services.join(', ')}`);
  if (note.skipped.length > 0) {
    parts.push(`not taken over: ${note.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`);
  }
  if (note.keda.paused.length > 0) parts.push(`KEDA ScaledObject paused: ${note.keda.paused.join(', ')}`);
  const text = parts.join('; ');
  return text.length <= 1024 ? text : `${text.slice(0, 1023)}…`; // the apiserver's limit on a note
}

/**
 * A Kubernetes Event (events.k8s.io/v1) on the workload, so that
 * `kubectl describe` and `kubectl events` show why it went to 0 and how it
 * wakes (sleepNote).
 */
export function recordSleepEvent(
  kube: Kube,
  kind: WorkloadKind,
  workload: Workload,
  from: number,
  note: SleepNote,
): Promise<void> {
  return recordWorkloadEvent(kube, kind, workload, {
    action: 'Sleep',
    reason: 'Slept',
    note: sleepNote(from, note),
    type: 'Normal',
  });
}

function recordWorkloadEvent(
  kube: Kube,
  kind: WorkloadKind,
  workload: Workload,
  what: { action: string; reason: string; note: string; type: 'Normal' | 'Warning' },
): Promise<void> {
  const namespace = workload.metadata?.namespace ?? '';
  return recordEvent(kube, {
    ...what,
    namespace,
    reportingController: FIELD_MANAGER,
    regarding: {
      apiVersion: 'apps/v1',
      kind,
      namespace,
      name: workload.metadata?.name ?? '',
      uid: workload.metadata?.uid,
      resourceVersion: workload.metadata?.resourceVersion,
    },
  });
}
