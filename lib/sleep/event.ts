import type { Kube } from '../kube/client.js';
import { recordEvent } from '../kube/events.js';
import { FIELD_MANAGER } from '../names.js';
import type { Workload, WorkloadKind } from '../kube/workloads.js';

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
