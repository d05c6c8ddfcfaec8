/**
 * Step 2 of a sleep: every Ingress path that targets one of the workload's
 * Services now targets the `nozzle-activator` route Service; the original
 * backends are recorded in nozzle.io/backends (merged with what other
 * workloads' sleeps recorded on the same Ingress) and the Ingress is labelled
 * nozzle.io/managed=true, which is what the activator watches.
 */
import type { V1Ingress, V1IngressBackend, V1IngressRule } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { mergeBackends, parseBackends, serializeBackends, type BackendRecord } from '../backends.js';
import { updateIngressRouting } from '../ingress/routing.js';
import { ROUTE_SERVICE, annotations } from '../names.js';
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
  /** The namespace's Ingresses if just listed (an outdated one costs a 409 and a re-read), else listed here. */
  listedIngresses?: readonly V1Ingress[],
): Promise<string[]> {
  if (services.length === 0) return [];
  const targets = new Set(services);
  const items = listedIngresses ?? (await kube.networking.listNamespacedIngress({ namespace })).items;
  const changed: string[] = [];
  for (const listed of items) {
    if (rewriteRules(listed.spec?.rules ?? [], targets).records.length === 0) continue;
    const didChange = await updateIngressRouting(kube, namespace, listed, (ingress) => {
      const { rules, records } = rewriteRules(ingress.spec?.rules ?? [], targets);
      if (records.length === 0) return undefined; // rewritten by an earlier delivery
      const recorded = mergeBackends(
        parseBackends(ingress.metadata?.annotations?.[annotations.backends]),
        records,
      );
      return { rules, backends: serializeBackends(recorded), managed: 'true' };
    });
    if (didChange) changed.push(listed.metadata?.name ?? '');
  }
  return changed;
}
