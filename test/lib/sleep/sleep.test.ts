/**
 * lib/sleep/sleep.ts against the real apiserver: takeover slices per Service
 * (ports copied, endpoints = the ready activator pods, targetRef, ensured-at),
 * headless and ExternalName Services skipped with the reason, no ready
 * activator -> a retryable error and nothing written, the re-ensure after the
 * scale, and the user's Services and Ingresses never written.
 */
import test from 'ava';
import { isRetryable } from '../../../lib/errors.js';
import { optIn } from '../../../lib/kube/opt-in.js';
import { sleepMessage } from '../../../lib/messages.js';
import { NoActivatorError, listReadyActivatorPods } from '../../../lib/takeover/activator-pods.js';
import { sleepWorkload, type SleepOptions } from '../../../lib/sleep/sleep.js';
import { allAssignments } from '../../../lib/takeover/port-assignment.js';
import { removeTakeover } from '../../../lib/takeover/takeover.js';
import { stampWokeAt } from '../../../lib/wake/restore.js';
import { adminKube } from '../../support/env.js';
import { createActivatorPod, setPodReady } from '../../support/activator-pods.js';
import { snapshot } from '../../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName, userObjectVersions } from '../../support/takeover-shop.js';

const kube = adminKube();

const options = (system: string, more: Partial<SleepOptions> = {}): SleepOptions => ({
  optIn: optIn('nozzle=true', system),
  activatorPods: () => listReadyActivatorPods(kube, system),
  ...more,
});

test('a sleep takes over every Service that selects the workload, then scales it to 0', async (t) => {
  const shop = await createTakeoverShop(kube, 'sleep-takeover');
  const { namespace, system } = shop;
  const versions = await userObjectVersions(kube, namespace);
  const started = Date.now();

  const outcome = await sleepWorkload(kube, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }), {
    ...options(system),
  });
  t.like(outcome, { outcome: 'slept', from: 3, services: ['web', 'web-alias'] });
  if (outcome.outcome !== 'slept') return;
  t.deepEqual(
    outcome.skipped.map((s) => s.name),
    ['web-ext'],
    'ExternalName skipped (db is headless but does not select web)',
  );

  const { ports } = await allAssignments(kube, system);
  const portOf = (service: string, servicePort: string) =>
    [...ports].find(([, p]) => p.service === service && p.servicePort === servicePort)?.[0];
  const slices = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(Object.keys(slices).sort(), ['web-alias-nozzle-ipv4', 'web-nozzle-ipv4']);
  const web = slices['web-nozzle-ipv4']!;
  t.deepEqual(web.metadata?.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'nozzle.io',
    'nozzle.io/managed': 'true',
  });
  const ensuredAt = Date.parse(web.metadata?.annotations?.['nozzle.io/ensured-at'] ?? '');
  t.true(ensuredAt >= started - 1_000 && ensuredAt <= Date.now() + 1_000, 'ensured-at is now');
  t.deepEqual(web.ports, [
    { name: 'http', protocol: 'TCP', appProtocol: 'http', port: portOf('web', 'http') },
    { name: 'metrics', protocol: 'UDP', port: portOf('web', 'metrics') },
  ]);
  t.truthy(portOf('web', 'http'));
  t.deepEqual(
    web.endpoints?.map((e) => [e.addresses, e.conditions?.ready, e.targetRef?.kind, e.targetRef?.name]),
    [
      [['10.244.1.1'], true, 'Pod', 'nozzle-activator-1'],
      [['10.244.2.1'], true, 'Pod', 'nozzle-activator-2'],
    ],
  );
  t.is(web.endpoints?.[0]?.targetRef?.namespace, system);
  t.deepEqual(slices['web-alias-nozzle-ipv4']?.ports, [
    { name: '', protocol: 'TCP', port: portOf('web-alias', '8080') },
  ]);

  const state = await snapshot(kube, namespace);
  t.is(state.deployments.web?.spec?.replicas, 0);
  t.is(state.deployments.web?.metadata?.annotations?.['nozzle.io/replicas'], '3');
  t.is(state.deployments.api?.spec?.replicas, 2, 'another workload is not touched');
  t.deepEqual(await userObjectVersions(kube, namespace), versions, 'no Service or Ingress written');

  const events = (await kube.events.listNamespacedEvent({ namespace })).items.map((e) => e.note);
  t.deepEqual(events, [
    'Slept: replicas 3 -> 0; Services taken over: web, web-alias; not taken over: web-ext (an ExternalName Service has no endpoints to take over)',
  ]);

  // Again (a redelivery): already asleep, the slices re-ensured (ensured-at moves on), nothing else.
  const again = await sleepWorkload(kube, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }), {
    ...options(system),
  });
  t.like(again, { outcome: 'already-asleep', services: ['web', 'web-alias'] });
  const after = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(after['web-nozzle-ipv4']?.ports, web.ports, 'the same activator ports');
  t.deepEqual(after['web-nozzle-ipv4']?.endpoints, web.endpoints);
  t.true(
    Date.parse(after['web-nozzle-ipv4']?.metadata?.annotations?.['nozzle.io/ensured-at'] ?? '') >= ensuredAt,
  );
  t.is((await kube.events.listNamespacedEvent({ namespace })).items.length, 1, 'one Event');
});

