/**
 * Scope (issue 11): every write any Nozzle identity can make is refused
 * outside namespaces that opted in (label nozzle=true) and outside Nozzle's
 * own objects. With the REAL tokens (TokenRequest) of the publisher, the
 * worker, the activator and a person bound to nozzle-user (k8s/rbac-user.yaml,
 * per namespace as documented, in the opted-in namespace), against one
 * namespace of each class: opted in, not opted in, nozzle-system, kube-system.
 *
 * The writes are derived from the manifests: for every rule of a component's
 * ClusterRoles and Roles with a write verb, every resource it names is tried
 * with create, update, patch and delete (dry run: admission runs, nothing is
 * stored), each with an object of the shape Nozzle writes (a takeover slice, a
 * sleep patch with nozzle.io/replicas, woke-at on the Namespace, a port
 * Lease, ...), so that a refusal comes from scope, not from shape. A resource
 * named by a rule without a representative below fails the test.
 *
 * Nozzle's own objects: the port Leases, the activator's leader Lease and the
 * NATS credentials Secrets (created once by nozzle-nats-credentials) in
 * nozzle-system, and its takeover slices, which the activator alone may
 * delete anywhere but nozzle-system (a namespace that opted out while asleep
 * is left as Nozzle found it: activator/convergence/wake-paths.ts). Nothing
 * else outside an opted-in namespace may be written, but the activator's
 * restore of a workload Nozzle backed up (the last test).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject, V1PolicyRule } from '@kubernetes/client-node';
import { statusOf } from '../../lib/errors.js';
import { microTime } from '../../lib/kube/events.js';
import { ROUTE_SERVICE, annotations, labels } from '../../lib/names.js';
import { portLease } from '../../lib/takeover/port-assignment.js';
import { takeoverLabels } from '../../lib/takeover/takeover-slice.js';
import { apply, kubeRequest } from '../../scripts/testenv/servers/kube-request.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import {
  adminKube,
  adminKubeConfig,
  serviceAccountToken,
  tokenKubeConfig,
  uniqueName,
} from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { createScaledObject, installScaledObjectCrd } from '../support/keda.js';
import { repoRoot } from '../support/manifests.js';
import { rewriteAsV01 } from '../support/ingress-v01.js';
import { createNamespace, deployment, statefulSet } from '../support/shop.js';

const kube = adminKube();
const admin = adminKubeConfig();
const SYSTEM = 'nozzle-system';
const fieldManager = 'nozzle-test-scope';
const manifest = (file: string): KubernetesObject[] =>
  parseManifests(readFileSync(join(repoRoot, 'k8s', file), 'utf8'));

type Class = 'opted in' | 'not opted in' | 'nozzle-system' | 'kube-system';
const CLASSES: readonly Class[] = ['opted in', 'not opted in', 'nozzle-system', 'kube-system'];
const OPS = ['create', 'update', 'patch', 'delete'] as const;
type Op = (typeof OPS)[number];
const WRITE_VERBS = new Set<string>(OPS);

/** How to write one resource the way Nozzle does. */
interface Kind {
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  /** The fixture every write but create targets, created by the admin in each namespace. */
  readonly fixture: (namespace: string) => KubernetesObject;
  /** A new object for create. */
  readonly fresh: (namespace: string) => KubernetesObject;
  /** Nozzle's change, as a JSON merge patch (update applies it to the object read). */
  readonly change: (namespace: string) => Record<string, unknown>;
}

const PORT = 40_000 + Math.floor(Math.random() * 10_000);
const LEADER = 'nozzle-activator-leader';
const slice = (name: string, service: string): KubernetesObject =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, labels: takeoverLabels(service) },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 20001, protocol: 'TCP' }],
  }) as KubernetesObject;
const event = (namespace: string, name: string): KubernetesObject =>
  ({
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name },
    eventTime: microTime(new Date()),
    action: 'Sleep',
    reason: 'Slept',
    note: 'Scaled to 0 (was 2)',
    type: 'Normal',
    reportingController: 'nozzle.io/worker',
    reportingInstance: 'scope-test',
    regarding: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace },
  }) as KubernetesObject;
