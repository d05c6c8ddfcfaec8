/**
 * Upgrade from Nozzle 0.1: a namespace 0.1 left asleep has its Ingress paths
 * rewritten to the ExternalName route Service `nozzle-activator`, the
 * original backends in `nozzle.io/backends`, and its workloads at 0 with
 * `nozzle.io/replicas`. Version 2 does not convert that to takeover: it WAKES
 * the namespace (workloads restored, every Ingress restored exactly as it was
 * before 0.1 rewrote it, the route Service deleted). The next publisher round
 * puts it back to sleep with takeover once it is idle; nothing of the user's
 * routing stays rewritten meanwhile. The activator's leader runs it
 * (activator/convergence/upgrade-v01.ts).
 *
 * Every step is idempotent and conditional (resourceVersion / uid
 * preconditions): two leaders, or a crash half-way, leave a state the next run
 * completes.
 */
import type { V1Ingress, V1IngressRule, V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { isConflict, isNotFound } from '../errors.js';
import { ROUTE_SERVICE, annotations, labels } from '../names.js';
import { restoreEach } from '../wake/restore-error.js';
import { restoreWorkloads, stampWokeAt, type RestoredWorkload } from '../wake/restore.js';
import { parseBackends, recordsPath, type BackendRecord } from '../backends.js';
import { updateIngressRouting } from '../ingress/routing.js';

/** Whether 0.1 rewrote this Ingress (it carries nozzle.io/backends). */
export const isRewrittenIngress = (ingress: V1Ingress): boolean =>
  ingress.metadata?.annotations?.[annotations.backends] !== undefined;

/** The namespaces with an Ingress 0.1 rewrote (among `namespace` only, when given): one list call. */
export async function namespacesAsleepV01(kube: Kube, namespace?: string): Promise<string[]> {
  const { items } =
    namespace === undefined
      ? await kube.networking.listIngressForAllNamespaces()
      : await kube.networking.listNamespacedIngress({ namespace });
  return [...new Set(items.filter(isRewrittenIngress).map((i) => i.metadata?.namespace ?? ''))]
    .filter((ns) => ns !== '')
    .sort();
}

/**
 * Restores every Ingress in the namespace carrying nozzle.io/backends:
 * original backends back, annotation AND the nozzle.io/managed label removed,
 * in one request with a resourceVersion precondition. Returns the names of
 * Ingresses restored.
 */
export async function restoreIngresses(kube: Kube, namespace: string): Promise<string[]> {
  const list = await kube.networking.listNamespacedIngress({ namespace });
  return restoreEach(
    namespace,
    list.items.filter(isRewrittenIngress),
    (ingress) => `Ingress ${namespace}/${ingress.metadata?.name ?? ''}`,
    (ingress) => restoreIngress(kube, namespace, ingress),
  );
}

async function restoreIngress(kube: Kube, namespace: string, listed: V1Ingress): Promise<string | undefined> {
  const restored = await updateIngressRouting(kube, namespace, listed, (ingress) => {
    const text = ingress.metadata?.annotations?.[annotations.backends];
    if (text === undefined) return undefined; // restored by someone else
    const rules = withOriginalBackends(ingress.spec?.rules ?? [], parseBackends(text));
    return { rules, backends: null, managed: null };
  });
  return restored ? (listed.metadata?.name ?? '') : undefined;
}

/**
 * Puts each recorded backend back on its host + pathType + path. A path whose
 * backend is no longer the route Service was changed by someone since: it is
 * left as is.
 */
export function withOriginalBackends(
  rules: readonly V1IngressRule[],
  records: readonly BackendRecord[],
): V1IngressRule[] {
  const plain = JSON.parse(JSON.stringify(rules)) as V1IngressRule[];
  for (const rule of plain) {
    for (const path of rule.http?.paths ?? []) {
      const here = { host: rule.host ?? '', path: path.path ?? '', pathType: path.pathType };
      const record = records.find((r) => recordsPath(r, here));
      if (record && path.backend.service?.name === ROUTE_SERVICE) path.backend = record.backend;
    }
  }
  return plain;
}

/** The 0.1 route Service: ExternalName, labelled nozzle.io/managed=true. Anything else of that name is the user's. */
export const isRouteService = (service: V1Service): boolean =>
  service.metadata?.name === ROUTE_SERVICE &&
  service.metadata.labels?.[labels.managed] === 'true' &&
  service.spec?.type === 'ExternalName';

/** Deletes the namespace's 0.1 route Service as read (uid precondition); false when there is none (or not Nozzle's). */
export async function deleteRouteService(kube: Kube, namespace: string): Promise<boolean> {
  let service: V1Service;
  try {
    service = await kube.core.readNamespacedService({ namespace, name: ROUTE_SERVICE });
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!isRouteService(service)) return false;
  try {
    await kube.core.deleteNamespacedService({
      namespace,
      name: ROUTE_SERVICE,
      body: { preconditions: { uid: service.metadata?.uid } },
    });
    return true;
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return false;
    throw err;
  }
}

export interface UpgradeResult {
  readonly workloads: readonly RestoredWorkload[];
  readonly ingresses: readonly string[];
  readonly routeServiceDeleted: boolean;
}

/**
 * Wakes a namespace 0.1 left asleep: woke-at (a 0.1 sleep still queued is
 * then stale), workloads, Ingresses (only once the workloads are restored: an
 * Ingress restored over a workload at 0 would never wake it again), and last
 * the route Service nothing points at any more.
 */
export async function upgradeNamespaceV01(
  kube: Kube,
  namespace: string,
  at: Date = new Date(),
): Promise<UpgradeResult> {
  await stampWokeAt(kube, namespace, at);
  const workloads = await restoreWorkloads(kube, namespace);
  const ingresses = await restoreIngresses(kube, namespace);
  const routeServiceDeleted = await deleteRouteService(kube, namespace);
  return { workloads, ingresses, routeServiceDeleted };
}