test('a headless Service is skipped with the reason; the workload sleeps without a takeover', async (t) => {
  const { namespace, system } = await createTakeoverShop(kube, 'sleep-headless', { activators: 0 });
  const outcome = await sleepWorkload(
    kube,
    sleepMessage(namespace, { kind: 'StatefulSet', name: 'db' }),
    options(system),
  );
  t.like(outcome, { outcome: 'slept', services: [] });
  if (outcome.outcome !== 'slept') return;
  t.deepEqual(
    outcome.skipped.map((s) => s.name),
    ['db'],
  );
  t.regex(outcome.skipped[0]?.reason ?? '', /headless/);
  t.deepEqual(await takeoverSlicesByName(kube, namespace), {});
});

test('no ready activator pod: a retryable error, and nothing is written', async (t) => {
  const shop = await createTakeoverShop(kube, 'sleep-noactivator', { activators: 0 });
  const { namespace, system } = shop;
  await createActivatorPod(kube, system, 'nozzle-activator-1');
  await setPodReady(kube, system, 'nozzle-activator-1', '10.244.1.1', false); // running, not Ready
  const before = await snapshot(kube, namespace);

  const err = await t.throwsAsync(
    sleepWorkload(kube, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }), options(system)),
    { instanceOf: NoActivatorError },
  );
  t.is(err?.message, `no ready activator pod in ${system}: not put to sleep`);
  t.true(isRetryable(err));
  t.deepEqual(await snapshot(kube, namespace), before, 'nothing scaled');
  t.deepEqual(await takeoverSlicesByName(kube, namespace), {}, 'no slice');
  t.deepEqual((await allAssignments(kube, system)).ports, new Map(), 'no port taken');

  await setPodReady(kube, system, 'nozzle-activator-1', '10.244.1.1');
  t.like(
    await sleepWorkload(kube, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }), options(system)),
    { outcome: 'slept' },
  );
});

test('slices removed between the takeover and the scale (a racing wake) are ensured again after the scale', async (t) => {
  const { namespace, system } = await createTakeoverShop(kube, 'sleep-reensure');
  const seen: string[] = [];
  const outcome = await sleepWorkload(kube, sleepMessage(namespace, { kind: 'Deployment', name: 'api' }), {
    ...options(system),
    afterStep: async (step) => {
      seen.push(step);
      if (step !== 'takeover') return;
      t.deepEqual(Object.keys(await takeoverSlicesByName(kube, namespace)), ['api-nozzle-ipv4']);
      t.deepEqual(await removeTakeover(kube, namespace, 'api'), ['api-nozzle-ipv4']);
    },
  });
  t.like(outcome, { outcome: 'slept', from: 2 });
  t.deepEqual(seen, ['takeover', 'scale', 'keda', 'retakeover']);
  t.deepEqual(Object.keys(await takeoverSlicesByName(kube, namespace)), ['api-nozzle-ipv4'], 'back');
});

test('a namespace that woke after the decision: skipped before any write', async (t) => {
  const { namespace, system } = await createTakeoverShop(kube, 'sleep-stale');
  const at = new Date(Date.now() - 60_000);
  await stampWokeAt(kube, namespace);
  const outcome = await sleepWorkload(
    kube,
    sleepMessage(namespace, { kind: 'Deployment', name: 'web' }, { at }),
    options(system),
  );
  t.like(outcome, { outcome: 'skipped' });
  t.deepEqual(await takeoverSlicesByName(kube, namespace), {});
});

test("a person's sleep (decidedNow) is not stale by a woke-at stamped a moment after it was decided", async (t) => {
  const { namespace, system } = await createTakeoverShop(kube, 'sleep-now');
  const at = new Date(Date.now() - 1_000);
  await stampWokeAt(kube, namespace);
  const outcome = await sleepWorkload(
    kube,
    sleepMessage(namespace, { kind: 'Deployment', name: 'web' }, { at, reason: 'manual' }),
    { ...options(system), decidedNow: true },
  );
  t.like(outcome, { outcome: 'slept', from: 3 });
});
