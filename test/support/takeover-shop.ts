/**
 * A namespace whose Services can be taken over (ClusterIP, unlike the shop's
 * headless ones), beside a system namespace of its own with ready activator
 * pods: what a sleep with endpoint takeover needs. The shop's Deployments,
 * StatefulSet and Ingress are the same (support/shop.ts).
 *
 *   web      -> Deployment web: ports http 80/TCP (appProtocol http) and metrics 9090/UDP
 *   web-alias-> Deployment web (selects a subset of its labels): one unnamed port 8080
 *   api      -> Deployment api: port api-http 80
 *   db       -> StatefulSet db: headless, skipped
 *   web-ext  -> ExternalName with web's selector: skipped
 *   static   -> no selector: selects nothing
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { createSystemNamespace, readyActivatorPods } from './activator-pods.js';
import { createNamespace, deployment, service, sharedIngress, statefulSet } from './shop.js';

export interface TakeoverShop {
  readonly namespace: string;
  readonly selector: string;
  /** NOZZLE_SYSTEM_NAMESPACE for the worker: the activator pods and port Leases. */
  readonly system: string;
  /** The ready activator pods' IPs, sorted. */
  readonly activatorIps: readonly string[];
}

const clusterIp = (name: string, selector: Record<string, string>, ports: V1Service['spec']): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, labels: { team: 'shop' }, annotations: { 'example.com/owner': 'team-shop' } },
  spec: { selector, ...ports },
});

export async function createTakeoverShop(
  kube: Kube,
  prefix = 'tshop',
  options: { activators?: number; system?: string } = {},
): Promise<TakeoverShop> {
  const shop = await createNamespace(kube, prefix);
  const { namespace } = shop;
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 3) });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('api', 2) });
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('db', 1) });
  const services: V1Service[] = [
    clusterIp(
      'web',
      { app: 'web' },
      {
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
          { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'UDP' },
        ],
      },
    ),
    clusterIp('web-alias', { app: 'web', tier: 'shop' }, { ports: [{ port: 8080, targetPort: 8080 }] }),
    clusterIp('api', { app: 'api' }, { ports: [{ name: 'api-http', port: 80, targetPort: 'http' }] }),
    service('db', { app: 'db' }),
    {
      metadata: { name: 'web-ext' },
      spec: { type: 'ExternalName', externalName: 'web.example.com', selector: { app: 'web' } },
    },
    service('static', undefined),
  ];
  for (const body of services) await kube.core.createNamespacedService({ namespace, body });
  await kube.networking.createNamespacedIngress({ namespace, body: sharedIngress() });
  const system = options.system ?? (await createSystemNamespace(kube));
  const pods = options.activators === 0 ? [] : await readyActivatorPods(kube, system, options.activators);
  const activatorIps = pods.map((p) => p.status?.podIP ?? '').sort();
  return { ...shop, system, activatorIps };
}

/** The takeover slices of a namespace, by name, as plain JSON. */
export async function takeoverSlicesByName(kube: Kube, namespace: string) {
  const { items } = await kube.discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: 'endpointslice.kubernetes.io/managed-by=nozzle.io',
  });
  return Object.fromEntries(
    items.map((s): [string, V1EndpointSlice] => [
      s.metadata?.name ?? '',
      JSON.parse(JSON.stringify(s)) as V1EndpointSlice,
    ]),
  );
}

/** Generation and resourceVersion of every Service and Ingress: a sleep must leave them all as they are. */
export async function userObjectVersions(kube: Kube, namespace: string): Promise<Record<string, string>> {
  const [services, ingresses] = await Promise.all([
    kube.core.listNamespacedService({ namespace }),
    kube.networking.listNamespacedIngress({ namespace }),
  ]);
  return Object.fromEntries<string>([
    ...services.items.map((s): [string, string] => [
      `Service/${s.metadata?.name}`,
      `${s.metadata?.resourceVersion}`,
    ]),
    ...ingresses.items.map((i): [string, string] => [
      `Ingress/${i.metadata?.name}`,
      `${i.metadata?.generation}/${i.metadata?.resourceVersion}`,
    ]),
  ]);
}
