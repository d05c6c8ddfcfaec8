/**
 * What the policy needs, in a constant number of list calls however many
 * namespaces there are: the opted-in Namespaces (label selector, server-side),
 * every Deployment and StatefulSet of the cluster, and every pod's metadata
 * only (PartialObjectMetadataList: no spec, no status), filtered locally.
 * Each list is paginated with limit/continue so no response is unbounded.
 * From them comes each namespace's newest change: the Namespace edited (e.g.
 * labelled), a workload created or rolled out, a pod created; and the
 * workloads Nozzle put to sleep with their pods' requests (the savings).
 */
import { setHeaderOptions, type V1ListMeta, type V1PodSpec } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import { annotations } from '../lib/names.js';
import { podRequests, type TrackedSleep } from '../lib/savings.js';
import { sleptAt } from '../lib/sleep/slept-at.js';
import { lastChange, newest, podCreated, type Activity } from './activity.js';
import type { NamespaceFacts, WorkloadFacts } from './policy.js';

export interface Inventory {
  readonly namespaces: NamespaceFacts[];
  readonly workloads: WorkloadFacts[];
  /** Workloads at 0 with a readable nozzle.io/replicas backup: what Nozzle saves. */
  readonly asleep: TrackedSleep[];
  /** List requests made (pages included): for the summary and the tests. */
  readonly listCalls: number;
}

interface Page<T> {
  readonly items: T[] | null;
  readonly metadata?: V1ListMeta;
}

type ChangeMeta = Parameters<typeof lastChange>[0] &
  Parameters<typeof sleptAt>[0] & {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };

interface Meta {
  readonly metadata?: ChangeMeta;
}

/** Asks the apiserver for metadata only: a pod list without spec and status is a fraction of the bytes. */
const metadataOnly = setHeaderOptions(
  'Accept',
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
);

export async function takeInventory(kube: Kube, selector: string, pageSize: number): Promise<Inventory> {
  let listCalls = 0;
  const forEach = async <T>(
    page: (token: string | undefined) => Promise<Page<T>>,
    each: (item: T) => void,
  ): Promise<void> => {
    let token: string | undefined;
    do {
      const result = await page(token);
      listCalls++;
      (result.items ?? []).forEach(each); // a metadata-only list of nothing has `"items": null`
      token = result.metadata?._continue || undefined;
    } while (token !== undefined);
  };

  const namespaceItems: Meta[] = [];
  await forEach(
    (token) => kube.core.listNamespace({ labelSelector: selector, limit: pageSize, _continue: token }),
    (ns) => void namespaceItems.push(ns),
  );
  if (namespaceItems.length === 0) return { namespaces: [], workloads: [], asleep: [], listCalls };

  const changed = new Map<string, Activity | undefined>();
  const note = (namespace: string, activity: Activity | undefined): void => {
    if (changed.has(namespace)) changed.set(namespace, newest(changed.get(namespace), activity));
  };
  for (const ns of namespaceItems) changed.set(ns.metadata?.name ?? '', lastChange(ns.metadata, 'Namespace'));

  const workloads: WorkloadFacts[] = [];
  const asleep: TrackedSleep[] = [];
  const collect =
    (kind: WorkloadFacts['kind']) =>
    (w: Meta & { spec?: { replicas?: number; template?: { spec?: V1PodSpec } } }): void => {
      const namespace = w.metadata?.namespace ?? '';
      if (!changed.has(namespace)) return;
      const name = w.metadata?.name ?? '';
      note(namespace, lastChange(w.metadata, `${kind}/${name}`));
      workloads.push({ kind, namespace, name, replicas: w.spec?.replicas, ...labelsAndAnnotations(w) });
      const backup = w.metadata?.annotations?.[annotations.replicas]?.trim() ?? '';
      if (w.spec?.replicas === 0 && /^[1-9]\d{0,8}$/.test(backup)) {
        asleep.push({
          key: `${kind}/${namespace}/${name}`,
          namespace,
          replicas: Number(backup),
          perPod: podRequests(w.spec.template?.spec),
          since: sleptAt(w.metadata ?? {}),
        });
      }
    };
  await forEach(
    (token) => kube.apps.listDeploymentForAllNamespaces({ limit: pageSize, _continue: token }),
    collect('Deployment'),
  );
  await forEach(
    (token) => kube.apps.listStatefulSetForAllNamespaces({ limit: pageSize, _continue: token }),
    collect('StatefulSet'),
  );
  await forEach(
    (token) => kube.core.listPodForAllNamespaces({ limit: pageSize, _continue: token }, metadataOnly),
    (pod: Meta) => note(pod.metadata?.namespace ?? '', podCreated(pod.metadata, pod.metadata?.name ?? '')),
  );

  const namespaces = namespaceItems.map((ns): NamespaceFacts => {
    const name = ns.metadata?.name ?? '';
    const change = changed.get(name);
    return { name, ...labelsAndAnnotations(ns), ...(change ? { changed: change } : {}) };
  });
  return { namespaces, workloads, asleep, listCalls };
}

const labelsAndAnnotations = (
  object: Meta,
): { labels?: Record<string, string>; annotations?: Record<string, string> } => ({
  ...(object.metadata?.labels ? { labels: object.metadata.labels } : {}),
  ...(object.metadata?.annotations ? { annotations: object.metadata.annotations } : {}),
});
