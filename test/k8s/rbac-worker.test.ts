/**
 * The worker and the publisher run as the real CLI under their own
 * ServiceAccount tokens (TokenRequest), bound to the ClusterRoles from
 * k8s/rbac-worker.yaml and k8s/rbac-publisher.yaml exactly as shipped: the
 * whole sleep (endpoint takeover included) and wake works with them, and the
 * same tokens are refused Secrets, deletes and any Service or Ingress write.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ClusterRole, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { statusOf } from '../../lib/errors.js';
import { mergePatch } from '../../lib/kube/patch.js';
import { encodeMessage, subjectOf, wakeMessage } from '../../lib/messages.js';
import { FIELD_MANAGER } from '../../lib/names.js';
import { applyObjects } from '../../scripts/testenv/servers/apply.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { createActivatorPod, setPodReady } from '../support/activator-pods.js';
import {
  adminKube,
  adminKubeConfig,
  kubeWithToken,
  serviceAccountToken,
  uniqueName,
} from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { writeKubeconfig } from '../support/kubeconfig-file.js';
import { repoRoot } from '../support/manifests.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { snapshot } from '../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName } from '../support/takeover-shop.js';
import { privateQueue } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();
const manifest = (file: string) => parseManifests(readFileSync(join(repoRoot, 'k8s', file), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'nozzle-rbac-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const kubeconfigFile = (name: string, token: string): string => writeKubeconfig(dir, name, { token });

const rulesOf = (objects: ReturnType<typeof manifest>): V1PolicyRule[] =>
  (objects.find((o) => o.kind === 'ClusterRole') as V1ClusterRole).rules ?? [];

test.before(async () => {
  await applyObjects(adminKubeConfig(), [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nozzle-system' } },
  ]);
  await applyObjects(adminKubeConfig(), [
    ...manifest('rbac-worker.yaml'),
    ...manifest('rbac-publisher.yaml'),
  ]);
});

test('the ClusterRoles grant no wildcard, no delete but of takeover slices, and nothing on Secrets', (t) => {
  for (const file of ['rbac-worker.yaml', 'rbac-publisher.yaml']) {
    for (const rule of rulesOf(manifest(file))) {
      t.false(
        rule.verbs.some((v) => v === '*' || v === 'deletecollection'),
        `${file}: ${rule.verbs.join(',')}`,
      );
      if (rule.verbs.includes('delete')) t.deepEqual(rule.resources, ['endpointslices'], file);
      t.false(
        (rule.resources ?? []).some((r) => r === '*' || r === 'secrets'),
        file,
      );
      t.false((rule.apiGroups ?? []).includes('*'), file);
    }
  }
  t.deepEqual(
    rulesOf(manifest('rbac-publisher.yaml')).flatMap((r) => r.verbs),
    ['list', 'list', 'list'],
    'the publisher only lists',
  );
});

test('worker and publisher under their own tokens: sleep and wake work, Secrets and deletes are refused', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  // Takeover under the worker's token: port Leases and activator pods in nozzle-system (its Role).
  const shop = await createTakeoverShop(kube, 'rbac', { system: 'nozzle-system', activators: 0 });
  const { namespace } = shop;
  const activator = uniqueName('nozzle-activator');
  await createActivatorPod(kube, 'nozzle-system', activator);
  await setPodReady(kube, 'nozzle-system', activator, '10.244.99.1');
  const before = await snapshot(kube, namespace);
  const workerToken = await serviceAccountToken(kube, 'nozzle-system', 'nozzle-worker');
  const publisherToken = await serviceAccountToken(kube, 'nozzle-system', 'nozzle-publisher');
  const env = { NATS_URL: nats.url, NOZZLE_NAMESPACE_SELECTOR: shop.selector, ...topologyEnv() };

  // The shop's creation is activity: idle for longer than a 1s idle-after.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const publisher = NozzleProcess.start(['publish', '--once'], {
    NOZZLE_IDLE_AFTER: '1s',
    ...env,
    KUBECONFIG: kubeconfigFile('publisher', publisherToken),
  });
  t.is((await publisher.exit()).code, 0, publisher.describe());
  t.like(
    publisher.lines.find((l) => l.msg === 'publisher round done'),
    { published: 3, failed: 0 },
  );

  const worker = NozzleProcess.start(['worker', '--port', '0'], {
    ...env,
    KUBECONFIG: kubeconfigFile('worker', workerToken),
  });
  t.teardown(() => worker.kill('SIGKILL'));
  await eventually('slept', () => queueEmpty(nc));
  const asleep = await snapshot(kube, namespace);
  t.is(asleep.deployments.web?.spec?.replicas, 0);
  t.is(asleep.statefulSets.db?.metadata?.annotations?.['nozzle.io/replicas'], '1');
  t.deepEqual(Object.keys(await takeoverSlicesByName(kube, namespace)).sort(), [
    'api-nozzle-ipv4',
    'web-alias-nozzle-ipv4',
    'web-nozzle-ipv4',
  ]);
  t.deepEqual(asleep.services, before.services, 'Services unchanged');
  // Nozzle's own: the apiserver's repair loop may add one of its own under load (ClusterIPNotAllocated).
  const events = (await kube.events.listNamespacedEvent({ namespace })).items.filter(
    (e) => e.reportingController === FIELD_MANAGER,
  );
  t.deepEqual(
    events.map((e) => `${e.reason} ${e.regarding?.kind}/${e.regarding?.name}`).sort(),
    ['Slept Deployment/api', 'Slept Deployment/web', 'Slept StatefulSet/db'],
    `Events recorded under the worker token: ${JSON.stringify(events.map((e) => [e.reason, e.regarding?.name, e.note]))}`,
  );

  const wake = wakeMessage(namespace);
  await js.publish(subjectOf(wake), encodeMessage(wake));
  await eventually('woken', () => queueEmpty(nc));
  const awake = await snapshot(kube, namespace);
  t.deepEqual(awake.deployments.web?.spec, before.deployments.web?.spec);
  t.deepEqual(awake.ingresses.shop?.spec, before.ingresses.shop?.spec);
  t.deepEqual(await deadLetters(nc), [], 'nothing was refused along the way');
  t.false(
    worker.lines.some((l) => typeof l.error === 'string' && l.error.startsWith('403')),
    worker.describe(),
  );
  worker.kill('SIGTERM');
  t.is((await worker.exit()).code, 0);

  // The same tokens, used directly.
  const asWorker = kubeWithToken(workerToken, 'worker');
  const asPublisher = kubeWithToken(publisherToken, 'publisher');
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'db-password' }, stringData: { p: 's3cret' } },
  });
  const refused: [string, () => Promise<unknown>][] = [
    ['worker reads a Secret', () => asWorker.core.readNamespacedSecret({ namespace, name: 'db-password' })],
    ['worker lists Secrets', () => asWorker.core.listSecretForAllNamespaces()],
    [
      'worker deletes a Deployment',
      () => asWorker.apps.deleteNamespacedDeployment({ namespace, name: 'web' }),
    ],
    [
      'worker deletes an Ingress',
      () => asWorker.networking.deleteNamespacedIngress({ namespace, name: 'shop' }),
    ],
    ['worker deletes a Service', () => asWorker.core.deleteNamespacedService({ namespace, name: 'web' })],
    [
      'worker creates a Service',
      () =>
        asWorker.core.createNamespacedService({
          namespace,
          body: { metadata: { name: 'evil' }, spec: { ports: [{ port: 80 }] } },
        }),
    ],
    [
      'worker patches an Ingress',
      () =>
        asWorker.networking.patchNamespacedIngress(
          { namespace, name: 'shop', body: { metadata: { labels: { x: 'y' } } } },
          mergePatch,
        ),
    ],
    [
      'worker creates a Lease outside nozzle-system',
      () =>
        asWorker.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name: 'nozzle-port-20000' } },
        }),
    ],
    ['worker lists Pods in kube-system', () => asWorker.core.listNamespacedPod({ namespace: 'kube-system' })],
    [
      'worker scales through the scale subresource',
      () =>
        asWorker.apps.patchNamespacedDeploymentScale(
          { namespace, name: 'web', body: { spec: { replicas: 0 } } },
          mergePatch,
        ),
    ],
    ['worker deletes the Namespace', () => asWorker.core.deleteNamespace({ name: namespace })],
    ['worker lists Pods', () => asWorker.core.listNamespacedPod({ namespace })],
    // Services: read only.
    [
      'worker patches another Service',
      () =>
        asWorker.core.patchNamespacedService(
          { namespace, name: 'web', body: { spec: { selector: { app: 'evil' } } } },
          mergePatch,
        ),
    ],
    [
      'publisher reads a Secret',
      () => asPublisher.core.readNamespacedSecret({ namespace, name: 'db-password' }),
    ],
    ['publisher lists Secrets', () => asPublisher.core.listSecretForAllNamespaces()],
    [
      'publisher deletes a Deployment',
      () => asPublisher.apps.deleteNamespacedDeployment({ namespace, name: 'web' }),
    ],
    [
      'publisher scales a Deployment',
      () =>
        asPublisher.apps.patchNamespacedDeployment(
          { namespace, name: 'web', body: { spec: { replicas: 0 } } },
          mergePatch,
        ),
    ],
    [
      'publisher reads a Deployment',
      () => asPublisher.apps.readNamespacedDeployment({ namespace, name: 'web' }),
    ],
  ];
  for (const [what, call] of refused) {
    const err = await t.throwsAsync(call(), undefined, what);
    t.is(statusOf(err), 403, what);
  }
  t.is(
    (await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas,
    3,
    'still there, still awake',
  );
  t.deepEqual(
    (await kube.core.readNamespacedService({ namespace, name: 'web' })).spec?.selector,
    { app: 'web' },
    'the Service is unchanged',
  );
  // What the worker does need it still has.
  t.is((await asWorker.core.readNamespacedService({ namespace, name: 'web' })).metadata?.name, 'web');
  t.true((await asWorker.core.listNamespacedService({ namespace })).items.length > 1);
  t.true((await asWorker.core.listNamespacedPod({ namespace: 'nozzle-system' })).items.length > 0);
  t.true((await asWorker.coordination.listNamespacedLease({ namespace: 'nozzle-system' })).items.length >= 4);
});

test('the worker writes no Service, has no Ingress rights; Leases and Pods only in nozzle-system', (t) => {
  const objects = manifest('rbac-worker.yaml');
  const rules = rulesOf(objects);
  const verbsOn = (resource: string) =>
    rules.filter((r) => r.resources?.includes(resource)).flatMap((r) => r.verbs);
  t.deepEqual(verbsOn('services').sort(), ['get', 'list']);
  t.deepEqual(verbsOn('ingresses'), [], 'Ingresses are none of its business');
  t.deepEqual(verbsOn('endpointslices').sort(), ['create', 'delete', 'get', 'list', 'update', 'watch']);
  t.deepEqual(verbsOn('scaledobjects').sort(), ['get', 'list', 'patch']);
  t.deepEqual(verbsOn('leases'), [], 'no Lease rights cluster-wide');
  t.deepEqual(verbsOn('pods'), [], 'no Pod rights cluster-wide');
  const role = objects.find((o) => o.kind === 'Role') as V1Role;
  t.is(role.metadata?.namespace, 'nozzle-system');
  t.deepEqual(
    role.rules?.map((r) => [r.resources, r.verbs]),
    [
      [['leases'], ['create', 'get', 'list', 'delete']],
      [['pods'], ['list', 'watch']],
    ],
  );
});
