/**
 * The activator runs under its own ServiceAccount with k8s/rbac-activator.yaml
 * and the policies of k8s/admission-policy.yaml: with a real TokenRequest
 * token, a whole wake, the convergence leader (leader Lease, re-pointing,
 * stale port Leases) and the 0.1 upgrade work, and what it has no business
 * doing is refused (403), by RBAC or by admission.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { Convergence } from '../../activator/convergence/convergence.js';
import { createActivatorMetrics } from '../../activator/metrics.js';
import { Wake, kubeWakeDeps } from '../../activator/wake.js';
import { statusOf } from '../../lib/errors.js';
import { mergePatch } from '../../lib/kube/patch.js';
import { ROUTE_SERVICE, annotations, labels } from '../../lib/names.js';
import { takeoverSlices } from '../../lib/takeover/takeover.js';
import { upgradeNamespaceV01 } from '../../lib/upgrade/ingress-v01.js';
import { clearStaleBackups } from '../../lib/wake/clear-backup.js';
import { serializeBackends } from '../../lib/backends.js';
import { applyAdmissionPolicies, asServiceAccount } from '../support/rbac.js';
import { adminKube, uniqueName } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { createNamespace, deployment } from '../support/shop.js';
import {
  NamespaceIndex,
  asleepWithTakeover,
  controllerSlice,
  quiet,
  runActivatorPod,
} from '../activator/convergence/fixtures.js';

const kube = adminKube();

/** An Ingress rule as 0.1 rewrote it: its path to the route Service. */
const routedRules = [
  {
    host: 'a.example',
    http: {
      paths: [
        {
          path: '/',
          pathType: 'Prefix',
          backend: { service: { name: ROUTE_SERVICE, port: { number: 80 } } },
        },
      ],
    },
  },
];

async function refused(what: string, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    if (statusOf(err) === 403) return what;
    throw new Error(`${what}: ${String(err)}`, { cause: err });
  }
  throw new Error(`${what}: allowed`);
}

