/**
 * The activator runs under its own ServiceAccount with the ClusterRole in
 * k8s/rbac-activator.yaml: a whole wake works with a real TokenRequest token
 * for it, and what it has no business doing is refused (403).
 */
import test from 'ava';
import { request } from 'undici';
import { UpstreamAddresses } from '../../activator/upstream-address.js';
import { statusOf } from '../../lib/errors.js';
import { annotations, labels } from '../../lib/names.js';
import { asServiceAccount } from '../support/rbac.js';
import { adminKube } from '../support/env.js';
import { eventually, makeReady, startSleepingStage, type AppSpec } from '../support/activator.js';

const kube = adminKube();

test('a wake works with the activator ServiceAccount token and the ClusterRole from k8s/; the rest is 403', async (t) => {
  const asActivator = await asServiceAccount(t, 'k8s/rbac-activator.yaml', 'nozzle-activator');

  const apps: AppSpec[] = [{ name: 'web', replicas: 2, servicePort: 8080, portName: 'http' }];
  const { namespace, host, activator } = await startSleepingStage(t, kube, {
    prefix: 'rbac',
    apps,
    app: 'rbac',
    activatorKube: asActivator,
    index: 'the index (list/watch Ingresses cluster-wide)',
  });

  const held = request(`${activator.url}/`, { method: 'POST', body: 'hello', headers: { host } });
  await eventually(async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    return d.spec?.replicas === 2;
  }, 'replicas restored (patch deployments)');
  await makeReady(kube, namespace, apps[0]!);
  const res = await held;
  t.is(res.statusCode, 200, 'readiness seen (list/watch EndpointSlices) and forwarded');
  await res.body.text();
  await eventually(async () => {
    const ing = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
    return ing.metadata?.labels?.[labels.managed] === undefined;
  }, 'Ingress restored (patch ingresses)');
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt], 'woke-at stamped (patch namespaces)');
  await eventually(async () => {
    const events = await kube.events.listNamespacedEvent({ namespace });
    return events.items.some((e) => e.reason === 'Woke');
  }, 'the Woke Event (create events)');
  const addresses = new UpstreamAddresses({
    kube: asActivator,
    clusterDomain: 'cluster.local',
    devUpstreams: new Map(),
  });
  t.is(
    await addresses.origin({
      namespace,
      ingress: 'web',
      host,
      path: '/',
      pathType: 'Prefix',
      service: 'web',
      port: 'http',
    }),
    `http://web.${namespace}.svc.cluster.local:8080`,
    'named port resolved (get services)',
  );

  // Least privilege.
  const denied: [string, Promise<unknown>][] = [
    ['list secrets', asActivator.core.listNamespacedSecret({ namespace })],
    ['get configmaps', asActivator.core.readNamespacedConfigMap({ namespace, name: 'kube-root-ca.crt' })],
    ['list pods', asActivator.core.listNamespacedPod({ namespace })],
    ['delete deployments', asActivator.apps.deleteNamespacedDeployment({ namespace, name: 'web' })],
    [
      'create deployments',
      asActivator.apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: 'evil' },
          spec: {
            selector: { matchLabels: { a: 'b' } },
            template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
          },
        },
      }),
    ],
    ['delete ingresses', asActivator.networking.deleteNamespacedIngress({ namespace, name: 'web' })],
    [
      'create services',
      asActivator.core.createNamespacedService({
        namespace,
        body: { metadata: { name: 'x' }, spec: { ports: [{ port: 1 }] } },
      }),
    ],
    ['delete namespaces', asActivator.core.deleteNamespace({ name: namespace })],
    [
      'write endpointslices',
      asActivator.discovery.deleteNamespacedEndpointSlice({ namespace, name: 'web-abc12' }),
    ],
  ];
  for (const [what, call] of denied) {
    const err = await t.throwsAsync(call, undefined, what);
    t.is(statusOf(err), 403, what);
  }
});
