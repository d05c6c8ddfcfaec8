/**
 * Step 2 of a sleep: every Ingress path that targets one of the workload's
 * Services now targets the `nozzle-activator` route Service; the original
 * backends are recorded in nozzle.io/backends (merged with what other
 * workloads' sleeps recorded on the same Ingress) and the Ingress is labelled
 * nozzle.io/managed=true, which is what the activator watches.
 */
import type { V1Ingress, V1IngressBackend, V1IngressRule } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { mergePatch } from '../kube/patch.js';
import { mergeBackends, parseBackends, serializeBackends, type BackendRecord } from '../backends.js';
import { FIELD_MANAGER, ROUTE_SERVICE, annotations, labels } from '../names.js';
import { retryOnConflict } from '../wake/conflict.js';
import { undefinedIfNotFound } from '../wake/not-found.js';
import { ROUTE_PORT } from './route-service.js';

export const routeBackend = (): V1IngressBackend => ({
  service: { name: ROUTE_SERVICE, port: { number: ROUTE_PORT } },
});

/** Pure: the rules with every path to one of `services` pointed at the route Service, and what they pointed at. */
export function rewriteRules(
  rules: readonly V1IngressRule[],
  services: ReadonlySet<string>,
): { rules: V1IngressRule[]; records: BackendRecord[] } {
  const plain = JSON.parse(JSON.stringify(rules)) as V1IngressRule[];
  const records: BackendRecord[] = [];
  for (const rule of plain) {
    for (const path of rule.http?.paths ?? []) {
      const service = path.backend.service?.name;
      if (service === undefined || !services.has(service)) continue;
      records.push({
        host: rule.host ?? '',
        path: path.path ?? '',
        pathType: path.pathType,
        backend: path.backend,
      });
      path.backend = routeBackend();
    }
  }
  return { rules: plain, records };
}

/** Rewrites the namespace's Ingresses for `services`; returns the names of the Ingresses it changed. */
export async function rewriteIngresses(
  kube: Kube,
  namespace: string,
  services: readonly string[],
): Promise<string[]> {
  if (services.length === 0) return [];
  const targets = new Set(services);
  const list = await kube.networking.listNamespacedIngress({ namespace });
  const changed: string[] = [];
  for (const listed of list.items) {
    if (rewriteRules(listed.spec?.rules ?? [], targets).records.length === 0) continue;
    const name = listed.metadata?.name ?? '';
    let current: V1Ingress | undefined = listed;
    const didChange = await retryOnConflict(`Ingress ${namespace}/${name}`, async () => {
      current ??= await kube.networking.readNamespacedIngress({ namespace, name }).catch(undefinedIfNotFound);
      const ingress = current;
      current = undefined;
      if (ingress === undefined) return false;
      const { rules, records } = rewriteRules(ingress.spec?.rules ?? [], targets);
      if (records.length === 0) return false; // rewritten by an earlier delivery
      const recorded = mergeBackends(
        parseBackends(ingress.metadata?.annotations?.[annotations.backends]),
        records,
      );
      await kube.networking.patchNamespacedIngress(
        {
          namespace,
          name,
          fieldManager: FIELD_MANAGER,
          body: {
            metadata: {
              resourceVersion: ingress.metadata?.resourceVersion,
              annotations: { [annotations.backends]: serializeBackends(recorded) },
              labels: { [labels.managed]: 'true' },
            },
            spec: { rules },
          },
        },
        mergePatch,
      );
      return true;
    });
    if (didChange) changed.push(name);
  }
  return changed;
}
