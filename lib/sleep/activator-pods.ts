/**
 * The ready activator pods, whose IPs become a takeover slice's endpoints
 * (design v2, "Sleep" step 1): pods in Nozzle's namespace labelled
 * `app.kubernetes.io/name=nozzle-activator`, Ready, not terminating, with an
 * IP. None ready means no wake path: the sleep is refused (retryable), never
 * carried out. The worker keeps them in a watch-fed cache
 * (worker/activator-pods.ts); `listActivatorPods` is the one-off read for
 * callers without one (`nozzle sleep`).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { ACTIVATOR_POD_SELECTOR } from '../names.js';
import type { ActivatorPod } from '../takeover/takeover-slice.js';

/** No activator pod is ready: a sleep now would leave the workload without a wake path. Retryable. */
export class NoActivatorError extends Error {
  override readonly name = 'NoActivatorError';
  constructor(systemNamespace: string) {
    super(`no ready activator pod in ${systemNamespace}: not put to sleep`);
  }
}

/** Pure: whether a pod can receive a sleeping Service's traffic now. */
export function isReadyPod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pure: the ready pods among `pods`, one entry per pod IP (a dual-stack pod gives two). */
export function activatorPodsOf(pods: readonly V1Pod[]): ActivatorPod[] {
  return pods.filter(isReadyPod).flatMap((pod) => {
    const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '');
    if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
    return ips.map((ip) => ({
      ip,
      podName: pod.metadata?.name ?? '',
      podUid: pod.metadata?.uid ?? '',
      namespace: pod.metadata?.namespace ?? '',
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    }));
  });
}

/** One list call: the ready activator pods of `systemNamespace`. */
export async function listActivatorPods(kube: Kube, systemNamespace: string): Promise<ActivatorPod[]> {
  const { items } = await kube.core.listNamespacedPod({
    namespace: systemNamespace,
    labelSelector: ACTIVATOR_POD_SELECTOR,
  });
  return activatorPodsOf(items);
}
