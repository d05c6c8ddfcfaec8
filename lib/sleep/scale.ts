import type { Kube } from '../kube/client.js';
import { undefinedIfNotFound } from '../errors.js';
import { annotations } from '../names.js';
import { retryOnConflictFrom } from '../kube/conflict.js';
import {
  describeWorkload,
  mergePatchWorkload,
  readWorkload,
  replicasOf,
  type Workload,
  type WorkloadKind,
} from '../kube/workloads.js';

export type ScaleResult =
  | { readonly result: 'scaled'; readonly from: number; readonly workload: Workload }
  | { readonly result: 'already-asleep'; readonly backup: string }
  | { readonly result: 'at-zero-without-backup' }
  | { readonly result: 'not-found' };

/**
 * The scale of a sleep: replicas to 0 and the count they had into
 * nozzle.io/replicas, in ONE request conditional on the resourceVersion just
 * read, so that the backup and the scale can never be half-applied and a
 * concurrent change (a person scaling, another worker, a wake) is never
 * overwritten: 409 -> read again and decide again. Never records 0.
 */
export async function scaleToZero(
  kube: Kube,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  /** Checked on every attempt, right before writing: a reason not to scale after all. */
  veto?: () => Promise<string | undefined>,
  /** The workload as just read, for the first attempt (an outdated one costs a 409 and a re-read). */
  listed?: Workload,
): Promise<ScaleResult | { readonly result: 'vetoed'; readonly reason: string }> {
  const read = () => readWorkload(kube, kind, namespace, name).catch(undefinedIfNotFound);
  return retryOnConflictFrom(describeWorkload(kind, namespace, name), listed, read, async (workload) => {
    if (workload === undefined) return { result: 'not-found' } as const;
    const replicas = replicasOf(workload);
    const backup = workload.metadata?.annotations?.[annotations.replicas];
    if (replicas === 0) {
      return backup === undefined
        ? ({ result: 'at-zero-without-backup' } as const)
        : ({ result: 'already-asleep', backup } as const);
    }
    const reason = await veto?.();
    if (reason !== undefined) return { result: 'vetoed', reason } as const;
    const scaled = await mergePatchWorkload(kube, kind, namespace, name, {
      metadata: {
        resourceVersion: workload.metadata?.resourceVersion,
        annotations: { [annotations.replicas]: String(replicas) },
      },
      spec: { replicas: 0 },
    });
    return { result: 'scaled', from: replicas, workload: scaled } as const;
  });
}
