/**
 * lib/wake/restore.ts, which the worker's wake and the activator share:
 * restoring is idempotent and safe to race (several activator replicas, a
 * worker wake at the same time): every workload is restored by
 * exactly one caller, and the others see it done.
 */
import test from 'ava';
import { restoreWorkloads, stampWokeAt } from '../../../lib/wake/restore.js';
import { RestoreError } from '../../../lib/wake/restore-error.js';
import { optIn } from '../../../lib/kube/opt-in.js';
import { sleepWorkload } from '../../../lib/sleep/sleep.js';
import { sleepMessage } from '../../../lib/messages.js';
import { adminKube } from '../../support/env.js';
import { createShop, snapshot } from '../../support/shop.js';
import { staticActivatorPods } from '../../support/activator-pods.js';

const kube = adminKube();
const optedIn = optIn('nozzle=true', 'nozzle-system');

async function sleepingShop(prefix: string) {
  const shop = await createShop(kube, prefix);
  const before = await snapshot(kube, shop.namespace);
  for (const [kind, name] of [
    ['Deployment', 'web'],
    ['Deployment', 'api'],
    ['StatefulSet', 'db'],
  ] as const) {
    const result = await sleepWorkload(kube, sleepMessage(shop.namespace, { kind, name }), {
      activatorPods: staticActivatorPods(),
      optIn: optedIn,
    });
    if (result.outcome !== 'slept') throw new Error(`${name} did not sleep: ${JSON.stringify(result)}`);
  }
  return { ...shop, before };
}

test('concurrent restores: each object restored exactly once, by one of the callers', async (t) => {
  const { namespace, before } = await sleepingShop('restore-race');
  const workloads = await Promise.all([1, 2, 3, 4].map(() => restoreWorkloads(kube, namespace)));
  t.deepEqual(
    workloads
      .flat()
      .map((w) => `${w.kind}/${w.name}=${w.replicas}`)
      .sort(),
    ['Deployment/api=2', 'Deployment/web=3', 'StatefulSet/db=1'],
  );
  t.deepEqual(await restoreWorkloads(kube, namespace), [], 'already restored: skipped');

  const after = await snapshot(kube, namespace);
  t.deepEqual(after.deployments.web?.spec, before.deployments.web?.spec);
  t.deepEqual(after.statefulSets.db?.metadata?.annotations, before.statefulSets.db?.metadata?.annotations);
});

test('stampWokeAt writes RFC 3339; a corrupt backup fails with RestoreError, the rest is still restored', async (t) => {
  const { namespace } = await sleepingShop('restore-bad');
  const at = new Date('2030-01-02T03:04:05.678Z');
  await stampWokeAt(kube, namespace, at);
  t.is(
    (await kube.core.readNamespace({ name: namespace })).metadata?.annotations?.['nozzle.io/woke-at'],
    at.toISOString(),
  );

  await kube.apps.patchNamespacedDeployment({
    namespace,
    name: 'api',
    body: [{ op: 'replace', path: '/metadata/annotations/nozzle.io~1replicas', value: 'lots' }],
  });
  const err = await t.throwsAsync(restoreWorkloads(kube, namespace), { instanceOf: RestoreError });
  t.regex(
    err?.message ?? '',
    /Deployment .*\/api: nozzle.io\/replicas must be a whole number > 0, got "lots"/,
  );
  t.deepEqual((err as RestoreError<{ name: string }>).restored.map((w) => w.name).sort(), ['db', 'web']);
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 3);
});
