/**
 * The Kubernetes Event a finished wake leaves on its Namespace:
 * `Woke: 3 workloads ready in 8.2s`, the mirror of lib/sleep/event.ts. It
 * lives in the namespace itself, so `kubectl get events -n <ns>` (what the
 * app's team looks at) shows it; the apiserver accepts that only with
 * `regarding.namespace` set to the same namespace, although a Namespace is
 * cluster-scoped.
 */
import type { Kube } from '../kube/client.js';
import { recordEvent } from '../kube/events.js';
import { DOMAIN } from '../names.js';

export const WAKE_REPORTING_CONTROLLER = `${DOMAIN}/activator`;

export function wokeNote(workloads: number, elapsedMs: number): string {
  const seconds = (elapsedMs / 1000).toFixed(1);
  return `Woke: ${workloads} workload${workloads === 1 ? '' : 's'} ready in ${seconds}s`;
}

export function recordWokeEvent(kube: Kube, namespace: string, note: string, at?: Date): Promise<void> {
  return recordEvent(
    kube,
    {
      namespace,
      regarding: { apiVersion: 'v1', kind: 'Namespace', name: namespace, namespace },
      action: 'Wake',
      reason: 'Woke',
      note,
      type: 'Normal',
      reportingController: WAKE_REPORTING_CONTROLLER,
    },
    at,
  );
}
