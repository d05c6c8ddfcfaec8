/**
 * Deployments and StatefulSets behind one interface: the two kinds Nozzle
 * puts to sleep. Both have spec.replicas, spec.selector and a pod template.
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from './client.js';
import { mergePatch } from './patch.js';
import { FIELD_MANAGER, annotations } from '../names.js';
import { PermanentError } from '../errors.js';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type Workload = V1Deployment | V1StatefulSet;

export function readWorkload(
  kube: Kube,
  kind: WorkloadKind,
  namespace: string,
  name: string,
): Promise<Workload> {
  return kind === 'Deployment'
    ? kube.apps.readNamespacedDeployment({ namespace, name })
    : kube.apps.readNamespacedStatefulSet({ namespace, name });
}

export async function listWorkloads(kube: Kube, kind: WorkloadKind, namespace: string): Promise<Workload[]> {
  const list =
    kind === 'Deployment'
      ? await kube.apps.listNamespacedDeployment({ namespace })
      : await kube.apps.listNamespacedStatefulSet({ namespace });
  return list.items;
}

/** The Deployments and StatefulSets of `namespace` that `keep` selects, each with its kind (one list per kind). */
export async function listWorkloadsWhere(
  kube: Kube,
  namespace: string,
  keep: (workload: Workload) => boolean,
): Promise<{ kind: WorkloadKind; workload: Workload }[]> {
  const selected: { kind: WorkloadKind; workload: Workload }[] = [];
  for (const kind of WORKLOAD_KINDS) {
    for (const workload of await listWorkloads(kube, kind, namespace)) {
      if (keep(workload)) selected.push({ kind, workload });
    }
  }
  return selected;
}

/** A JSON merge patch (RFC 7386); include metadata.resourceVersion to make it conditional (409 on mismatch). */
export function mergePatchWorkload(
  kube: Kube,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  body: object,
): Promise<Workload> {
  return kind === 'Deployment'
    ? kube.apps.patchNamespacedDeployment({ namespace, name, body, fieldManager: FIELD_MANAGER }, mergePatch)
    : kube.apps.patchNamespacedStatefulSet(
        { namespace, name, body, fieldManager: FIELD_MANAGER },
        mergePatch,
      );
}

export class ReplicasAnnotationError extends PermanentError {
  override readonly name = 'ReplicasAnnotationError';
}

/** `nozzle.io/replicas` is a whole number > 0: Nozzle never records 0. */
export function parseReplicasAnnotation(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text.trim())) {
    throw new ReplicasAnnotationError(`${annotations.replicas} must be a whole number > 0, got "${text}"`);
  }
  return Number(text.trim());
}

/** spec.replicas as the apiserver defaults it: absent means 1. */
export const replicasOf = (workload: Workload): number => workload.spec?.replicas ?? 1;

export const describeWorkload = (kind: WorkloadKind, namespace: string, name: string): string =>
  `${kind} ${namespace}/${name}`;
