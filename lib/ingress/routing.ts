/**
 * The one write Nozzle makes to an Ingress (0.1 rewrote them; version 2 only
 * restores them on upgrade, ingress-v01.ts): its routing (spec.rules), the
 * nozzle.io/backends annotation and the nozzle.io/managed label, in ONE merge patch conditional on the
 * resourceVersion it was decided on (409 -> re-read and decide again).
 */
import type { V1Ingress, V1IngressRule } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { mergePatch } from '../kube/patch.js';
import { FIELD_MANAGER, annotations, labels } from '../names.js';
import { retryOnConflictFrom } from '../kube/conflict.js';

export interface IngressRouting {
  readonly rules: V1IngressRule[];
  /** nozzle.io/backends: the serialized records, or null to remove it. */
  readonly backends: string | null;
  /** nozzle.io/managed: 'true', or null to remove it. */
  readonly managed: 'true' | null;
}

/**
 * Decides on the listed Ingress (on a fresh read after a 409) and writes what
 * `decide` returns; `decide` returns undefined when there is nothing to write.
 * Never called for an Ingress that is gone. Resolves to whether it wrote.
 */
export async function updateIngressRouting(
  kube: Kube,
  namespace: string,
  listed: V1Ingress,
  decide: (ingress: V1Ingress) => IngressRouting | undefined,
): Promise<boolean> {
  const name = listed.metadata?.name ?? '';
  return retryOnConflictFrom(
    `Ingress ${namespace}/${name}`,
    listed,
    () => kube.networking.readNamespacedIngress({ namespace, name }),
    async (ingress) => {
      if (ingress === undefined) return false; // gone
      const routing = decide(ingress);
      if (routing === undefined) return false;
      await kube.networking.patchNamespacedIngress(
        {
          namespace,
          name,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: {
              resourceVersion: ingress.metadata?.resourceVersion,
              annotations: { [annotations.backends]: routing.backends },
              labels: { [labels.managed]: routing.managed },
            },
            spec: { rules: routing.rules },
          },
        },
        mergePatch,
      );
      return true;
    },
  );
}
