/**
 * KEDA-scaled workloads (design v2, "Sleep"): KEDA would scale a sleeping
 * workload back up (or fight the scale to 0), so while it sleeps its
 * ScaledObject is paused with KEDA's own `autoscaling.keda.sh/paused-replicas:
 * "0"`, marked `nozzle.io/paused-by-nozzle: "true"`. The wake removes both,
 * and only when the mark is there: a pause the user set is never touched.
 * HPA-scaled workloads need nothing: an HPA does not scale a Deployment at 0.
 *
 * Every write is a merge patch of those two annotations with a
 * resourceVersion precondition (409: read again, decide again). No KEDA CRD
 * in the cluster (404 on the list) means no ScaledObjects: nothing to do.
 */
import type { Kube } from '../kube/client.js';
import { isNotFound } from '../errors.js';
import { retryOnConflictFrom } from '../kube/conflict.js';
import { FIELD_MANAGER, annotations } from '../names.js';
import { mergePatch } from '../kube/patch.js';
import type { WorkloadKind } from '../kube/workloads.js';

const SCALED_OBJECTS = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' } as const;

/** The parts of a ScaledObject Nozzle reads. */
export interface ScaledObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly scaleTargetRef?: { name?: string; kind?: string; apiVersion?: string } };
}

export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly name: string;
}

/** Pure: whether the ScaledObject scales this workload (KEDA's defaults: kind Deployment, apiVersion apps/v1). */
export function scalesWorkload(scaledObject: ScaledObject, workload: WorkloadRef): boolean {
  const ref = scaledObject.spec?.scaleTargetRef;
  return (
    ref?.name === workload.name &&
    (ref.kind ?? 'Deployment') === workload.kind &&
    (ref.apiVersion ?? 'apps/v1') === 'apps/v1'
  );
}

/** Pure: paused by someone other than Nozzle (paused-replicas without Nozzle's mark, or KEDA's `paused: "true"`). */
export function pausedByUser(scaledObject: ScaledObject): boolean {
  const a = scaledObject.metadata?.annotations ?? {};
  if (a['autoscaling.keda.sh/paused']?.trim().toLowerCase() === 'true') return true;
  return a[annotations.kedaPausedReplicas] !== undefined && a[annotations.pausedByNozzle] !== 'true';
}

const pausedByNozzle = (scaledObject: ScaledObject): boolean =>
  scaledObject.metadata?.annotations?.[annotations.pausedByNozzle] === 'true';

/** The namespace's ScaledObjects that scale `workload` (one list call; none when KEDA is not installed). */
export async function scaledObjectsOf(
  kube: Kube,
  namespace: string,
  workload: WorkloadRef,
): Promise<ScaledObject[]> {
  let items: ScaledObject[];
  try {
    const list = (await kube.custom.listNamespacedCustomObject({ ...SCALED_OBJECTS, namespace })) as {
      items?: ScaledObject[];
    };
    items = list.items ?? [];
  } catch (err) {
    if (isNotFound(err)) return []; // no KEDA CRD: no ScaledObjects
    throw err;
  }
  return items.filter((so) => scalesWorkload(so, workload));
}

export interface KedaResult {
  /** ScaledObjects this call changed. */
  readonly changed: readonly string[];
  /** ScaledObjects left alone because the user paused them. */
  readonly userPaused: readonly string[];
}

/** Pauses the workload's ScaledObjects at 0 (after the scale to 0: see lib/sleep/sleep.ts). */
export function pauseForSleep(kube: Kube, namespace: string, workload: WorkloadRef): Promise<KedaResult> {
  return eachScaledObject(kube, namespace, workload, (so) => {
    if (pausedByNozzle(so)) return undefined; // an earlier delivery did it
    if (pausedByUser(so)) return 'user';
    return { [annotations.kedaPausedReplicas]: '0', [annotations.pausedByNozzle]: 'true' };
  });
}

/** Removes Nozzle's pause from the workload's ScaledObjects (after its replicas are restored). */
export function resumeAfterWake(kube: Kube, namespace: string, workload: WorkloadRef): Promise<KedaResult> {
  return eachScaledObject(kube, namespace, workload, (so) =>
    pausedByNozzle(so)
      ? { [annotations.kedaPausedReplicas]: null, [annotations.pausedByNozzle]: null }
      : undefined,
  );
}

type Decision = Record<string, string | null> | 'user' | undefined;

async function eachScaledObject(
  kube: Kube,
  namespace: string,
  workload: WorkloadRef,
  decide: (so: ScaledObject) => Decision,
): Promise<KedaResult> {
  const changed: string[] = [];
  const userPaused: string[] = [];
  for (const listed of await scaledObjectsOf(kube, namespace, workload)) {
    const name = listed.metadata?.name ?? '';
    const outcome = await retryOnConflictFrom(
      `ScaledObject ${namespace}/${name}`,
      listed,
      () =>
        kube.custom.getNamespacedCustomObject({
          ...SCALED_OBJECTS,
          namespace,
          name,
        }) as Promise<ScaledObject>,
      async (so) => {
        if (so === undefined) return undefined; // deleted meanwhile
        const decision = decide(so);
        if (decision === undefined || decision === 'user') return decision;
        await kube.custom.patchNamespacedCustomObject(
          {
            ...SCALED_OBJECTS,
            namespace,
            name,
            fieldManager: FIELD_MANAGER,
            body: { metadata: { resourceVersion: so.metadata?.resourceVersion, annotations: decision } },
          },
          mergePatch,
        );
        return 'changed' as const;
      },
    );
    if (outcome === 'changed') changed.push(name);
    if (outcome === 'user') userPaused.push(name);
  }
  return { changed, userPaused };
}