test('wake, leader and 0.1 upgrade work with the activator token; the rest is refused', async (t) => {
  const asActivator = await asServiceAccount(t, 'k8s/rbac-activator.yaml', 'nozzle-activator');
  await applyAdmissionPolicies();

  // Wake: stamp, restore, remove takeover, Event.
  const { namespace } = await asleepWithTakeover(
    kube,
    'rbac-act',
    { web: 2, api: 1 },
    { system: 'nozzle-system' },
  );
  const index = new NamespaceIndex(asActivator, namespace);
  t.teardown(() => index.stop());
  const metrics = createActivatorMetrics(new Registry());
  const wake = new Wake(
    namespace,
    kubeWakeDeps({ kube: asActivator, index, log: quiet, metrics, readinessTimeoutMs: 30_000 }),
  );
  await eventually('restored', async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    return d.spec?.replicas === 2;
  });
  await controllerSlice(kube, namespace, 'web');
  await controllerSlice(kube, namespace, 'api');
  await wake.done;
  t.is(wake.state, 'ready', wake.failure?.message);
  t.deepEqual(await takeoverSlices(kube, namespace), [], 'takeover slices deleted');
  // A workload scaled up by hand keeps a stale backup: the leader clears it (admission: replicas kept).
  await kube.apps.patchNamespacedDeployment(
    { namespace, name: 'web', body: { metadata: { annotations: { [annotations.replicas]: '5' } } } },
    mergePatch,
  );
  t.deepEqual(
    (await clearStaleBackups(asActivator, namespace)).map((c) => `${c.name}=${c.replicas} (${c.backup})`),
    ['web=2 (5)'],
  );

  // Leader: Lease, pods, re-pointing, stale port Leases.
  const { namespace: asleep } = await asleepWithTakeover(
    kube,
    'rbac-conv',
    { web: 1 },
    { system: 'nozzle-system' },
  );
  const pod = uniqueName('activator');
  await runActivatorPod(kube, 'nozzle-system', pod, '10.244.7.7');
  t.teardown(() =>
    kube.core.deleteNamespacedPod({ namespace: 'nozzle-system', name: pod }).then(() => undefined),
  );
  const asleepIndex = new NamespaceIndex(asActivator, asleep);
  t.teardown(() => asleepIndex.stop());
  const leader = new Convergence({
    kube: asActivator,
    index: asleepIndex,
    log: quiet,
    systemNamespace: 'nozzle-system',
    timing: { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 },
    settleMs: 60_000,
    resyncMs: 60_000,
    namespace: asleep,
    identity: 'rbac-test',
  }).start();
  await eventually('leads', () => leader.isLeader);
  await eventually('re-pointed', async () =>
    (await takeoverSlices(kube, asleep))[0]?.endpoints?.some((e) => e.addresses[0] === '10.244.7.7'),
  );
  await leader.stop();

  // 0.1 upgrade: Ingress restored, route Service deleted.
  const { namespace: old } = await createNamespace(kube, 'rbac-v01');
  const body = deployment('web', 0);
  body.metadata!.annotations = { [annotations.replicas]: '1' };
  await kube.apps.createNamespacedDeployment({ namespace: old, body });
  const original = { service: { name: 'web', port: { number: 80 } } };
  await kube.networking.createNamespacedIngress({
    namespace: old,
    body: {
      metadata: {
        name: 'web',
        labels: { [labels.managed]: 'true' },
        annotations: {
          [annotations.backends]: serializeBackends([
            { host: 'a.example', path: '/', pathType: 'Prefix', backend: original },
          ]),
        },
      },
      spec: {
        rules: routedRules,
      },
    },
  });
  await kube.core.createNamespacedService({
    namespace: old,
    body: {
      metadata: { name: ROUTE_SERVICE, labels: { [labels.managed]: 'true' } },
      spec: { type: 'ExternalName', externalName: 'nozzle-activator.nozzle-system.svc.cluster.local' },
    },
  });
  await kube.core.createNamespacedService({
    namespace: old,
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
  });
  const upgraded = await upgradeNamespaceV01(asActivator, old);
  t.deepEqual(upgraded.ingresses, ['web']);
  t.true(upgraded.routeServiceDeleted);
  const ingress = await kube.networking.readNamespacedIngress({ namespace: old, name: 'web' });
  t.deepEqual(JSON.parse(JSON.stringify(ingress.spec?.rules?.[0]?.http?.paths[0]?.backend)), original);

  // Refused.
  const { namespace: foreign } = await createNamespace(kube, 'rbac-foreign');
  await controllerSlice(kube, foreign, 'web');
  const other = await kube.core.createNamespacedService({
    namespace: foreign,
    body: { metadata: { name: ROUTE_SERVICE }, spec: { ports: [{ port: 80 }] } },
  });
  const optedOut = uniqueName('rbac-out');
  await kube.core.createNamespace({ body: { metadata: { name: optedOut } } });
  const outSlice = await kube.discovery.createNamespacedEndpointSlice({
    namespace: optedOut,
    body: {
      metadata: {
        name: 'web-nozzle-ipv4',
        labels: { [labels.serviceName]: 'web', [labels.endpointSliceManagedBy]: 'nozzle.io' },
      },
      addressType: 'IPv4',
      endpoints: [],
    },
  });
  const denied = await Promise.all([
    refused('list secrets', () => asActivator.core.listNamespacedSecret({ namespace })),
    refused('create deployments', () =>
      asActivator.apps.createNamespacedDeployment({ namespace, body: deployment('evil', 1) }),
    ),
    refused('delete deployments', () =>
      asActivator.apps.deleteNamespacedDeployment({ namespace, name: 'web' }),
    ),
    refused('create endpointslices', () =>
      asActivator.discovery.createNamespacedEndpointSlice({
        namespace,
        body: { metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [] },
      }),
    ),
    refused('update a controller-managed slice (admission)', async () => {
      const slice = await asActivator.discovery.readNamespacedEndpointSlice({
        namespace: foreign,
        name: 'web-ctrl1',
      });
      await asActivator.discovery.replaceNamespacedEndpointSlice({
        namespace: foreign,
        name: 'web-ctrl1',
        body: { ...slice, endpoints: [] },
      });
    }),
    refused('delete a controller-managed slice (admission)', () =>
      asActivator.discovery.deleteNamespacedEndpointSlice({ namespace: foreign, name: 'web-ctrl1' }),
    ),
    // Deleting it there is allowed: the undo of a namespace that opted out while asleep (wake-paths.ts).
    refused('update a takeover slice in a namespace that did not opt in (admission)', () =>
      asActivator.discovery.replaceNamespacedEndpointSlice({
        namespace: optedOut,
        name: outSlice.metadata!.name!,
        body: { ...outSlice, endpoints: [] },
      }),
    ),
    refused('delete another Service (admission)', () =>
      asActivator.core.deleteNamespacedService({ namespace: old, name: 'web' }),
    ),
    refused("delete a user's Service named nozzle-activator (admission)", () =>
      asActivator.core.deleteNamespacedService({ namespace: foreign, name: other.metadata!.name! }),
    ),
    refused('create services', () =>
      asActivator.core.createNamespacedService({
        namespace,
        body: { metadata: { name: 'x' }, spec: { ports: [{ port: 1 }] } },
      }),
    ),
    refused('create a Lease other than the leader (admission)', () =>
      asActivator.coordination.createNamespacedLease({
        namespace: 'nozzle-system',
        body: { metadata: { name: uniqueName('x') }, spec: {} },
      }),
    ),
    refused('leases outside nozzle-system', () =>
      asActivator.coordination.listNamespacedLease({ namespace }),
    ),
    refused('pods outside nozzle-system', () => asActivator.core.listNamespacedPod({ namespace })),
    refused('point an Ingress at the route Service (admission)', () =>
      asActivator.networking.patchNamespacedIngress(
        {
          namespace: old,
          name: 'web',
          body: {
            spec: {
              rules: routedRules,
            },
          },
        },
        mergePatch,
      ),
    ),
    refused('delete namespaces', () => asActivator.core.deleteNamespace({ name: namespace })),
  ]);
  t.is(denied.length, 15);
});
