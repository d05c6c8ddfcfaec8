/**
 * The convergence leader against the real apiserver (no controllers: the
 * test writes pods' statuses and the controller's slices): one leader of two,
 * slices re-pointed when the activator pods change IP, a hand-scaled
 * workload adopted only after the settle time, stale takeovers removed after
 * it (and one in front of a sleeping workload never), a 0.1 namespace
 * upgraded with its Ingress restored exactly, a stale port Lease released.
 */
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Convergence, type ConvergenceOptions } from '../../../activator/convergence/convergence.js';
import { ROUTE_SERVICE, annotations, labels } from '../../../lib/names.js';
import { portLease } from '../../../lib/takeover/port-assignment.js';
import { takeoverSlices } from '../../../lib/takeover/takeover.js';
import { mergePatch } from '../../../lib/kube/patch.js';
import { optIn } from '../../../lib/kube/opt-in.js';
import { adminKube } from '../../support/env.js';
import { eventually } from '../../support/eventually.js';
import { rewriteAsV01 } from '../../support/ingress-v01.js';
import { createShop, snapshot } from '../../support/shop.js';
import {
  NamespaceIndex,
  asleepWithTakeover,
  stampEnsuredAt,
  controllerSlice,
  quiet,
  runActivatorPod,
} from './fixtures.js';

const kube = adminKube();
const fast = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };

function converge(
  options: Partial<ConvergenceOptions> & Pick<ConvergenceOptions, 'systemNamespace' | 'index'>,
) {
  return new Convergence({
    kube,
    log: quiet,
    timing: fast,
    settleMs: 60_000,
    resyncMs: 60_000,
    ...options,
  }).start();
}

const endpointsOf = async (namespace: string) =>
  (await takeoverSlices(kube, namespace)).map((s) =>
    (s.endpoints ?? []).map((e) => e.addresses[0]).join(','),
  );

test('one leader of two re-points every takeover slice when the activator pods change IP; the other takes over on stop', async (t) => {
  const { namespace, system } = await asleepWithTakeover(kube, 'conv-pods', { web: 1, api: 1 });
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  await runActivatorPod(kube, system, 'activator-a', '10.244.5.1');
  const a = converge({ systemNamespace: system, index, namespace, identity: 'a' });
  await eventually('a leads', () => a.isLeader);
  const b = converge({ systemNamespace: system, index, namespace, identity: 'b' });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  await eventually(
    'slices point at activator-a',
    async () => (await endpointsOf(namespace)).join() === '10.244.5.1,10.244.5.1',
  );
  await sleep(600);
  t.false(b.isLeader, 'only one leader');

  // A rollout: a new pod with a new IP, the old one gone.
  await runActivatorPod(kube, system, 'activator-b', '10.244.5.2');
  await kube.core.deleteNamespacedPod({ namespace: system, name: 'activator-a', gracePeriodSeconds: 0 });
  await eventually(
    'slices point at activator-b',
    async () => (await endpointsOf(namespace)).join() === '10.244.5.2,10.244.5.2',
  );
  const slice = (await takeoverSlices(kube, namespace))[0]!;
  t.is(slice.endpoints?.[0]?.targetRef?.name, 'activator-b');

  await a.stop();
  const released = await kube.coordination.readNamespacedLease({
    namespace: system,
    name: 'nozzle-activator-leader',
  });
  t.not(released.spec?.holderIdentity, 'a', 'released on stop');
  await eventually('b leads', () => b.isLeader, { timeout: 5_000 });
});

test('scaled by hand: woke-at, backup cleared, takeover removed after the settle time and not before', async (t) => {
  const { namespace, system } = await asleepWithTakeover(
    kube,
    'conv-hand',
    { web: 3, api: 2 },
    { ensuredAt: new Date() },
  );
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  const leader = converge({ systemNamespace: system, index, namespace, identity: 'l', settleMs: 5_000 });
  t.teardown(() => leader.stop());
  await eventually('leads', () => leader.isLeader);
  await stampEnsuredAt(kube, namespace); // the settle time counts from here, not from the set-up above

  // kubectl scale deployment web --replicas=1; its pods become Ready.
  await kube.apps.patchNamespacedDeployment(
    { namespace, name: 'web', body: { spec: { replicas: 1 } } },
    mergePatch,
  );
  await controllerSlice(kube, namespace, 'web');
  await sleep(1_000);
  t.deepEqual(
    (await takeoverSlices(kube, namespace)).map((s) => s.metadata?.name).sort(),
    ['api-nozzle-ipv4', 'web-nozzle-ipv4'],
    'younger than the settle time: a sleep may be in progress, nothing undone',
  );
  const early = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(early.metadata?.annotations?.[annotations.replicas], '3');

  await eventually(
    'web adopted',
    async () =>
      (await takeoverSlices(kube, namespace)).map((s) => s.metadata?.name).join() === 'api-nozzle-ipv4',
  );
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.spec?.replicas, 1, 'the count the person chose is kept');
  t.is(web.metadata?.annotations?.[annotations.replicas], undefined, 'backup cleared');
  const api = await kube.apps.readNamespacedDeployment({ namespace, name: 'api' });
  t.is(api.metadata?.annotations?.[annotations.replicas], '2', 'api still sleeps, with its backup');
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt]);
  await eventually('the Event', async () =>
    (await kube.events.listNamespacedEvent({ namespace })).items.some((e) =>
      /scaled up outside Nozzle/.test(e.note ?? ''),
    ),
  );
});

