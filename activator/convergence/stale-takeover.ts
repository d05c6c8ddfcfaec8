/**
 * Stale takeovers (the convergence leader): a takeover slice nothing will
 * ever remove. A sleep can end "skipped" after its takeover step (the
 * workload was deleted, or scaled to 0 by someone else, between the takeover
 * and the scale), and a workload can be deleted while it sleeps. Its
 * Services then keep the takeover: connections are held until the 504
 * instead of being refused by kube-proxy, as they would be without Nozzle.
 *
 * A Service's takeover is stale when its slices have settled
 * (NOZZLE_TAKEOVER_SETTLE since `nozzle.io/ensured-at`: a sleep in progress
 * is never undone), it has no ready endpoints of its own (that is a wake by
 * someone else, woken-elsewhere.ts), and it selects no Deployment or
 * StatefulSet that is asleep (0 replicas and `nozzle.io/replicas`) or that
 * runs (replicas above 0: a wake in progress, whose pods are not ready yet,
 * still needs the takeover to hold its connections; the wake removes it).
 * A Service that is gone selects nothing.
 *
 * The workloads and Services come from namespace-objects.ts: one listing
 * per check, of one namespace or, at a resync, of the cluster.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { recordEvent } from '../../lib/kube/events.js';
import { selectsPods } from '../../lib/takeover/selecting-services.js';
import { annotations } from '../../lib/names.js';
import { removeTakeover } from '../../lib/takeover/takeover.js';
import { WAKE_REPORTING_CONTROLLER } from '../../lib/wake/event.js';
import { isAsleep, type NamespaceObjects, type Workload } from './namespace-objects.js';

const describe = (w: Workload): string => `${w.kind} ${w.object.metadata?.name ?? ''}`;

/**
 * Pure: why the takeover of a settled Service with no ready endpoints of its
 * own is stale, or undefined when it must stay (it selects a workload that
 * sleeps, or one that runs and may still become ready).
 */
export function staleReason(
  name: string,
  service: V1Service | undefined,
  workloads: readonly Workload[],
): string | undefined {
  if (service === undefined) return `Service ${name} is gone`;
  const selected = workloads.filter((w) =>
    selectsPods(service, w.object.spec?.template.metadata?.labels ?? {}),
  );
  if (selected.some(isAsleep)) return undefined;
  if (selected.some((w) => (w.object.spec?.replicas ?? 1) > 0)) return undefined;
  if (selected.length === 0) return `Service ${name} selects no Deployment or StatefulSet`;
  return `Service ${name} selects only workloads at 0 replicas without ${annotations.replicas} (scaled down outside Nozzle): ${selected.map(describe).join(', ')}`;
}

export interface StaleTakeover {
  readonly service: string;
  readonly reason: string;
  readonly removed: readonly string[];
}

/**
 * For the leader: removes the takeover of each of `candidates` (Services of
 * `namespace` whose slices have settled and that have no ready endpoints of
 * their own) that is stale, judged from the namespace's `objects`.
 */
export async function removeStaleTakeovers(
  kube: Kube,
  namespace: string,
  candidates: readonly string[],
  objects: NamespaceObjects,
): Promise<StaleTakeover[]> {
  const byName = new Map(objects.services.map((s) => [s.metadata?.name ?? '', s]));
  const stale: StaleTakeover[] = [];
  for (const service of candidates) {
    const reason = staleReason(service, byName.get(service), objects.workloads);
    if (reason === undefined) continue;
    const removed = await removeTakeover(kube, namespace, service);
    if (removed.length > 0) stale.push({ service, reason, removed });
  }
  return stale;
}

export const staleNote = (stale: StaleTakeover): string =>
  `Takeover of Service ${stale.service} removed: nothing of it sleeps (${stale.reason})`;

/** The Event on the namespace, beside the Woke and Slept ones. */
export function recordStaleEvent(kube: Kube, namespace: string, stale: StaleTakeover): Promise<void> {
  return recordEvent(kube, {
    namespace,
    regarding: { apiVersion: 'v1', kind: 'Namespace', name: namespace, namespace },
    action: 'RemoveTakeover',
    reason: 'StaleTakeover',
    note: staleNote(stale),
    type: 'Normal',
    reportingController: WAKE_REPORTING_CONTROLLER,
  });
}
