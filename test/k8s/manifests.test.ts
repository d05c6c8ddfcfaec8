/**
 * Every manifest in k8s/ and keda/ is accepted by the real apiserver, with
 * the pinned KEDA release's CRDs installed: server-side apply, dry run,
 * strict field validation (an unknown or misspelt field is an error).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { adminKubeConfig, requireEnv } from '../support/env.js';
import { apply, kubeRequest } from '../../scripts/testenv/servers/kube-request.js';
import { kustomization, manifestObjects, yamlFiles } from '../support/manifests.js';

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
  t.is(nozzleImages.length, 4, 'worker, activator, setup, publisher');
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

/** A CRD serves its API a moment after it is created: wait until discovery lists ScaledObject. */
async function waitForCrds(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await kubeRequest(config, 'GET', '/apis/keda.sh/v1alpha1');
    if (res.status === 200 && res.body.includes('"ScaledObject"')) return;
    await sleep(100);
  }
  throw new Error('the KEDA CRDs did not become served');
}
