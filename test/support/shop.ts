/**
 * Namespaces to put to sleep: real objects in the real apiserver. No
 * controller-manager runs in the test environment, so workloads never get
 * pods: what is asserted is what Nozzle writes (spec, annotations, labels).
 */
import type { V1Deployment, V1Ingress, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { uniqueName } from './env.js';

export interface Shop {
  readonly namespace: string;
  /** Label selector that matches this namespace only: run the publisher with it. */
  readonly selector: string;
}

const template = (app: string) => ({
  metadata: { labels: { app, tier: 'shop' } },
  spec: {
    containers: [{ name: app, image: `example/${app}:1`, ports: [{ name: 'http', containerPort: 8080 }] }],
  },
});

export function deployment(name: string, replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name) },
  };
}

export function statefulSet(name: string, replicas: number): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, labels: { app: name } },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: template(name) },
  };
}

export function service(
  name: string,
  selector: Record<string, string> | undefined,
  portName = 'http',
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      // Headless: the test apiserver's service IP range is small, and no IP is needed to select pods.
      clusterIP: 'None',
      ...(selector ? { selector } : {}),
      ports: [{ name: portName, port: 80, targetPort: 'http' }],
    },
  };
}

/**
 * An opted-in namespace (nozzle=true), also labelled with a selector of its own
 * (so concurrent tests' publishers never see each other's).
 */
export async function createNamespace(
  kube: Kube,
  prefix: string,
  annotations?: Record<string, string>,
): Promise<Shop> {
  const namespace = uniqueName(prefix);
  const key = `nozzle-test-${namespace}`.slice(0, 63);
  await kube.core.createNamespace({
    body: {
      metadata: {
        name: namespace,
        // nozzle=true: opted in for a worker with the default selector; the key of its own for a publisher.
        labels: { nozzle: 'true', [key]: 'true' },
        ...(annotations ? { annotations } : {}),
      },
    },
  });
  return { namespace, selector: `${key}=true` };
}

/**
 * The namespace of the main scenario: Deployments web (3) and api (2),
 * StatefulSet db (1), their Services, and one Ingress shared by web and api
 * (two hosts, a host-less rule, a numbered and a named port, and a path to a
 * Service of no workload that must stay as it is). Plus a second Ingress for
 * db only.
 */
export async function createShop(kube: Kube, prefix = 'shop'): Promise<Shop> {
  const shop = await createNamespace(kube, prefix);
  const { namespace } = shop;
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 3) });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('api', 2) });
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('db', 1) });
  for (const body of [
    service('web', { app: 'web' }),
    service('api', { app: 'api' }, 'api-http'),
    service('db', { app: 'db' }),
    service('static', undefined),
    // Selects web's pods too (by a subset of its labels): its paths must be rewritten with web's.
    service('web-alias', { app: 'web', tier: 'shop' }),
  ]) {
    await kube.core.createNamespacedService({ namespace, body });
  }
  await kube.networking.createNamespacedIngress({ namespace, body: sharedIngress() });
  await kube.networking.createNamespacedIngress({ namespace, body: dbIngress() });
  return shop;
}

export function sharedIngress(): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'shop', annotations: { 'example.com/owner': 'team-shop' }, labels: { team: 'shop' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
              {
                path: '/api',
                pathType: 'Prefix',
                backend: { service: { name: 'api', port: { name: 'api-http' } } },
              },
              {
                path: '/static',
                pathType: 'Prefix',
                backend: { service: { name: 'static', port: { number: 80 } } },
              },
            ],
          },
        },
        {
          host: 'www.shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Exact',
                backend: { service: { name: 'web-alias', port: { number: 80 } } },
              },
            ],
          },
        },
        {
          http: {
            paths: [
              {
                path: '/healthz',
                pathType: 'ImplementationSpecific',
                backend: { service: { name: 'api', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

function dbIngress(): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'db-admin' },
    spec: {
      rules: [
        {
          host: 'db.shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'db', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** Everything of the namespace a sleep and a wake may touch, as the apiserver returns it. */
export async function snapshot(kube: Kube, namespace: string) {
  const [deployments, statefulSets, ingresses, services] = await Promise.all([
    kube.apps.listNamespacedDeployment({ namespace }),
    kube.apps.listNamespacedStatefulSet({ namespace }),
    kube.networking.listNamespacedIngress({ namespace }),
    kube.core.listNamespacedService({ namespace }),
  ]);
  // Plain JSON, as the apiserver sent it (the client's model classes would not deep-equal plain objects).
  const byName = <T extends { metadata?: { name?: string } }>(items: T[]): Record<string, T> =>
    Object.fromEntries(items.map((i) => [i.metadata?.name ?? '', JSON.parse(JSON.stringify(i)) as T]));
  return {
    deployments: byName(deployments.items),
    statefulSets: byName(statefulSets.items),
    ingresses: byName(ingresses.items),
    services: byName(services.items),
  };
}