test('a Service this replica is waking is left to its wake: not adopted, woke-at not stamped again', async (t) => {
  const { namespace, system } = await asleepWithTakeover(kube, 'conv-here', { web: 2 });
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  let waking = true;
  const leader = converge({
    systemNamespace: system,
    index,
    namespace,
    identity: 'l',
    settleMs: 0,
    resyncMs: 500,
    wakingHere: (ns) => ns === namespace && waking,
  });
  t.teardown(() => leader.stop());
  await eventually('leads', () => leader.isLeader);
  // The wake restored web and its pods are Ready; it has not yet removed the takeover.
  await kube.apps.patchNamespacedDeployment(
    { namespace, name: 'web', body: { spec: { replicas: 2 } } },
    mergePatch,
  );
  await controllerSlice(kube, namespace, 'web');
  await sleep(1_500);
  t.deepEqual(
    (await takeoverSlices(kube, namespace)).map((s) => s.metadata?.name),
    ['web-nozzle-ipv4'],
  );
  const ns = await kube.core.readNamespace({ name: namespace });
  t.is(ns.metadata?.annotations?.[annotations.wokeAt], undefined, 'no second stamp');

  waking = false; // that wake ended without removing it (it failed, or this replica stopped)
  await eventually(
    'adopted at the next check',
    async () => (await takeoverSlices(kube, namespace)).length === 0,
  );
});

/** A leader for `namespace` that resyncs every second, with the opt-in rules; the lost wake paths it reports. */
function resyncingLeader(t: ExecutionContext, namespace: string, system: string): string[] {
  const index = new NamespaceIndex(kube, namespace);
  const reported: string[] = [];
  const leader = converge({
    systemNamespace: system,
    index,
    namespace,
    identity: 'l',
    resyncMs: 1_000,
    optIn: optIn('nozzle=true', system),
    onLostWakePath: (lost) => reported.push(`${lost.namespace} ${lost.cause} ${lost.services.join(',')}`),
  });
  t.teardown(() => Promise.all([leader.stop(), index.stop()]));
  return reported;
}

test('a sleeping workload whose Service lost its takeover (re-created while asleep) is woken at the resync, with an Event', async (t) => {
  const { namespace, system } = await asleepWithTakeover(kube, 'conv-lost', { web: 2, api: 1 });
  // Service web deleted and re-applied: its takeover slice, owned by the old Service, went with it.
  await kube.discovery.deleteNamespacedEndpointSlice({ namespace, name: 'web-nozzle-ipv4' });
  const reported = resyncingLeader(t, namespace, system);
  await eventually('web restored', async () => {
    const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    return web.spec?.replicas === 2 && web.metadata?.annotations?.[annotations.replicas] === undefined;
  });
  const api = await kube.apps.readNamespacedDeployment({ namespace, name: 'api' });
  t.is(api.spec?.replicas, 1, 'the whole namespace woken');
  t.deepEqual(reported, [`${namespace} no-takeover web`], 'reported once (the metric)');
  const ns = await kube.core.readNamespace({ name: namespace });
  t.truthy(ns.metadata?.annotations?.[annotations.wokeAt]);
  await eventually('the Event names the Service', async () =>
    (await kube.events.listNamespacedEvent({ namespace })).items.some((e) =>
      /Service web selects a sleeping workload but has no takeover for all its ports/.test(e.note ?? ''),
    ),
  );
});

test('a namespace that opted out while asleep is left as Nozzle found it: restored, takeovers removed', async (t) => {
  const { namespace, system } = await asleepWithTakeover(kube, 'conv-out', { web: 3 });
  await kube.core.patchNamespace(
    { name: namespace, body: { metadata: { labels: { nozzle: null } } } },
    mergePatch,
  );
  resyncingLeader(t, namespace, system);
  await eventually('restored and released', async () => {
    const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    return web.spec?.replicas === 3 && (await takeoverSlices(kube, namespace)).length === 0;
  });
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.metadata?.annotations?.[annotations.replicas], undefined, 'backup removed');
  const ns = await kube.core.readNamespace({ name: namespace });
  t.is(ns.metadata?.annotations?.[annotations.wokeAt], undefined, 'its Namespace is not written');
});

