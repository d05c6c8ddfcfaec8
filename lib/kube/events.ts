/**
 * Kubernetes Events (events.k8s.io/v1) written by Nozzle, so that `kubectl
 * events` says why a workload went to 0 or a namespace woke up. The sleep
 * events are in lib/sleep/event.ts, the wake event in lib/wake/event.ts.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventsV1Event, V1ObjectReference } from '@kubernetes/client-node';
import type { Kube } from './client.js';

export interface EventSpec {
  /** The namespace the Event is written to. */
  readonly namespace: string;
  readonly regarding: V1ObjectReference;
  readonly action: string;
  readonly reason: string;
  readonly note: string;
  readonly type: 'Normal' | 'Warning';
  readonly reportingController: string;
}

export async function recordEvent(kube: Kube, spec: EventSpec, at: Date = new Date()): Promise<void> {
  const body: EventsV1Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(spec.regarding.name ?? 'nozzle', at), namespace: spec.namespace },
    // The apiserver wants a MicroTime (6 fractional digits); the client would send toISOString()'s 3.
    eventTime: microTime(at) as unknown as Date,
    action: spec.action,
    reason: spec.reason,
    // The apiserver refuses a note over 1kB.
    note: spec.note.slice(0, 1024),
    type: spec.type,
    reportingController: spec.reportingController,
    reportingInstance: hostname().slice(0, 128),
    regarding: spec.regarding,
  };
  await kube.events.createNamespacedEvent({ namespace: spec.namespace, body });
}

/** RFC 3339 with microseconds: `2025-01-02T03:04:05.678000Z`. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Like kubectl's: `<object>.<hex time><random>`, within the 253 characters of a name. */
const eventName = (object: string, at: Date): string =>
  `${object.slice(0, 220)}.${at.getTime().toString(16)}${randomBytes(4).toString('hex')}`;
