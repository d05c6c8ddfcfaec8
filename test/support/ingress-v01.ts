/**
 * An Ingress as Nozzle 0.1 left it asleep: the chosen paths (every path by
 * default) pointed at the route Service `nozzle-activator`, their original
 * backends recorded in `nozzle.io/backends`, and `nozzle.io/managed=true`.
 * Written as the cluster admin; the 0.1 upgrade restores it.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { serializeBackends } from '../../lib/backends.js';
import { mergePatch } from '../../lib/kube/patch.js';
import { ROUTE_SERVICE, annotations, labels } from '../../lib/names.js';

export async function rewriteAsV01(
  kube: Kube,
  namespace: string,
  name: string,
  rewrites: (service: string | undefined) => boolean = () => true,
): Promise<V1Ingress> {
  const ingress = await kube.networking.readNamespacedIngress({ namespace, name });
  const rules = ingress.spec?.rules ?? [];
  const records = rules.flatMap((rule) =>
    (rule.http?.paths ?? [])
      .filter((p) => rewrites(p.backend.service?.name))
      .map((p) => ({ host: rule.host ?? '', path: p.path ?? '', pathType: p.pathType, backend: p.backend })),
  );
  return kube.networking.patchNamespacedIngress(
    {
      namespace,
      name,
      body: {
        metadata: {
          annotations: { [annotations.backends]: serializeBackends(records) },
          labels: { [labels.managed]: 'true' },
        },
        spec: {
          rules: rules.map((rule) => ({
            ...rule,
            http: rule.http && {
              paths: rule.http.paths.map((p) =>
                rewrites(p.backend.service?.name)
                  ? { ...p, backend: { service: { name: ROUTE_SERVICE, port: { number: 80 } } } }
                  : p,
              ),
            },
          })),
        },
      },
    },
    mergePatch,
  );
}