test('stale takeovers: removed after the settle time; in front of a sleeping or starting workload, never', async (t) => {
  const { namespace, system } = await asleepWithTakeover(
    kube,
    'conv-stale',
    { web: 3, gone: 1, down: 2, starting: 1 },
    { ensuredAt: new Date() },
  );
  // gone: deleted while asleep. down: scaled to 0 by someone else between a sleep's takeover and its
  // scale (the sleep ended "skipped": no backup). starting: restored by a wake, its pods not ready yet.
  await kube.apps.deleteNamespacedDeployment({ namespace, name: 'gone' });
  await kube.apps.patchNamespacedDeployment(
    { namespace, name: 'down', body: { metadata: { annotations: { [annotations.replicas]: null } } } },
    mergePatch,
  );
  await kube.apps.patchNamespacedDeployment(
    {
      namespace,
      name: 'starting',
      body: { metadata: { annotations: { [annotations.replicas]: null } }, spec: { replicas: 1 } },
    },
    mergePatch,
  );
  await controllerSlice(kube, namespace, 'starting', false);
  await stampEnsuredAt(kube, namespace); // the settle time counts from here, not from the set-up above
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  const leader = converge({
    systemNamespace: system,
    index,
    namespace,
    identity: 's',
    settleMs: 8_000,
    resyncMs: 500,
  });
  t.teardown(() => leader.stop());
  await eventually('leads', () => leader.isLeader);
  const names = async () => (await takeoverSlices(kube, namespace)).map((s) => s.metadata?.name).sort();
  const all = ['down-nozzle-ipv4', 'gone-nozzle-ipv4', 'starting-nozzle-ipv4', 'web-nozzle-ipv4'];

  await sleep(1_500);
  t.deepEqual(await names(), all, 'younger than the settle time (8 s): nothing removed');
  await eventually(
    'the stale ones removed',
    async () => (await names()).join() === 'starting-nozzle-ipv4,web-nozzle-ipv4',
  );
  // Several more resyncs and index changes: web sleeps, starting may still become ready.
  await controllerSlice(kube, namespace, 'web', false);
  await sleep(2_000);
  await leader.idle();
  t.deepEqual(await names(), ['starting-nozzle-ipv4', 'web-nozzle-ipv4'], 'never removed');
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.metadata?.annotations?.[annotations.replicas], '3', 'web still asleep, with its backup');
  const ns = await kube.core.readNamespace({ name: namespace });
  t.is(ns.metadata?.annotations?.[annotations.wokeAt], undefined, 'nothing was woken');
  const notes = (await kube.events.listNamespacedEvent({ namespace })).items
    .filter((e) => e.reason === 'StaleTakeover')
    .map((e) => e.note ?? '')
    .sort();
  t.is(notes.length, 2, notes.join('\n'));
  t.regex(notes[0]!, /^Takeover of Service down removed: nothing of it sleeps \(.*Deployment down\)$/);
  t.regex(notes[1]!, /^Takeover of Service gone removed: .*selects no Deployment or StatefulSet\)$/);
});

test('0.1 upgrade: workloads restored, Ingresses restored exactly, route Service deleted; stale port Lease released', async (t) => {
  const { namespace } = await createShop(kube, 'conv-v01');
  const system = (await createShop(kube, 'conv-v01-sys')).namespace;
  const before = await snapshot(kube, namespace);
  // What 0.1 left: workloads at 0 with the backup, every path of `shop` to the route Service.
  for (const [name, replicas] of [
    ['web', 3],
    ['api', 2],
  ] as const) {
    await kube.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: {
          metadata: { annotations: { [annotations.replicas]: String(replicas) } },
          spec: { replicas: 0 },
        },
      },
      mergePatch,
    );
  }
  await rewriteAsV01(kube, namespace, 'shop');
  await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: ROUTE_SERVICE, labels: { [labels.managed]: 'true' } },
      spec: { type: 'ExternalName', externalName: 'nozzle-activator.nozzle-system.svc.cluster.local' },
    },
  });
  // A port Lease of a Service that is gone.
  const stale = portLease({ namespace, service: 'gone', servicePort: 'http' }, 'uid-gone', 29_999);
  await kube.coordination.createNamespacedLease({ namespace: system, body: stale });

  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  const leader = converge({ systemNamespace: system, index, namespace, identity: 'u' });
  t.teardown(() => leader.stop());
  await eventually('upgraded', async () => {
    const list = await kube.core.listNamespacedService({ namespace });
    return !list.items.some((s) => s.metadata?.name === ROUTE_SERVICE);
  });
  await leader.idle();
  const after = await snapshot(kube, namespace);
  t.is(
    JSON.stringify(after.ingresses.shop?.spec),
    JSON.stringify(before.ingresses.shop?.spec),
    'byte for byte',
  );
  t.deepEqual(after.ingresses.shop?.metadata?.labels, before.ingresses.shop?.metadata?.labels);
  t.deepEqual(after.ingresses.shop?.metadata?.annotations, before.ingresses.shop?.metadata?.annotations);
  t.is(after.deployments.web?.spec?.replicas, 3);
  t.is(after.deployments.api?.spec?.replicas, 2);
  t.is(after.deployments.web?.metadata?.annotations?.[annotations.replicas], undefined);
  const leases = await kube.coordination.listNamespacedLease({ namespace: system });
  t.false(
    leases.items.some((l) => l.metadata?.name === 'nozzle-port-29999'),
    'stale port Lease released',
  );
  await eventually('the upgrade Event', async () =>
    (await kube.events.listNamespacedEvent({ namespace })).items.some((e) =>
      /Nozzle 0\.1 sleep/.test(e.note ?? ''),
    ),
  );
});
