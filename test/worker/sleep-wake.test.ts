/**
 * The main scenario, with the real CLI: `nozzle publish --once` and
 * `nozzle worker` as child processes, the real apiserver and a real
 * nats-server. Sleep (endpoint takeover, scale to 0, KEDA paused), then wake:
 * the namespace comes back exactly as it was, and no Service or Ingress of the
 * user was ever written.
 */
import test from 'ava';
import { jetstream } from '@nats-io/jetstream';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { connectNats } from '../../lib/jetstream/connect.js';
import { encodeMessage, subjectOf, wakeMessage, decisionId } from '../../lib/messages.js';
import { allAssignments } from '../../lib/takeover/port-assignment.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { startPrivateNats, type PrivateNats } from '../support/private-nats.js';
import { createScaledObject, installScaledObjectCrd, readScaledObject } from '../support/keda.js';
import { snapshot } from '../support/shop.js';
import { createTakeoverShop, takeoverSlicesByName, userObjectVersions } from '../support/takeover-shop.js';
import { sample } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();
let nats: PrivateNats;
test.before(async () => {
  nats = await startPrivateNats('nats-sleep-wake');
});
test.after.always(async () => {
  await nats?.stop();
});

test('publish and work put a namespace to sleep with endpoint takeover; a wake restores it byte for byte', async (t) => {
  await installScaledObjectCrd();
  const shop = await createTakeoverShop(kube);
  const { namespace, system } = shop;
  // api is KEDA-scaled: its ScaledObject is paused while it sleeps, resumed by the wake.
  await createScaledObject(kube, namespace, 'api', { name: 'api' });
  const before = await snapshot(kube, namespace);
  const versions = await userObjectVersions(kube, namespace);
  // Pages as large as allowed: however many objects other tests made, one page per list (4 calls in all).
  const env = {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: shop.selector,
    NOZZLE_SYSTEM_NAMESPACE: system,
    NOZZLE_LIST_PAGE_SIZE: '5000',
    NOZZLE_IDLE_AFTER: '1s',
    ...topologyEnv(),
  };
  // The shop's creation is activity: idle for longer than the 1s idle-after.
  await new Promise((resolve) => setTimeout(resolve, 1_200));

  const publisher = NozzleProcess.start(['publish', '--once'], env);
  const published = await publisher.exit();
  t.is(published.code, 0, publisher.describe());
  const summary = publisher.lines.find((l) => l.msg === 'publisher round done');
  t.like(summary, {
    namespaces: 1,
    workloads: 3,
    due: 3,
    published: 3,
    duplicates: 0,
    failed: 0,
    listCalls: 4,
  });

  const worker = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => worker.kill('SIGKILL'));
  const listening = await worker.waitForLog((l) => l.msg === 'worker listening');
  const metricsUrl = `http://127.0.0.1:${String(listening.port)}`;
  const nc = await connectNats(nats.url, { name: 'test' });
  t.teardown(() => nc.close());
  await eventually('the three sleeps to be done', () => queueEmpty(nc));

  const asleep = await snapshot(kube, namespace);
  for (const [kind, name, replicas] of [
    ['deployments', 'web', 3],
    ['deployments', 'api', 2],
    ['statefulSets', 'db', 1],
  ] as const) {
    const workload = asleep[kind][name];
    t.is(workload?.spec?.replicas, 0, `${name} scaled to 0`);
    t.is(workload?.metadata?.annotations?.['nozzle.io/replicas'], String(replicas), `${name} backup`);
  }

  // One takeover slice per Service that selects a sleeping workload and can be taken over.
  const slices = await takeoverSlicesByName(kube, namespace);
  t.deepEqual(Object.keys(slices).sort(), ['api-nozzle-ipv4', 'web-alias-nozzle-ipv4', 'web-nozzle-ipv4']);
  const { ports } = await allAssignments(kube, system);
  for (const slice of Object.values(slices)) {
    const service = asleep.services[slice.metadata?.labels?.['kubernetes.io/service-name'] ?? ''];
    t.deepEqual(
      slice.ports?.map((p) => ({
        name: p.name,
        protocol: p.protocol,
        target: ports.get(p.port ?? 0)?.servicePort,
      })),
      service?.spec?.ports?.map((p) => ({
        name: p.name ?? '',
        protocol: p.protocol,
        target: p.name || String(p.port),
      })),
      `${service?.metadata?.name}: the Service's ports, each at its own activator port`,
    );
    t.deepEqual(
      slice.endpoints?.map((e) => e.addresses[0]),
      shop.activatorIps,
      'the ready activator pods',
    );
    t.deepEqual(
      slice.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
      [['Service', service?.metadata?.name, service?.metadata?.uid]],
    );
  }
  t.deepEqual(await userObjectVersions(kube, namespace), versions, 'no Service or Ingress written');
  t.like((await readScaledObject(kube, namespace, 'api')).metadata.annotations, {
    'autoscaling.keda.sh/paused-replicas': '0',
    'nozzle.io/paused-by-nozzle': 'true',
  });

  const events = (await kube.events.listNamespacedEvent({ namespace })).items;
  t.deepEqual(
    events.map((e) => `${e.regarding?.kind}/${e.regarding?.name}: ${e.note} (${e.reason})`).sort(),
    [
      'Deployment/api: Slept: replicas 2 -> 0; Services taken over: api; KEDA ScaledObject paused: api (Slept)',
      'Deployment/web: Slept: replicas 3 -> 0; Services taken over: web, web-alias; not taken over: web-ext (an ExternalName Service has no endpoints to take over) (Slept)',
      'StatefulSet/db: Slept: replicas 1 -> 0; not taken over: db (headless (clusterIP: None): clients connect to podIP:targetPort directly, which cannot be redirected to the activator) (Slept)',
    ],
  );

  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 3);
  t.is(
    sample(metrics, 'nozzle_worker_operation_duration_seconds_count', { op: 'sleep', outcome: 'slept' }),
    3,
  );
  t.is(sample(metrics, 'nozzle_worker_in_flight'), 0);
  t.is((await fetch(`${metricsUrl}/readyz`)).status, 200);
  t.is((await fetch(`${metricsUrl}/healthz`)).status, 200);

  // The next publisher round: the namespace is asleep; nothing to publish.
  const again = NozzleProcess.start(['publish', '--once'], env);
  t.is((await again.exit()).code, 0);
  t.like(
    again.lines.find((l) => l.msg === 'publisher round done'),
    { published: 0, skipped: { asleep: 3 } },
  );

  // Wake the namespace through the queue.
  const js = jetstream(nc);
  const wake = wakeMessage(namespace);
  await js.publish(subjectOf(wake), encodeMessage(wake), { msgID: decisionId(wake) });
  await eventually('the wake to be done', () => queueEmpty(nc));

  const awake = await snapshot(kube, namespace);
  const unchanged = <T extends { spec?: unknown; metadata?: V1ObjectMeta }>(
    kind: string,
    was: Record<string, T>,
    now: Record<string, T>,
  ): void => {
    for (const [name, object] of Object.entries(was)) {
      t.deepEqual(now[name]?.spec, object.spec, `${kind} ${name}: spec as before`);
      t.deepEqual(
        now[name]?.metadata?.annotations,
        object.metadata?.annotations,
        `${kind} ${name}: annotations`,
      );
      t.deepEqual(now[name]?.metadata?.labels, object.metadata?.labels, `${kind} ${name}: labels`);
    }
  };
  unchanged('Deployment', before.deployments, awake.deployments);
  unchanged('StatefulSet', before.statefulSets, awake.statefulSets);
  unchanged('Ingress', before.ingresses, awake.ingresses);
  t.deepEqual(
    (await readScaledObject(kube, namespace, 'api')).metadata.annotations ?? {},
    {},
    'KEDA resumed by the wake',
  );
  const ns = await kube.core.readNamespace({ name: namespace });
  const wokeAt = Date.parse(ns.metadata?.annotations?.['nozzle.io/woke-at'] ?? '');
  t.true(Math.abs(Date.now() - wokeAt) < 60_000, 'woke-at stamped');

  // Just woken: the publisher leaves it alone for its idle-after.
  const afterWake = NozzleProcess.start(['publish', '--once'], { ...env, NOZZLE_IDLE_AFTER: '30m' });
  t.is((await afterWake.exit()).code, 0);
  t.like(
    afterWake.lines.find((l) => l.msg === 'publisher round done'),
    { published: 0, skipped: { awake: 3 } },
  );

  t.deepEqual(await deadLetters(nc), []);
  worker.kill('SIGTERM');
  const exit = await worker.exit();
  t.is(exit.code, 0, worker.describe());
  t.truthy(worker.lines.find((l) => l.msg === 'worker stopped'));
});
