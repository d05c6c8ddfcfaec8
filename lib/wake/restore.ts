/**
 * Waking a namespace: the inverse of lib/sleep. Shared by the worker's `wake`
 * operation and the activator. Every function is idempotent: an object that is
 * already restored is skipped, and two callers racing on the same object are
 * serialized by the resourceVersion precondition (the loser re-reads and sees
 * the work done).
 */
import type { Kube } from '../kube/client.js';
import { mergePatch } from '../kube/patch.js';
import { FIELD_MANAGER, annotations } from '../names.js';
import { retryOnConflictFrom } from '../kube/conflict.js';
import { restoreEach } from './restore-error.js';
import { resumeAfterWake } from '../keda/paused-replicas.js';
import {
  describeWorkload,
  listWorkloadsWhere,
  mergePatchWorkload,
  parseReplicasAnnotation,
  readWorkload,
  type Workload,
  type WorkloadKind,
} from '../kube/workloads.js';

export interface RestoredWorkload {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly replicas: number;
}

/**
 * Restores every workload in the namespace that has nozzle.io/replicas,
 * removing the annotation in the same request (precondition on
 * resourceVersion; 409 -> re-read; already restored -> skipped). Returns what
 * THIS call restored. Throws RestoreError (with what it did restore) when some
 * could not be restored.
 */
export async function restoreWorkloads(kube: Kube, namespace: string): Promise<RestoredWorkload[]> {
  const sleeping = await listWorkloadsWhere(
    kube,
    namespace,
    (workload) => workload.metadata?.annotations?.[annotations.replicas] !== undefined,
  );
  return restoreEach(
    namespace,
    sleeping,
    ({ kind, workload }) => describeWorkload(kind, namespace, workload.metadata?.name ?? ''),
    ({ kind, workload }) => restoreWorkload(kube, kind, namespace, workload),
  );
}

async function restoreWorkload(
  kube: Kube,
  kind: WorkloadKind,
  namespace: string,
  listed: Workload,
): Promise<RestoredWorkload | undefined> {
  const name = listed.metadata?.name ?? '';
  const restored = await retryOnConflictFrom(
    describeWorkload(kind, namespace, name),
    listed,
    () => readWorkload(kube, kind, namespace, name),
    async (workload) => {
      const backup = workload?.metadata?.annotations?.[annotations.replicas];
      if (workload === undefined || backup === undefined) return undefined; // gone, or restored by someone else
      const replicas = parseReplicasAnnotation(backup);
      await mergePatchWorkload(kube, kind, namespace, name, {
        metadata: {
          resourceVersion: workload.metadata?.resourceVersion,
          annotations: { [annotations.replicas]: null },
        },
        spec: { replicas },
      });
      return { kind, name, replicas };
    },
  );
  // After the replicas: KEDA, resumed, finds the workload running (lib/keda/paused-replicas.ts).
  await resumeAfterWake(kube, namespace, { kind, name });
  return restored;
}

/** Stamps nozzle.io/woke-at (RFC 3339) on the Namespace. */
export async function stampWokeAt(kube: Kube, namespace: string, at: Date = new Date()): Promise<void> {
  await kube.core.patchNamespace(
    {
      name: namespace,
      fieldManager: FIELD_MANAGER,
      body: { metadata: { annotations: { [annotations.wokeAt]: at.toISOString() } } },
    },
    mergePatch,
  );
}
