/**
 * What the policy needs, in a constant number of list calls however many
 * namespaces there are: the opted-in Namespaces (label selector, server-side)
 * and every Deployment and StatefulSet of the cluster, filtered locally. Each
 * list is paginated with limit/continue so no response is unbounded.
 */
import type { V1ListMeta } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import type { NamespaceFacts, WorkloadFacts } from './policy.js';

export interface Inventory {
  readonly namespaces: NamespaceFacts[];
  readonly workloads: WorkloadFacts[];
  /** List requests made (pages included): for the summary and the tests. */
  readonly listCalls: number;
}

interface Page<T> {
  readonly items: T[];
  readonly metadata?: V1ListMeta;
}

interface Meta {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
}

export async function takeInventory(kube: Kube, selector: string, pageSize: number): Promise<Inventory> {
  let listCalls = 0;
  const listAll = async <T>(page: (token: string | undefined) => Promise<Page<T>>): Promise<T[]> => {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const result = await page(token);
      listCalls++;
      items.push(...result.items);
      token = result.metadata?._continue || undefined;
    } while (token !== undefined);
    return items;
  };

  const namespaces = (
    await listAll((token) =>
      kube.core.listNamespace({ labelSelector: selector, limit: pageSize, _continue: token }),
    )
  ).map((ns) => ({ name: ns.metadata?.name ?? '', ...labelsAndAnnotations(ns) }));
  if (namespaces.length === 0) return { namespaces, workloads: [], listCalls };

  const selected = new Set(namespaces.map((ns) => ns.name));
  const facts =
    (kind: WorkloadFacts['kind']) =>
    (w: Meta & { spec?: { replicas?: number } }): WorkloadFacts => ({
      kind,
      namespace: w.metadata?.namespace ?? '',
      name: w.metadata?.name ?? '',
      replicas: w.spec?.replicas,
      ...labelsAndAnnotations(w),
    });
  const deployments = await listAll((token) =>
    kube.apps.listDeploymentForAllNamespaces({ limit: pageSize, _continue: token }),
  );
  const statefulSets = await listAll((token) =>
    kube.apps.listStatefulSetForAllNamespaces({ limit: pageSize, _continue: token }),
  );
  const workloads = [
    ...deployments.map(facts('Deployment')),
    ...statefulSets.map(facts('StatefulSet')),
  ].filter((w) => selected.has(w.namespace));
  return { namespaces, workloads, listCalls };
}

const labelsAndAnnotations = (
  object: Meta,
): { labels?: Record<string, string>; annotations?: Record<string, string> } => ({
  ...(object.metadata?.labels ? { labels: object.metadata.labels } : {}),
  ...(object.metadata?.annotations ? { annotations: object.metadata.annotations } : {}),
});
