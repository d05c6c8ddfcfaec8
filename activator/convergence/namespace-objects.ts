/**
 * What the convergence leader reads of the namespaces it checks: their
 * Deployments, StatefulSets and Services, listed once for one namespace or
 * for the whole cluster and grouped by namespace. A resync over a thousand
 * sleeping namespaces then costs three list calls, not three per namespace.
 */
import type { V1Deployment, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { annotations } from '../../lib/names.js';

export interface Workload {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly object: V1Deployment | V1StatefulSet;
}

/** Pure: a workload Nozzle put to sleep (0 replicas, with its backup). */
export const isAsleep = (workload: Workload): boolean =>
  workload.object.spec?.replicas === 0 &&
  workload.object.metadata?.annotations?.[annotations.replicas] !== undefined;

export interface NamespaceObjects {
  readonly workloads: Workload[];
  readonly services: V1Service[];
}

/** The objects of `namespace`, or of every namespace: three list calls. */
export async function listNamespaceObjects(
  kube: Kube,
  namespace?: string,
): Promise<Map<string, NamespaceObjects>> {
  const all = namespace === undefined;
  const [deployments, statefulSets, services] = await Promise.all([
    all ? kube.apps.listDeploymentForAllNamespaces() : kube.apps.listNamespacedDeployment({ namespace }),
    all ? kube.apps.listStatefulSetForAllNamespaces() : kube.apps.listNamespacedStatefulSet({ namespace }),
    all ? kube.core.listServiceForAllNamespaces() : kube.core.listNamespacedService({ namespace }),
  ]);
  const byNamespace = new Map<string, NamespaceObjects>();
  const of = (ns: string | undefined): NamespaceObjects | undefined => {
    if (!ns) return undefined;
    let objects = byNamespace.get(ns);
    if (!objects) byNamespace.set(ns, (objects = { workloads: [], services: [] }));
    return objects;
  };
  for (const object of deployments.items)
    of(object.metadata?.namespace)?.workloads.push({ kind: 'Deployment', object });
  for (const object of statefulSets.items) {
    of(object.metadata?.namespace)?.workloads.push({ kind: 'StatefulSet', object });
  }
  for (const service of services.items) of(service.metadata?.namespace)?.services.push(service);
  return byNamespace;
}

/** A namespace without any of them. */
export const NO_OBJECTS: NamespaceObjects = { workloads: [], services: [] };
