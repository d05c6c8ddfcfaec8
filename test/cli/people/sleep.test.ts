/**
 * `nozzle sleep <namespace>`: every workload not excluded goes to 0 with its
 * backup, reported per workload; a second run changes nothing.
 */
import test from 'ava';
import { annotations } from '../../../lib/names.js';
import { adminKube } from '../../support/env.js';
import { nozzle } from '../../support/people-cli.js';
import { createShop, deployment, snapshot } from '../../support/shop.js';

const kube = adminKube();

test('sleep puts every workload to sleep, and a second sleep changes nothing', async (t) => {
  const { namespace } = await createShop(kube, 'sl');
  const excluded = deployment('batch', 1);
  excluded.metadata!.annotations = { [annotations.exclude]: 'true' };
  await kube.apps.createNamespacedDeployment({ namespace, body: excluded });

  const first = await nozzle(['sleep', namespace]);
  t.is(first.code, 0, first.stderr);
  t.log(first.stdout);
  t.deepEqual(
    first.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/ +/g, ' ')),
    [
      'WORKLOAD RESULT',
      'deployment/api slept (replicas 2 -> 0)',
      'deployment/batch not put to sleep: nozzle.io/exclude=true',
      'deployment/web slept (replicas 3 -> 0)',
      'statefulset/db slept (replicas 1 -> 0)',
    ],
  );
  const asleep = await snapshot(kube, namespace);
  t.is(asleep.deployments.web?.spec?.replicas, 0);
  t.is(asleep.deployments.web?.metadata?.annotations?.[annotations.replicas], '3');
  t.is(asleep.statefulSets.db?.metadata?.annotations?.[annotations.replicas], '1');
  t.is(asleep.deployments.batch?.spec?.replicas, 1);

  const second = await nozzle(['sleep', namespace]);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /deployment\/web +already asleep/);
  t.regex(second.stdout, /statefulset\/db +already asleep/);
  const after = await snapshot(kube, namespace);
  for (const kind of ['deployments', 'statefulSets', 'ingresses', 'services'] as const) {
    type Objects = Record<string, { metadata?: { resourceVersion?: string } } | undefined>;
    for (const [name, object] of Object.entries(after[kind] as Objects)) {
      t.is(
        object?.metadata?.resourceVersion,
        (asleep[kind] as Objects)[name]?.metadata?.resourceVersion,
        `${name} not written again`,
      );
    }
  }
});