const lease = (namespace: string, port: number): KubernetesObject =>
  portLease({ namespace, service: 'web', servicePort: 'http' }, 'uid-scope', port);
const sleepPatch = { metadata: { annotations: { [annotations.replicas]: '2' } }, spec: { replicas: 0 } };

/** A Deployment or StatefulSet of 2 replicas; Nozzle's change is a sleep (0, the backup "2" in one patch). */
const workload = (make: (name: string, replicas: number) => KubernetesObject, name: string): Kind => ({
  group: 'apps',
  version: 'v1',
  namespaced: true,
  fixture: () => make(name, 2),
  fresh: () => make('new', 1),
  change: () => sleepPatch,
});

/** A NATS credentials Secret as `nozzle nats-credentials` writes it (never stored here: dry runs only). */
const natsSecret = (user: 'worker' | 'publisher'): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `nozzle-nats-${user}` },
    type: 'kubernetes.io/basic-auth',
    stringData: { username: `nozzle-${user}`, password: `p${'x'.repeat(31)}` },
  }) as KubernetesObject;

const KINDS: Record<string, Kind> = {
  '/secrets': {
    group: '',
    version: 'v1',
    namespaced: true,
    fixture: () => natsSecret('worker'),
    fresh: () => natsSecret('publisher'),
    change: () => ({ stringData: { password: `q${'y'.repeat(31)}` } }),
  },
  'apps/deployments': workload(deployment, 'web'),
  'apps/statefulsets': workload(statefulSet, 'db'),
  '/namespaces': {
    group: '',
    version: 'v1',
    namespaced: false,
    fixture: (namespace) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
    fresh: (namespace) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `${namespace}-new`.slice(0, 63), labels: { nozzle: 'true' } },
    }),
    change: () => ({ metadata: { annotations: { [annotations.wokeAt]: new Date().toISOString() } } }),
  },
  '/services': {
    group: '',
    version: 'v1',
    namespaced: true,
    // The 0.1 route Service (the only Service Nozzle ever wrote; the activator's upgrade deletes it).
    // In nozzle-system that name is the activator's admin Service (k8s/activator.yaml): another name there.
    fixture: (namespace) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: namespace === SYSTEM ? `${ROUTE_SERVICE}-v01` : ROUTE_SERVICE,
        labels: { [labels.managed]: 'true' },
      },
      spec: { type: 'ExternalName', externalName: 'nozzle-activator.nozzle-system.svc.cluster.local' },
    }),
    fresh: () => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'route-new', labels: { [labels.managed]: 'true' } },
      spec: { type: 'ExternalName', externalName: 'nozzle-activator.nozzle-system.svc.cluster.local' },
    }),
    change: () => ({ spec: { externalName: 'elsewhere.example.com' } }),
  },
  'discovery.k8s.io/endpointslices': {
    group: 'discovery.k8s.io',
    version: 'v1',
    namespaced: true,
    fixture: () => slice('web-nozzle-ipv4', 'web'),
    fresh: () => slice('api-nozzle-ipv4', 'api'),
    // A re-point (activator/convergence): the takeover slice's endpoints become another activator pod.
    change: () => ({ endpoints: [{ addresses: ['10.0.0.2'], conditions: { ready: true } }] }),
  },
  'keda.sh/scaledobjects': {
    group: 'keda.sh',
    version: 'v1alpha1',
    namespaced: true,
    fixture: () => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'web' } }),
    fresh: () => ({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'new' },
      spec: { scaleTargetRef: { name: 'web' }, triggers: [{ type: 'cpu', metadata: { value: '60' } }] },
    }),
    change: () => ({
      metadata: {
        annotations: { 'autoscaling.keda.sh/paused-replicas': '0', 'nozzle.io/paused-by-nozzle': 'true' },
      },
    }),
  },
  'events.k8s.io/events': {
    group: 'events.k8s.io',
    version: 'v1',
    namespaced: true,
    fixture: (namespace) => event(namespace, 'web.scope'),
    fresh: (namespace) => event(namespace, uniqueName('web')),
    change: () => ({ note: 'Scaled to 0 (was 3)' }),
  },
  'networking.k8s.io/ingresses': {
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
    // Rewritten by 0.1 (support/ingress-v01.ts) in beforeAll; the change is the upgrade's restore.
    fixture: () => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop' },
      spec: { rules: [{ host: 'shop.example.com', http: { paths: [webPath()] } }] },
    }),
    fresh: () => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'new' },
      spec: { rules: [{ host: 'new.example.com', http: { paths: [webPath()] } }] },
    }),
    change: () => ({
      metadata: { annotations: { [annotations.backends]: null }, labels: { [labels.managed]: null } },
      spec: { rules: [{ host: 'shop.example.com', http: { paths: [webPath()] } }] },
    }),
  },
  // Nozzle never writes a Pod (the publisher lists them, the worker and the activator watch the
  // activator's): no fixture is created, RBAC refuses before the object is looked up.
  '/pods': {
    group: '',
    version: 'v1',
    namespaced: true,
    fixture: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: pod() }),
    fresh: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'new' }, spec: pod() }),
    change: () => ({ metadata: { labels: { app: 'other' } } }),
  },
  'coordination.k8s.io/leases': {
    group: 'coordination.k8s.io',
    version: 'v1',
    namespaced: true,
    fixture: (namespace) => lease(namespace, PORT),
    fresh: (namespace) => lease(namespace, PORT + 1),
    change: () => ({ spec: { renewTime: microTime(new Date()) } }),
  },
};

