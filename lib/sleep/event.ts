import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventsV1Event } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { FIELD_MANAGER } from '../names.js';
import type { Workload, WorkloadKind } from '../wake/workloads.js';

/**
 * A Kubernetes Event (events.k8s.io/v1) on the workload, so that
 * `kubectl describe` and `kubectl events` show why it went to 0:
 * `Slept: replicas 3 -> 0`.
 */
export function recordSleepEvent(
  kube: Kube,
  kind: WorkloadKind,
  workload: Workload,
  from: number,
): Promise<void> {
  return recordWorkloadEvent(kube, kind, workload, {
    action: 'Sleep',
    reason: 'Slept',
    note: `Slept: replicas ${from} -> 0`,
    type: 'Normal',
  });
}

/** An Event saying why Nozzle did not put the workload to sleep (reason NotSleeping, type Warning). */
export function recordNotSleepingEvent(
  kube: Kube,
  kind: WorkloadKind,
  workload: Workload,
  note: string,
): Promise<void> {
  return recordWorkloadEvent(kube, kind, workload, {
    action: 'Sleep',
    reason: 'NotSleeping',
    note,
    type: 'Warning',
  });
}

async function recordWorkloadEvent(
  kube: Kube,
  kind: WorkloadKind,
  workload: Workload,
  what: { action: string; reason: string; note: string; type: 'Normal' | 'Warning' },
): Promise<void> {
  const namespace = workload.metadata?.namespace ?? '';
  const name = workload.metadata?.name ?? '';
  const now = new Date();
  const event: EventsV1Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(name, now), namespace },
    // The apiserver wants a MicroTime (6 fractional digits); the client would send toISOString()'s 3.
    eventTime: microTime(now) as unknown as Date,
    action: what.action,
    reason: what.reason,
    // The apiserver refuses a note over 1kB.
    note: what.note.slice(0, 1024),
    type: what.type,
    reportingController: FIELD_MANAGER,
    reportingInstance: hostname().slice(0, 128),
    regarding: {
      apiVersion: 'apps/v1',
      kind,
      namespace,
      name,
      uid: workload.metadata?.uid,
      resourceVersion: workload.metadata?.resourceVersion,
    },
  };
  await kube.events.createNamespacedEvent({ namespace, body: event });
}

const microTime = (at: Date): string => at.toISOString().replace(/Z$/, '000Z');

/** Like kubectl's: `<object>.<hex time><random>`, within the 253 characters of a name. */
const eventName = (object: string, at: Date): string =>
  `${object.slice(0, 220)}.${at.getTime().toString(16)}${randomBytes(4).toString('hex')}`;
