/**
 * lib/keda/paused-replicas.ts: which ScaledObject scales a workload (KEDA's
 * defaults), whose pause it is, and against the real apiserver (the pinned
 * KEDA release's CRD installed, no operator): a sleep pauses at 0 with
 * Nozzle's mark, a redelivery changes nothing, a user's pause is left alone,
 * and the wake (restoreWorkloads) removes only Nozzle's pause.
 */
import test from 'ava';
import {
  pauseForSleep,
  pausedByUser,
  resumeAfterWake,
  scalesWorkload,
} from '../../../lib/keda/paused-replicas.js';
import { restoreWorkloads } from '../../../lib/wake/restore.js';
import { adminKube } from '../../support/env.js';
import { createScaledObject, installScaledObjectCrd, readScaledObject } from '../../support/keda.js';
import { createShop } from '../../support/shop.js';

const kube = adminKube();
const web = { kind: 'Deployment', name: 'web' } as const;

test('scalesWorkload: KEDA defaults the kind to Deployment and the apiVersion to apps/v1', (t) => {
  const so = (ref: { name?: string; kind?: string; apiVersion?: string }) => ({
    spec: { scaleTargetRef: ref },
  });
  t.true(scalesWorkload(so({ name: 'web' }), web));
  t.true(scalesWorkload(so({ name: 'web', kind: 'Deployment', apiVersion: 'apps/v1' }), web));
  t.false(scalesWorkload(so({ name: 'web', kind: 'StatefulSet' }), web));
  t.true(scalesWorkload(so({ name: 'db', kind: 'StatefulSet' }), { kind: 'StatefulSet', name: 'db' }));
  t.false(scalesWorkload(so({ name: 'web', kind: 'Deployment', apiVersion: 'example.com/v1' }), web));
  t.false(scalesWorkload(so({ name: 'api' }), web));
  t.false(scalesWorkload({}, web));
});

test("pausedByUser: a pause without Nozzle's mark, or KEDA's paused: true", (t) => {
  const so = (annotations: Record<string, string>) => ({ metadata: { annotations } });
  t.false(pausedByUser(so({})));
  t.true(pausedByUser(so({ 'autoscaling.keda.sh/paused-replicas': '2' })));
  t.false(
    pausedByUser(so({ 'autoscaling.keda.sh/paused-replicas': '0', 'nozzle.io/paused-by-nozzle': 'true' })),
  );
  t.true(pausedByUser(so({ 'autoscaling.keda.sh/paused': 'true' })));
});

test('a sleep pauses the ScaledObject at 0, once; a wake resumes it; a user pause is never touched', async (t) => {
  await installScaledObjectCrd();
  const { namespace } = await createShop(kube, 'keda');
  await createScaledObject(kube, namespace, 'web', { name: 'web' });
  await createScaledObject(
    kube,
    namespace,
    'db',
    { name: 'db', kind: 'StatefulSet' },
    {
      'autoscaling.keda.sh/paused-replicas': '1',
    },
  );
  await createScaledObject(kube, namespace, 'other', { name: 'api' });

  t.deepEqual(await pauseForSleep(kube, namespace, web), { changed: ['web'], userPaused: [] });
  const paused = await readScaledObject(kube, namespace, 'web');
  t.deepEqual(paused.metadata.annotations, {
    'autoscaling.keda.sh/paused-replicas': '0',
    'nozzle.io/paused-by-nozzle': 'true',
  });
  t.deepEqual(await pauseForSleep(kube, namespace, web), { changed: [], userPaused: [] }, 'redelivery');
  t.is(
    (await readScaledObject(kube, namespace, 'web')).metadata.resourceVersion,
    paused.metadata.resourceVersion,
  );
  t.deepEqual(
    (await readScaledObject(kube, namespace, 'other')).metadata.annotations ?? {},
    {},
    'not its target',
  );

  const db = { kind: 'StatefulSet', name: 'db' } as const;
  t.deepEqual(await pauseForSleep(kube, namespace, db), { changed: [], userPaused: ['db'] });
  t.deepEqual(await resumeAfterWake(kube, namespace, db), { changed: [], userPaused: [] });
  t.deepEqual((await readScaledObject(kube, namespace, 'db')).metadata.annotations, {
    'autoscaling.keda.sh/paused-replicas': '1',
  });

  // The wake: restoreWorkloads restores the replicas, then resumes KEDA.
  await kube.apps.patchNamespacedDeployment({
    namespace,
    name: 'web',
    body: [
      { op: 'replace', path: '/spec/replicas', value: 0 },
      { op: 'add', path: '/metadata/annotations', value: { 'nozzle.io/replicas': '3' } },
    ],
  });
  t.deepEqual(await restoreWorkloads(kube, namespace), [{ kind: 'Deployment', name: 'web', replicas: 3 }]);
  t.deepEqual((await readScaledObject(kube, namespace, 'web')).metadata.annotations ?? {}, {});
  t.deepEqual(await resumeAfterWake(kube, namespace, web), { changed: [], userPaused: [] }, 'twice: nothing');
});
