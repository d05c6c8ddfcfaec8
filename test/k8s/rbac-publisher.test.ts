/**
 * The publisher runs under its own ServiceAccount with the ClusterRole in
 * k8s/rbac-publisher.yaml: its round's four list calls (pods as metadata
 * only included) work with a real TokenRequest token for it, and anything
 * else, above all a write, is refused (403).
 */
import test from 'ava';
import { statusOf } from '../../lib/errors.js';
import { takeInventory } from '../../publisher/inventory.js';
import { adminKube, uniqueName } from '../support/env.js';
import { asServiceAccount } from '../support/rbac.js';
import { deployment } from '../support/shop.js';

const kube = adminKube();

test('the inventory works with the publisher ServiceAccount token; reads beyond lists and every write are 403', async (t) => {
  const asPublisher = await asServiceAccount(t, 'k8s/rbac-publisher.yaml', 'nozzle-publisher');

  const namespace = uniqueName('rbac-pub');
  const label = `nozzle-test-${namespace}`;
  await kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { [label]: 'true' } } } });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 1) });
  // creationTimestamp has whole seconds: the pod must be the newest change to be named.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  // No controller-manager here to make the default ServiceAccount a pod needs.
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } });
  await kube.core.createNamespacedPod({
    namespace,
    body: { metadata: { name: 'web-1' }, spec: { containers: [{ name: 'app', image: 'app' }] } },
  });

  const inventory = await takeInventory(asPublisher, `${label}=true`, 5000);
  t.is(inventory.listCalls, 4);
  t.deepEqual(
    inventory.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}`),
    [`${namespace}/Deployment/web`],
  );
  t.like(inventory.namespaces[0], {
    name: namespace,
    changed: { source: 'change', detail: 'pod web-1 created' },
  });

  const refused = async (what: string, call: () => Promise<unknown>) => {
    const status = await call().then(
      () => 200,
      (err: unknown) => statusOf(err),
    );
    t.is(status, 403, what);
  };
  await refused('get a pod', () => asPublisher.core.readNamespacedPod({ namespace, name: 'web-1' }));
  await refused('list secrets', () => asPublisher.core.listSecretForAllNamespaces());
  await refused('patch a namespace', () =>
    asPublisher.core.patchNamespace({
      name: namespace,
      body: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }],
    }),
  );
  await refused('scale a deployment', () =>
    asPublisher.apps.patchNamespacedDeployment({
      namespace,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
    }),
  );
  await refused('delete a pod', () => asPublisher.core.deleteNamespacedPod({ namespace, name: 'web-1' }));
  await refused('watch pods', () =>
    asPublisher.core.listPodForAllNamespaces({ watch: true, timeoutSeconds: 1 }),
  );
});
