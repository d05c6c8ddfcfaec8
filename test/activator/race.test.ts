/**
 * A sleep racing a wake, against the real apiserver: the worker read the
 * namespace's woke-at just before the activator stamped it, so it does not
 * see its decision as stale, and scales the workload back to 0 (with its
 * nozzle.io/replicas backup) after the activator's restore listed the
 * workloads. The activator must restore it again before it points the
 * Ingress back at it: an Ingress restored over a workload at 0 would never
 * reach the activator again, and nothing would ever wake the workload.
 */
import test from 'ava';
import { request } from 'undici';
import { mergePatch } from '../../lib/kube/patch.js';
import { annotations, labels } from '../../lib/names.js';
import { adminKube } from '../support/env.js';
import {
  eventually,
  makeReady,
  metric,
  startApiRecorder,
  startSleepingStage,
  type AppSpec,
} from '../support/activator.js';
import { connectKube } from '../../lib/kube/client.js';

const kube = adminKube();

test('a workload put back to sleep during the wake is restored again before the Ingress is', async (t) => {
  const web: AppSpec = { name: 'web', replicas: 2 };
  const recorder = await startApiRecorder();
  t.teardown(() => recorder.close());
  const { namespace, host, activator } = await startSleepingStage(t, kube, {
    prefix: 'race',
    apps: [web],
    activatorKube: connectKube(recorder.config),
  });

  const response = request(`${activator.url}/items`, { headers: { host, accept: 'application/json' } }).then(
    async (res) => ({ status: res.statusCode, body: await res.body.text() }),
  );

  // The activator's restoreWorkloads has run...
  await eventually(async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: web.name });
    return d.spec?.replicas === 2 && d.metadata?.annotations?.[annotations.replicas] === undefined;
  }, 'the first restore');
  // ... and the racing worker puts the workload back to sleep, the way
  // lib/sleep does: replicas 0 and the backup in one conditional request.
  const restored = await kube.apps.readNamespacedDeployment({ namespace, name: web.name });
  await kube.apps.patchNamespacedDeployment(
    {
      namespace,
      name: web.name,
      body: {
        metadata: {
          resourceVersion: restored.metadata?.resourceVersion,
          annotations: { [annotations.replicas]: '2' },
        },
        spec: { replicas: 0 },
      },
    },
    mergePatch,
  );
  const resleptAt = recorder.requests.length;
  // The pods the first restore started become Ready (the EndpointSlice the
  // controllers would write): the wake's readiness barrier is met.
  await makeReady(kube, namespace, web);

  const answer = await response;
  t.is(answer.status, 200, answer.body);
  await eventually(async () => {
    const ing = await kube.networking.readNamespacedIngress({ namespace, name: 'web' });
    return ing.metadata?.labels?.[labels.managed] === undefined;
  }, 'the Ingress to be restored');

  const deployment = await kube.apps.readNamespacedDeployment({ namespace, name: web.name });
  t.is(deployment.spec?.replicas, 2, 'the workload the Ingress points at again is awake');
  t.is(deployment.metadata?.annotations?.[annotations.replicas], undefined);

  // In that order: the second restore reached the apiserver before the Ingress patch.
  const patches = recorder.requests
    .map((r, i) => ({ ...r, i }))
    .filter((r) => r.method === 'PATCH' && r.status < 300 && r.path.includes(`/namespaces/${namespace}/`));
  const restores = patches.filter((r) => r.path.includes(`/deployments/${web.name}`));
  const ingressPatch = patches.find((r) => r.path.includes('/ingresses/web'));
  t.is(restores.length, 2, 'restored once, then again after the racing sleep');
  t.truthy(ingressPatch);
  t.true(
    restores[1]!.i > resleptAt - 1 && restores[1]!.i < ingressPatch!.i,
    'restored again before the Ingress',
  );
  t.is(await metric(activator, 'nozzle_activator_restored_workloads_total'), 2);
});