function pod() {
  return { containers: [{ name: 'c', image: 'registry.example/app:1' }] };
}

function webPath() {
  return {
    path: '/',
    pathType: 'Prefix',
    backend: { service: { name: 'web', port: { number: 80 } } },
  };
}

/** Extra targets: the activator's leader Lease (its own object) besides the port Lease. */
const LEADER_LEASE: Kind = {
  ...KINDS['coordination.k8s.io/leases']!,
  fixture: () => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: LEADER },
    spec: {},
  }),
  fresh: () => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: LEADER },
    spec: {},
  }),
};

interface Component {
  readonly name: string;
  readonly rules: V1PolicyRule[];
  config?: KubeConfig;
}

function rulesOf(file: string, role: string): V1PolicyRule[] {
  return manifest(file)
    .filter((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata?.name === role)
    .flatMap((o) => (o as { rules?: V1PolicyRule[] }).rules ?? []);
}

const components: Component[] = [
  { name: 'publisher', rules: rulesOf('rbac-publisher.yaml', 'nozzle-publisher') },
  { name: 'worker', rules: rulesOf('rbac-worker.yaml', 'nozzle-worker') },
  { name: 'activator', rules: rulesOf('rbac-activator.yaml', 'nozzle-activator') },
  { name: 'person (nozzle-user)', rules: rulesOf('rbac-user.yaml', 'nozzle-user') },
  {
    name: 'nats-credentials',
    rules: rulesOf('rbac-nats-credentials.yaml', 'nozzle-nats-credentials'),
  },
];

/** The resources a component may write at all (every resource of a rule with a write verb); all it names if none. */
function writableResources(component: Component): string[] {
  const key = (group: string, resource: string) => `${group}/${resource}`;
  const writable = component.rules.filter((r) => r.verbs.some((v) => WRITE_VERBS.has(v) || v === '*'));
  const rules = writable.length > 0 ? writable : component.rules;
  return [
    ...new Set(
      rules.flatMap((r) =>
        (r.apiGroups ?? ['']).flatMap((g) => (r.resources ?? []).map((res) => key(g, res))),
      ),
    ),
  ];
}

const namespaces = new Map<Class, string>();

function path(kind: Kind, resource: string, namespace: string, name?: string): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const scope = kind.namespaced ? `/namespaces/${namespace}` : '';
  return `${base}${scope}/${resource}${name === undefined ? '' : `/${name}`}?dryRun=All`;
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null)
      out[k] = mergeInto(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

type Outcome = 'allowed' | 'RBAC' | 'policy' | `other ${number}`;

async function attempt(config: KubeConfig, kindKey: string, kind: Kind, op: Op, namespace: string) {
  const resource = kindKey.split('/')[1]!;
  const fixture = kind.fixture(namespace);
  const name = fixture.metadata?.name ?? '';
  const json = (o: unknown) => ({ contentType: 'application/json', text: JSON.stringify(o) });
  let res;
  if (op === 'create') {
    res = await kubeRequest(config, 'POST', path(kind, resource, namespace), json(kind.fresh(namespace)));
  } else if (op === 'delete') {
    // A DELETE's body (DeleteOptions) replaces its query: dryRun goes in the body.
    res = await kubeRequest(
      config,
      'DELETE',
      path(kind, resource, namespace, name),
      json({ apiVersion: 'v1', kind: 'DeleteOptions', dryRun: ['All'] }),
    );
  } else if (op === 'patch') {
    res = await kubeRequest(config, 'PATCH', path(kind, resource, namespace, name), {
      contentType: 'application/merge-patch+json',
      text: JSON.stringify(kind.change(namespace)),
    });
  } else {
    // update: read as the admin (a component may lack get), change, write back as the component.
    const read = await kubeRequest(
      admin,
      'GET',
      path(kind, resource, namespace, name).replace('?dryRun=All', ''),
    );
    // No fixture (pods: no Nozzle identity writes one): the fixture as it would be.
    const current = read.status === 200 ? (JSON.parse(read.body) as Record<string, unknown>) : { ...fixture };
    if (read.status !== 200 && read.status !== 404)
      throw new Error(`reading ${kindKey}: ${read.status} ${read.body}`);
    const updated = mergeInto(current, kind.change(namespace));
    res = await kubeRequest(config, 'PUT', path(kind, resource, namespace, name), json(updated));
  }
  // 409 on a create: admission let it through, the name was taken in storage.
  if (res.status < 300 || (op === 'create' && res.status === 409)) return { outcome: 'allowed' as Outcome };
  if (res.status === 403) {
    return {
      outcome: (res.body.includes('ValidatingAdmissionPolicy') ? 'policy' : 'RBAC') as Outcome,
      body: res.body,
    };
  }
  return { outcome: `other ${res.status}` as Outcome, body: res.body };
}

async function adminCreate(object: KubernetesObject): Promise<void> {
  const res = await apply(admin, object, { dryRun: false, fieldManager });
  if (res.status >= 300)
    throw new Error(`creating ${object.kind}/${object.metadata?.name}: ${res.status} ${res.body}`);
}

test.before(async () => {
  await kube.core.createNamespace({ body: { metadata: { name: SYSTEM } } }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
  await installScaledObjectCrd();
  for (const file of ['rbac-publisher.yaml', 'rbac-worker.yaml', 'rbac-activator.yaml', 'rbac-user.yaml']) {
    for (const object of manifest(file)) await adminCreate(object);
  }
  for (const object of manifest('admission-policy.yaml')) await adminCreate(object);

  namespaces.set('opted in', (await createNamespace(kube, 'scope-in')).namespace);
  const out = uniqueName('scope-out');
  await kube.core.createNamespace({ body: { metadata: { name: out } } });
  namespaces.set('not opted in', out);
  namespaces.set('nozzle-system', SYSTEM);
  namespaces.set('kube-system', 'kube-system');

  for (const cls of CLASSES) {
    const namespace = namespaces.get(cls)!;
    if (cls === 'kube-system') {
      await kube.core.createNamespace({ body: { metadata: { name: namespace } } }).catch((err: unknown) => {
        if (statusOf(err) !== 409) throw err;
      });
    }
    // Fixtures: what Nozzle would find there (made by the admin, for real).
    for (const [key, kind] of Object.entries(KINDS)) {
      if (!kind.namespaced || key === 'keda.sh/scaledobjects' || key === '/pods') continue;
      // The credentials Secrets in nozzle-system are test/k8s/rbac-nats-credentials.test.ts's to create.
      if (key === '/secrets' && cls === 'nozzle-system') continue;
      const object = {
        ...kind.fixture(namespace),
        metadata: { ...kind.fixture(namespace).metadata, namespace },
      };
      if (key === 'coordination.k8s.io/leases' && cls !== 'nozzle-system') continue;
      const res = await apply(admin, object, { dryRun: false, fieldManager });
      if (res.status >= 300) {
        throw new Error(`fixture ${key} in ${namespace}: ${res.status} ${res.body}`);
      }
    }
    await createScaledObject(kube, namespace, 'web', { name: 'web' }).catch((err: unknown) => {
      if (statusOf(err) !== 409) throw err;
    });
    await rewriteAsV01(kube, namespace, 'shop');
  }
  // The leader Lease (another test's activator may hold it already).
  await kube.coordination
    .createNamespacedLease({ namespace: SYSTEM, body: { metadata: { name: LEADER }, spec: {} } })
    .catch((err: unknown) => {
      if (statusOf(err) !== 409) throw err;
    });

  // The person: nozzle-user bound in the opted-in namespace only (k8s/rbac-user.yaml's example).
  const optedIn = namespaces.get('opted in')!;
  await adminCreate({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'person', namespace: optedIn },
  });
  await adminCreate({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'person-nozzle', namespace: optedIn },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nozzle-user' },
    subjects: [{ kind: 'ServiceAccount', name: 'person', namespace: optedIn }],
  } as KubernetesObject);
  const accounts: [string, string, string][] = [
    ['nats-credentials', SYSTEM, 'nozzle-nats-credentials'],
    ['publisher', SYSTEM, 'nozzle-publisher'],
    ['worker', SYSTEM, 'nozzle-worker'],
    ['activator', SYSTEM, 'nozzle-activator'],
    ['person (nozzle-user)', optedIn, 'person'],
  ];
  for (const [name, namespace, account] of accounts) {
    const component = components.find((c) => c.name === name)!;
    component.config = tokenKubeConfig(await serviceAccountToken(kube, namespace, account), account);
  }

  // Policies are enforced a moment after they are created: wait for the newest.
  const worker = components.find((c) => c.name === 'worker')!.config!;
  const probes: unknown[] = [];
  await eventually(
    'the admission policies are enforced',
    async () => {
      probes.splice(
        0,
        probes.length,
        await attempt(worker, '/namespaces', KINDS['/namespaces']!, 'patch', out),
        await attempt(worker, 'apps/deployments', KINDS['apps/deployments']!, 'patch', 'kube-system'),
      );
      return probes.every((p) => (p as { outcome: string }).outcome === 'policy');
    },
    { timeout: 60_000 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify(probes)}`);
  });
});

/**
 * Nozzle's own objects outside opted-in namespaces: the Leases in
 * nozzle-system, and the takeover slices the activator deletes elsewhere.
 */
const ownObject = (cls: Class, kindKey: string, component: string, op: Op): boolean =>
  (cls === 'nozzle-system' && kindKey === 'coordination.k8s.io/leases') ||
  (cls === 'nozzle-system' &&
    kindKey === '/secrets' &&
    component === 'nats-credentials' &&
    op === 'create') ||
  (cls !== 'nozzle-system' &&
    component === 'activator' &&
    kindKey === 'discovery.k8s.io/endpointslices' &&
    op === 'delete');

test('every write of every Nozzle identity outside opted-in namespaces and its own objects is refused', async (t) => {
  const rows: string[][] = [];
  const outside: string[] = [];
  const others: string[] = [];
  const allowedInScope = new Map<string, number>();
  for (const component of components) {
    const resources = writableResources(component);
    t.true(resources.length > 0, component.name);
    for (const key of resources) {
      const kind = KINDS[key];
      if (!kind) {
        t.fail(`${component.name}: ${key} has no representative object in this test: add one to KINDS`);
        continue;
      }
      const targets: [string, Kind][] =
        key === 'coordination.k8s.io/leases'
          ? [
              [`${key} (port)`, kind],
              [`${key} (leader)`, LEADER_LEASE],
            ]
          : [[key, kind]];
      for (const [label, target] of targets) {
        for (const op of OPS) {
          const row = [component.name, label, op];
          for (const cls of CLASSES) {
            const { outcome, body } = await attempt(component.config!, key, target, op, namespaces.get(cls)!);
            row.push(outcome === 'allowed' ? 'ALLOWED' : `refused (${outcome})`);
            if (outcome.startsWith('other')) others.push(`${row.slice(0, 3).join(' ')} in ${cls}: ${body}`);
            if (outcome !== 'allowed') continue;
            if (cls === 'opted in' || ownObject(cls, key, component.name, op)) {
              const scope = `${component.name} ${key}`;
              allowedInScope.set(scope, (allowedInScope.get(scope) ?? 0) + 1);
            } else outside.push(`${component.name} ${op} ${label} in ${cls}`);
          }
          rows.push(row);
        }
      }
    }
  }
  t.log(table(['identity', 'resource', 'write', ...CLASSES], rows));
  t.log(`allowed writes outside opted-in namespaces and Nozzle's own objects: ${outside.length}`);
  t.log(
    "Nozzle's own objects in nozzle-system: port Leases nozzle-port-<n> (worker: create/delete; activator: delete), the leader Lease nozzle-activator-leader (activator), the NATS credentials Secrets (nats-credentials: create)",
  );
  t.deepEqual(others, [], 'every write is allowed or refused with 403 (a shape error would hide the scope)');
  t.deepEqual(outside, []);
  // The shapes are Nozzle's: each component may make its writes where it should (else the refusals prove nothing).
  for (const scope of [
    'worker apps/deployments',
    'worker apps/statefulsets',
    'worker /namespaces',
    'worker discovery.k8s.io/endpointslices',
    'worker keda.sh/scaledobjects',
    'worker events.k8s.io/events',
    'worker coordination.k8s.io/leases',
    'activator apps/deployments',
    'activator /namespaces',
    'activator discovery.k8s.io/endpointslices',
    'activator /services',
    'activator networking.k8s.io/ingresses',
    'activator keda.sh/scaledobjects',
    'activator events.k8s.io/events',
    'activator coordination.k8s.io/leases',
    'person (nozzle-user) apps/deployments',
    'person (nozzle-user) /namespaces',
    'person (nozzle-user) discovery.k8s.io/endpointslices',
    'nats-credentials /secrets',
  ]) {
    t.true((allowedInScope.get(scope) ?? 0) > 0, `${scope}: no write allowed where Nozzle makes it`);
  }
});

test('a namespace that opted out while asleep: the activator may restore what Nozzle backed up, and nothing else; the worker nothing', async (t) => {
  const out = namespaces.get('not opted in')!;
  const asleep = {
    ...deployment('asleep', 0),
    metadata: {
      name: 'asleep',
      namespace: out,
      labels: { app: 'asleep' },
      annotations: { [annotations.replicas]: '2' },
    },
  };
  const res = await apply(admin, asleep, { dryRun: false, fieldManager });
  t.true(res.status < 300, res.body);
  const restoreOf = (name: string): Kind => ({
    ...KINDS['apps/deployments']!,
    fixture: () => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name } }),
    change: () => ({ metadata: { annotations: { [annotations.replicas]: null } }, spec: { replicas: 2 } }),
  });
  const activator = components.find((c) => c.name === 'activator')!.config!;
  const worker = components.find((c) => c.name === 'worker')!.config!;
  const restore = restoreOf('asleep');
  const restored = await attempt(activator, 'apps/deployments', restore, 'patch', out);
  t.is(restored.outcome, 'allowed', restored.body);
  t.is(
    (await attempt(worker, 'apps/deployments', restore, 'patch', out)).outcome,
    'policy',
    'the worker: no',
  );
  const wider: Kind = {
    ...restore,
    change: () => ({ metadata: { annotations: { [annotations.replicas]: null } }, spec: { replicas: 50 } }),
  };
  t.is(
    (await attempt(activator, 'apps/deployments', wider, 'patch', out)).outcome,
    'policy',
    'only to its backup',
  );
  const noBackup = restoreOf('web'); // the fixture of 2 replicas, never backed up
  t.is((await attempt(activator, 'apps/deployments', noBackup, 'patch', out)).outcome, 'policy');
  t.is(
    (await attempt(activator, 'apps/deployments', KINDS['apps/deployments']!, 'patch', out)).outcome,
    'policy',
    'a sleep there: no',
  );
});

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return ['', line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
