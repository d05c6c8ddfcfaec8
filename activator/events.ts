/**
 * The Kubernetes Event a finished wake leaves on its Namespace:
 * `Woke: 3 workloads ready in 8.2s`. It lives in the namespace itself, so
 * `kubectl get events -n <ns>` (what the app's team looks at) shows it; the
 * apiserver accepts that only with `regarding.namespace` set to the same
 * namespace, although a Namespace is cluster-scoped.
 */
import { hostname } from 'node:os';
import type { EventsV1Event } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import { DOMAIN } from '../lib/names.js';

export const REPORTING_CONTROLLER = `${DOMAIN}/activator`;

export function wokeNote(workloads: number, elapsedMs: number): string {
  const seconds = (elapsedMs / 1000).toFixed(1);
  return `Woke: ${workloads} workload${workloads === 1 ? '' : 's'} ready in ${seconds}s`;
}

export async function recordWokeEvent(
  kube: Kube,
  namespace: string,
  note: string,
  at: Date = new Date(),
): Promise<void> {
  const body: EventsV1Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { generateName: 'nozzle-woke-', namespace },
    // The apiserver wants MicroTime (6 fractional digits); a Date would be
    // serialized with 3 and rejected, so send the string it expects.
    eventTime: microTime(at) as unknown as Date,
    type: 'Normal',
    reason: 'Woke',
    action: 'Wake',
    note,
    regarding: { apiVersion: 'v1', kind: 'Namespace', name: namespace, namespace },
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: hostname(),
  };
  await kube.events.createNamespacedEvent({ namespace, body });
}

/** RFC 3339 with microseconds: `2025-01-02T03:04:05.678000Z`. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
