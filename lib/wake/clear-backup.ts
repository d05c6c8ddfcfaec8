/**
 * A workload someone else scaled up while it slept (kubectl scale, CI, Argo
 * CD) runs again with its `nozzle.io/replicas` still set: that backup is
 * stale, and a later wake would "restore" it over the count the person chose.
 * Clearing it is one merge patch per workload, conditional on the
 * resourceVersion it was decided on (409: read again and decide again; a
 * workload back at 0 is asleep again and keeps its backup).
 */
import type { Kube } from '../kube/client.js';
import { retryOnConflictFrom } from '../kube/conflict.js';
import { annotations } from '../names.js';
import { restoreEach } from './restore-error.js';
import {
  describeWorkload,
  listWorkloadsWhere,
  mergePatchWorkload,
  readWorkload,
  replicasOf,
  type Workload,
  type WorkloadKind,
} from '../kube/workloads.js';

export interface ClearedBackup {
  readonly kind: WorkloadKind;
  readonly name: string;
  /** The replicas it runs with (kept). */
  readonly replicas: number;
  /** The stale backup that was removed. */
  readonly backup: string;
}

/** Pure: a workload that runs (replicas > 0) and still carries a backup. */
export const hasStaleBackup = (workload: Workload): boolean =>
  replicasOf(workload) > 0 && workload.metadata?.annotations?.[annotations.replicas] !== undefined;

/** Removes the backup of every workload of the namespace that runs again; returns what THIS call cleared. */
export async function clearStaleBackups(kube: Kube, namespace: string): Promise<ClearedBackup[]> {
  const stale = await listWorkloadsWhere(kube, namespace, hasStaleBackup);
  return restoreEach(
    namespace,
    stale,
    ({ kind, workload }) => describeWorkload(kind, namespace, workload.metadata?.name ?? ''),
    ({ kind, workload }) => clearBackup(kube, kind, namespace, workload),
  );
}

async function clearBackup(
  kube: Kube,
  kind: WorkloadKind,
  namespace: string,
  listed: Workload,
): Promise<ClearedBackup | undefined> {
  const name = listed.metadata?.name ?? '';
  return retryOnConflictFrom(
    describeWorkload(kind, namespace, name),
    listed,
    () => readWorkload(kube, kind, namespace, name),
    async (workload) => {
      if (workload === undefined || !hasStaleBackup(workload)) return undefined; // gone, asleep again, or cleared
      const backup = workload.metadata?.annotations?.[annotations.replicas] ?? '';
      await mergePatchWorkload(kube, kind, namespace, name, {
        metadata: {
          resourceVersion: workload.metadata?.resourceVersion,
          annotations: { [annotations.replicas]: null },
        },
      });
      return { kind, name, replicas: replicasOf(workload), backup };
    },
  );
}
