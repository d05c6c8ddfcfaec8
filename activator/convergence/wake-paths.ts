/**
 * Lost wake paths (the convergence leader, at every resync): a workload
 * asleep (0 replicas and `nozzle.io/replicas`) that no request can wake any
 * more. Two ways to get there, both outside Nozzle:
 * - a Service that selects it has no takeover: deleted and re-applied while
 *   asleep (the takeover slice is owned by the Service and goes with it), or
 *   created while asleep. Its callers would be refused by kube-proxy, and the
 *   gateway would answer 503, until someone scales it by hand.
 * - its namespace opted out while it slept: Nozzle may no longer write there
 *   but to undo its own state (admission policy nozzle-opted-in).
 * Either way the namespace is woken, as the 0.1 upgrade does: the one path
 * with no new state to get wrong. An opted-in namespace sleeps again, with
 * takeover, once it has been idle for its idle-after; one that opted out is
 * left as Nozzle found it (replicas restored, takeovers removed, KEDA
 * resumed), so opting out never strands anything.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { refusalReason, type OptIn } from '../../lib/kube/opt-in.js';
import { labels } from '../../lib/names.js';
import { selectsPods, takeoverRefusal } from '../../lib/takeover/selecting-services.js';
import { removeTakeover, takeoverSlices } from '../../lib/takeover/takeover.js';
import { restoreWorkloads, stampWokeAt, type RestoredWorkload } from '../../lib/wake/restore.js';
import { isAsleep, type NamespaceObjects, type Workload } from './namespace-objects.js';

/** A namespace to wake, and why. */
export interface LostWakePath {
  readonly namespace: string;
  /** `no-takeover`: opted in, a Service without takeover; `opted-out`: the namespace left Nozzle while asleep. */
  readonly cause: 'no-takeover' | 'opted-out';
  /** For `no-takeover`, the Services without a takeover. */
  readonly services: readonly string[];
}

/** Pure: the Services that select a sleeping workload, could be taken over, and have no takeover slice. */
export function servicesWithoutWakePath(
  services: readonly V1Service[],
  workloads: readonly Workload[],
  takenOver: ReadonlySet<string>,
): string[] {
  const asleep = workloads.filter(isAsleep);
  return services
    .filter((service) => {
      const name = service.metadata?.name ?? '';
      if (!name || takenOver.has(name) || takeoverRefusal(service) !== undefined) return false;
      return asleep.some((w) => selectsPods(service, w.object.spec?.template.metadata?.labels ?? {}));
    })
    .map((service) => service.metadata?.name ?? '')
    .sort();
}

/**
 * The namespaces with a sleeping workload whose wake path is lost, among
 * `objects` (namespace-objects.ts); their takeover slices and Namespaces
 * listed once (or read, for `only`).
 */
export async function findLostWakePaths(
  kube: Kube,
  rules: OptIn,
  objects: ReadonlyMap<string, NamespaceObjects>,
  only?: string,
): Promise<LostWakePath[]> {
  const asleepIn = [...objects].filter(([, o]) => o.workloads.some(isAsleep));
  if (asleepIn.length === 0) return [];
  const [slices, namespaces] = await Promise.all([
    takeoverSlices(kube, only),
    only === undefined
      ? kube.core.listNamespace()
      : kube.core.readNamespace({ name: only }).then((ns) => ({ items: [ns] })),
  ]);
  const namespaceNamed = new Map(namespaces.items.map((ns) => [ns.metadata?.name ?? '', ns]));
  const takenOver = new Set(
    slices.map((s) => `${s.metadata?.namespace ?? ''}/${s.metadata?.labels?.[labels.serviceName] ?? ''}`),
  );
  const lost: LostWakePath[] = [];
  for (const [namespace, { workloads, services }] of asleepIn) {
    const ns = namespaceNamed.get(namespace);
    if (namespace === rules.systemNamespace || ns === undefined) continue;
    if (refusalReason(rules, ns) !== undefined) {
      lost.push({ namespace, cause: 'opted-out', services: [] });
      continue;
    }
    const mine = new Set(
      services.map((s) => s.metadata?.name ?? '').filter((name) => takenOver.has(`${namespace}/${name}`)),
    );
    const without = servicesWithoutWakePath(services, workloads, mine);
    if (without.length > 0) lost.push({ namespace, cause: 'no-takeover', services: without });
  }
  return lost;
}

/**
 * Wakes the namespace of a lost wake path: woke-at stamped (opted in only:
 * the Namespace of one that opted out is not Nozzle's to write), workloads
 * restored with KEDA resumed; for one that opted out, every takeover removed.
 */
export async function wakeLostPath(
  kube: Kube,
  lost: LostWakePath,
): Promise<{ restored: RestoredWorkload[]; removed: string[] }> {
  if (lost.cause === 'no-takeover') await stampWokeAt(kube, lost.namespace);
  const restored = await restoreWorkloads(kube, lost.namespace);
  const removed: string[] = [];
  if (lost.cause === 'opted-out') {
    const services = new Set(
      (await takeoverSlices(kube, lost.namespace)).map((s) => s.metadata?.labels?.[labels.serviceName] ?? ''),
    );
    for (const service of services) removed.push(...(await removeTakeover(kube, lost.namespace, service)));
  }
  return { restored, removed };
}

export function lostWakePathNote(lost: LostWakePath, restored: readonly RestoredWorkload[]): string {
  const what =
    restored.map((w) => `${w.kind} ${w.name} to ${w.replicas}`).join(', ') || 'nothing left to restore';
  return lost.cause === 'opted-out'
    ? `Woke: the namespace opted out while asleep; Nozzle restored ${what} and removed its takeovers`
    : `Woke: Service ${lost.services.join(', ')} selects a sleeping workload but has no takeover (re-created while asleep?), so no request could wake it; restored ${what}`;
}
