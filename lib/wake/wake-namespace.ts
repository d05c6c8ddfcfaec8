import type { Kube } from '../kube/client.js';
import { checkOptIn, type OptIn } from '../kube/opt-in.js';
import { restoreIngresses, restoreWorkloads, stampWokeAt, type RestoredWorkload } from './restore.js';

export interface WakeResult {
  readonly workloads: readonly RestoredWorkload[];
  readonly ingresses: readonly string[];
}

/**
 * The worker's `wake` operation, for manual and bulk wakes: the whole
 * namespace, without waiting for readiness (that is the activator's job when
 * a request is waiting). The namespace must have opted in (`optIn`; a
 * NamespaceRefusedError otherwise, before anything is written). woke-at is
 * stamped first: every sleep decided before this moment is then stale and
 * skipped, even one a worker is processing right now.
 */
export async function wakeNamespace(
  kube: Kube,
  namespace: string,
  optIn: OptIn,
  at: Date = new Date(),
): Promise<WakeResult> {
  checkOptIn(optIn, await kube.core.readNamespace({ name: namespace }));
  await stampWokeAt(kube, namespace, at);
  const workloads = await restoreWorkloads(kube, namespace);
  const ingresses = await restoreIngresses(kube, namespace);
  return { workloads, ingresses };
}
