/**
 * Every manifest in k8s/ and keda/ is accepted by the real apiserver, with
 * the pinned KEDA release's CRDs installed: server-side apply, dry run,
 * strict field validation (an unknown or misspelt field is an error).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { adminKubeConfig, requireEnv } from '../support/env.js';
import { apply, kubeRequest } from '../../scripts/testenv/servers/kube-request.js';
import { kustomization, manifestObjects, yamlFiles } from '../support/manifests.js';
import { DEFAULT_PORT_RANGE, parsePortRange } from '../../lib/takeover/port-assignment.js';
import { NATS_USERS, credentialsSecret, passwordVariable } from '../../lib/jetstream/nats-users.js';
import { shippedNatsConf } from '../support/shipped-nats.js';

const config = adminKubeConfig();
const fieldManager = 'nozzle-manifest-test';
const discovery = new Map();

test.before(async () => {
  const crdDir = requireEnv('NOZZLE_TESTENV_KEDA_CRDS');
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of parseManifests(readFileSync(join(crdDir, file), 'utf8'))) {
      const res = await apply(config, crd, { dryRun: false, fieldManager }, discovery);
      if (res.status >= 300) throw new Error(`installing ${file} failed: ${res.status} ${res.body}`);
    }
  }
  // Dry-run objects in a namespace need the namespace to exist for real.
  for (const dir of ['k8s', 'keda']) {
    for (const { object } of manifestObjects(dir)) {
      if (object.kind !== 'Namespace') continue;
      const res = await apply(config, object, { dryRun: false, fieldManager }, discovery);
      if (res.status >= 300) throw new Error(`creating namespace failed: ${res.status} ${res.body}`);
    }
  }
  await waitForCrds();
});

for (const dir of ['k8s', 'keda']) {
  test(`${dir}/: every YAML file is in its Kustomization, so -k and -f apply the same objects`, (t) => {
    t.deepEqual([...(kustomization(dir).resources ?? [])].sort(), yamlFiles(dir));
  });

  test(`${dir}/: every object passes a strict server-side dry-run apply`, async (t) => {
    const objects = manifestObjects(dir);
    t.true(objects.length > 0);
    for (const { file, object } of objects) {
      const res = await apply(config, object, { dryRun: true, fieldManager }, discovery);
      t.true(res.status < 300, `${file}: ${object.kind}/${object.metadata?.name}: ${res.status} ${res.body}`);
    }
  });
}

test('the image is set in one place: both kustomizations use the k8s/image component, which names every Nozzle image', (t) => {
  t.deepEqual(kustomization('k8s').components, ['image']);
  t.deepEqual(kustomization('keda').components, ['../k8s/image']);
  const image = kustomization('k8s/image').images?.[0]?.name;
  t.truthy(image);
  const nozzleImages = ['k8s', 'keda']
    .flatMap((dir) => manifestObjects(dir))
    .flatMap(({ object }) => JSON.stringify(object).match(/"image":"[^"]+"/g) ?? [])
    .map((m) => m.slice('"image":"'.length, -1).split(':')[0])
    .filter((name) => name?.includes('nozzle'));
  t.is(nozzleImages.length, 5, 'worker, activator, setup, publisher, nats-credentials');
  for (const name of nozzleImages) t.is(name, image);
});

test('a misspelt ScaledObject field is rejected, so the dry run can fail', async (t) => {
  const scaledObject = manifestObjects('keda').find(({ object }) => object.kind === 'ScaledObject')?.object;
  t.truthy(scaledObject);
  const typo = JSON.parse(JSON.stringify(scaledObject)) as { spec: Record<string, unknown> };
  typo.spec.minReplicaCont = typo.spec.minReplicaCount;
  delete typo.spec.minReplicaCount;
  const res = await apply(config, typo as KubernetesObject, { dryRun: true, fieldManager }, discovery);
  // Server-side apply answers an unknown field with 500 "field not declared in schema".
  t.true(res.status >= 400, `${res.status} ${res.body}`);
  t.regex(res.body, /minReplicaCont/);
  t.regex(res.body, /field not declared in schema/);
});

test('the nats-jetstream trigger uses only metadata keys that the pinned KEDA scaler reads', (t) => {
  // Trigger metadata is a free-form map the CRD cannot check: compare it with
  // the `keda:"name=..."` tags of the scaler's source at the pinned version.
  const source = readFileSync(
    join(requireEnv('NOZZLE_TESTENV_KEDA_CRDS'), '..', 'nats_jetstream_scaler.go'),
    'utf8',
  );
  const known = new Set([...source.matchAll(/keda:"name=([A-Za-z]+)/g)].map((m) => m[1]));
  t.true(known.has('lagThreshold'), 'the scaler source was not parsed');
  const scaledObject = manifestObjects('keda').find(({ object }) => object.kind === 'ScaledObject')
    ?.object as { spec: { triggers: { type: string; metadata: Record<string, string> }[] } } | undefined;
  const trigger = scaledObject?.spec.triggers.find((tr) => tr.type === 'nats-jetstream');
  t.truthy(trigger);
  for (const key of Object.keys(trigger?.metadata ?? {}))
    t.true(known.has(key), `unknown trigger metadata ${key}`);
});

test('the activator NetworkPolicy selects the activator pods, admits the admin port only from nozzle-system and monitoring, and the takeover ports from anywhere', (t) => {
  const objects = manifestObjects('k8s').map(({ object }) => object);
  const activator = objects.find(
    (o): o is V1Deployment & KubernetesObject =>
      o.kind === 'Deployment' && o.metadata?.name === 'nozzle-activator',
  );
  const policies = objects.filter(
    (o) => o.kind === 'NetworkPolicy' && o.metadata?.namespace === 'nozzle-system',
  ) as NetworkPolicy[];
  const podLabels = activator?.spec?.template.metadata?.labels ?? {};
  const selects = (p: NetworkPolicy) =>
    Object.entries(p.spec?.podSelector?.matchLabels ?? { none: '' }).every(([k, v]) => podLabels[k] === v) &&
    (p.spec?.podSelector?.matchExpressions ?? []).length === 0;
  const policy = policies.find(selects);
  if (!policy?.spec) return t.fail('no NetworkPolicy in nozzle-system selects the activator pods');
  t.deepEqual(policy.spec.policyTypes, ['Ingress']);
  const container = activator?.spec?.template.spec?.containers[0];
  const admin = container?.ports?.find((p) => p.name === 'http')?.containerPort;
  t.is(admin, 8080);
  const rules = policy.spec.ingress ?? [];
  const allows = (port: number) =>
    rules.filter(
      (r) =>
        (r.ports ?? []).some((p) => p.protocol === 'TCP' && p.port === port) ||
        (r.ports ?? []).some(
          (p) => typeof p.port === 'number' && p.endPort !== undefined && p.port <= port && port <= p.endPort,
        ),
    );
  // The admin port: only from the nozzle-system and monitoring namespaces.
  const adminRules = allows(8080);
  t.true(adminRules.length > 0);
  for (const rule of adminRules) {
    t.deepEqual(
      (rule.from ?? [{}]).map((peer) => peer.namespaceSelector?.matchLabels ?? 'anything'),
      [{ 'kubernetes.io/metadata.name': 'nozzle-system' }, { 'kubernetes.io/metadata.name': 'monitoring' }],
    );
  }
  // The takeover ports: the whole range, from anywhere (no `from`), so the data path is never blocked.
  const envRange = container?.env?.find((e) => e.name === 'NOZZLE_ACTIVATOR_PORT_RANGE')?.value;
  const range = envRange ? parsePortRange(envRange) : DEFAULT_PORT_RANGE;
  const fromAnywhere = rules.filter((r) => (r.from ?? []).length === 0);
  t.true(
    fromAnywhere.some((r) =>
      (r.ports ?? []).some(
        (p) => p.protocol === 'TCP' && p.port === range.first && (p.endPort ?? p.port) === range.last,
      ),
    ),
    `ports ${range.first}-${range.last} from anywhere`,
  );
  t.false(
    fromAnywhere.some((r) => allows(admin ?? 8080).includes(r)),
    'the admin port is not open to anywhere',
  );
});

test('NATS users: nats.conf names exactly the users of lib/jetstream/nats-users.ts, each password comes from its Secret, and each component connects as its own', (t) => {
  const conf = shippedNatsConf();
  t.deepEqual(
    [...conf.matchAll(/^\s*user: (\S+)$/gm)].map((m) => m[1]),
    [...NATS_USERS],
  );
  t.deepEqual(
    [...conf.matchAll(/password: \$(\w+)/g)].map((m) => m[1]),
    NATS_USERS.map(passwordVariable),
    'every password from the environment',
  );
  t.notRegex(conf, /no_auth_user|allow_responses/);
  const objects = [...manifestObjects('k8s'), ...manifestObjects('keda')].map(({ object }) => object);
  const container = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name) as
      { spec: { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } } } | undefined;
    return (o?.spec.template ?? o?.spec.jobTemplate?.spec.template)?.spec.containers[0];
  };
  const fromSecret = (c: Container | undefined, env: string) =>
    c?.env?.find((e) => e.name === env)?.valueFrom?.secretKeyRef;
  const nats = container('StatefulSet', 'nats');
  for (const user of NATS_USERS) {
    t.deepEqual(
      fromSecret(nats, passwordVariable(user)),
      { name: credentialsSecret(user), key: 'password' },
      user,
    );
  }
  for (const [kind, name, user] of [
    ['Job', 'nozzle-setup', 'nozzle-setup'],
    ['CronJob', 'nozzle-publisher', 'nozzle-publisher'],
    ['Deployment', 'nozzle-worker', 'nozzle-worker'],
  ] as const) {
    const c = container(kind, name);
    t.deepEqual(fromSecret(c, 'NOZZLE_NATS_USER'), { name: credentialsSecret(user), key: 'username' }, name);
    t.deepEqual(
      fromSecret(c, 'NOZZLE_NATS_PASSWORD'),
      { name: credentialsSecret(user), key: 'password' },
      name,
    );
  }
  const activator = container('Deployment', 'nozzle-activator');
  t.truthy(activator);
  t.falsy(fromSecret(activator, 'NOZZLE_NATS_PASSWORD'), 'the activator does not use NATS');
  t.is(container('Job', 'nozzle-nats-credentials')?.args?.[0], 'nats-credentials');
});

interface Container {
  args?: string[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
}
interface PodTemplate {
  spec: { containers: Container[] };
}

/** A NetworkPolicy as parsed from YAML (the client's V1NetworkPolicy spells `from` as `_from`). */
interface NetworkPolicy {
  spec?: {
    podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
    policyTypes?: string[];
    ingress?: {
      from?: { namespaceSelector?: { matchLabels?: Record<string, string> } }[];
      ports?: { protocol?: string; port?: number | string; endPort?: number }[];
    }[];
  };
}

/** A CRD serves its API a moment after it is created: wait until discovery lists ScaledObject. */
async function waitForCrds(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await kubeRequest(config, 'GET', '/apis/keda.sh/v1alpha1');
    if (res.status === 200 && res.body.includes('"ScaledObject"')) return;
    await sleep(100);
  }
  throw new Error('the KEDA CRDs did not become served');
}
