import type { Kube } from '../kube/client.js';
import { checkOptIn, type OptIn } from '../kube/opt-in.js';
import { restoreWorkloads, stampWokeAt, type RestoredWorkload } from './restore.js';

export interface WakeResult {
  readonly workloads: readonly RestoredWorkload[];
}

/**
 * The worker's `wake` operation, for manual and bulk wakes: the whole
 * namespace, without waiting for readiness (that is the activator's job when
 * a request is waiting). The namespace must have opted in (`optIn`; a
 * NamespaceRefusedError otherwise, before anything is written). woke-at is
 * stamped first: every sleep decided before this moment is then stale and
 * skipped, even one a worker is processing right now. Takeover slices are
 * left to the activator (removed once each Service has ready endpoints of its
 * own) and Ingresses 0.1 rewrote to the activator's leader (lib/upgrade).
 */
export async function wakeNamespace(
  kube: Kube,
  namespace: string,
  optIn: OptIn,
  at: Date = new Date(),
): Promise<WakeResult> {
  checkOptIn(optIn, await kube.core.readNamespace({ name: namespace }));
  await stampWokeAt(kube, namespace, at);
  return { workloads: await restoreWorkloads(kube, namespace) };
}
