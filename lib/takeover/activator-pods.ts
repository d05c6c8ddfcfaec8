/**
 * The ready activator pods, the endpoints of every takeover slice: pods in
 * Nozzle's namespace labelled `app.kubernetes.io/name=nozzle-activator` that
 * are Ready, not terminating, and have an IP (one ActivatorPod per pod IP: a
 * dual-stack pod is two). Pure selection plus one list call. None ready means
 * no wake path: a sleep is refused (NoActivatorError, retryable), never
 * carried out. The worker keeps them in a watch-fed cache
 * (worker/activator-pods.ts) with the same selection.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { ACTIVATOR_POD_SELECTOR } from '../names.js';
import type { ActivatorPod } from './takeover-slice.js';

/** No activator pod is ready: a sleep now would leave the workload without a wake path. Retryable. */
export class NoActivatorError extends Error {
  override readonly name = 'NoActivatorError';
  constructor(systemNamespace: string) {
    super(`no ready activator pod in ${systemNamespace}: not put to sleep`);
  }
}

/** Pure: whether the pod can serve (Ready condition True, no deletionTimestamp, an IP). */
export function isReadyPod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined) return false;
  if (!pod.status?.podIP) return false;
  return (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pure: the ActivatorPods of the ready pods, sorted by IP. */
export function readyActivatorPods(pods: readonly V1Pod[]): ActivatorPod[] {
  const out: ActivatorPod[] = [];
  for (const pod of pods.filter(isReadyPod)) {
    const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [pod.status?.podIP ?? ''];
    for (const ip of new Set(ips.filter((ip) => ip !== ''))) {
      out.push({
        ip,
        podName: pod.metadata?.name ?? '',
        podUid: pod.metadata?.uid ?? '',
        namespace: pod.metadata?.namespace ?? '',
        ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      });
    }
  }
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

/** One list call: the ready activator pods of `systemNamespace`. */
export async function listReadyActivatorPods(kube: Kube, systemNamespace: string): Promise<ActivatorPod[]> {
  const { items } = await kube.core.listNamespacedPod({
    namespace: systemNamespace,
    labelSelector: ACTIVATOR_POD_SELECTOR,
  });
  return readyActivatorPods(items);
}
