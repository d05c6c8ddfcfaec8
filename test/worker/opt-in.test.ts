/**
 * NATS has no authentication inside the cluster, so the worker does not trust
 * a message to name a namespace it may touch: a sleep or wake for a namespace
 * that does not match NOZZLE_NAMESPACE_SELECTOR, or for Nozzle's own
 * namespace, is refused (dead-lettered as invalid, counted as refused) and
 * nothing in that namespace changes.
 */
import test from 'ava';
import { annotations } from '../../lib/names.js';
import { encodeMessage, sleepMessage, wakeMessage } from '../../lib/messages.js';
import { adminKube, uniqueName } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { createShop, deployment, service, sharedIngress, snapshot } from '../support/shop.js';
import { privateQueue, publish, sample, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty } from '../support/stream.js';

const kube = adminKube();

/** A namespace with web (3 replicas), its Services and the shared Ingress, labelled `labels`. */
async function namespaceWithWeb(prefix: string, labels: Record<string, string>): Promise<string> {
  const namespace = uniqueName(prefix);
  await kube.core.createNamespace({ body: { metadata: { name: namespace, labels } } });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 3) });
  for (const body of [service('web', { app: 'web' }), service('api', { app: 'api' })]) {
    await kube.core.createNamespacedService({ namespace, body });
  }
  await kube.networking.createNamespacedIngress({ namespace, body: sharedIngress() });
  return namespace;
}

test('sleeps and wakes for namespaces that did not opt in, or for Nozzle’s own, are refused and dead-lettered', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  // Looks like kube-system: no nozzle label at all.
  const foreign = await namespaceWithWeb('foreign', { team: 'platform' });
  // Labelled nozzle=false: selected by `nozzle`-exists but not by nozzle=true.
  const optedOut = await namespaceWithWeb('opted-out', { nozzle: 'false' });
  // Matches the selector, but is the worker's NOZZLE_SYSTEM_NAMESPACE.
  const system = await namespaceWithWeb('system', { nozzle: 'true' });
  // A namespace that did not opt in, with a workload that looks asleep: a wake must not touch it either.
  const dormant = uniqueName('dormant');
  await kube.core.createNamespace({ body: { metadata: { name: dormant } } });
  await kube.apps.createNamespacedDeployment({
    namespace: dormant,
    body: {
      ...deployment('batch', 0),
      metadata: { name: 'batch', annotations: { [annotations.replicas]: '2' } },
    },
  });
  // And one that did: the same worker carries its sleep out (the refusals are not a broken worker).
  const { namespace: shop } = await createShop(kube, 'opted-in');

  const before = {
    foreign: await snapshot(kube, foreign),
    optedOut: await snapshot(kube, optedOut),
    system: await snapshot(kube, system),
    dormant: await snapshot(kube, dormant),
  };
  const worker = await startWorker(nats.url, kube, { systemNamespace: system });
  t.teardown(() => worker.stop());

  const refused = [
    sleepMessage(foreign, { kind: 'Deployment', name: 'web' }),
    sleepMessage(optedOut, { kind: 'Deployment', name: 'web' }),
    sleepMessage(system, { kind: 'Deployment', name: 'web' }),
    wakeMessage(dormant),
    wakeMessage(system),
  ];
  for (const message of refused) await publish(js, message);
  await publish(js, sleepMessage(shop, { kind: 'Deployment', name: 'web' }));
  await eventually('every message answered', () => queueEmpty(nc));

  // Nothing changed in the refused namespaces: no scale, no takeover, no woke-at.
  t.deepEqual(await snapshot(kube, foreign), before.foreign);
  t.deepEqual(await snapshot(kube, optedOut), before.optedOut);
  t.deepEqual(await snapshot(kube, system), before.system);
  t.deepEqual(await snapshot(kube, dormant), before.dormant);
  for (const namespace of [foreign, optedOut, system, dormant]) {
    const ns = await kube.core.readNamespace({ name: namespace });
    t.is(ns.metadata?.annotations?.[annotations.wokeAt], undefined, `${namespace}: no woke-at stamped`);
    t.deepEqual((await kube.events.listNamespacedEvent({ namespace })).items, [], `${namespace}: no Event`);
  }

  // Each refusal is a dead letter an operator can see, with the reason.
  const letters = await deadLetters(nc);
  t.is(letters.length, refused.length, JSON.stringify(letters, null, 1));
  for (const message of refused) {
    const letter = letters.find((l) => l.payload === encodeMessage(message));
    t.like(letter, { kind: 'invalid', subject: `nozzle.dead.${message.namespace}`, deliveries: '1' });
    const expected =
      message.namespace === system
        ? /^refused: namespace \S+ is Nozzle's own \(NOZZLE_SYSTEM_NAMESPACE\)/
        : /^refused: namespace \S+ has not opted in: its labels do not match NOZZLE_NAMESPACE_SELECTOR "nozzle=true"/;
    t.regex(letter?.reason ?? '', expected, `${message.op} ${message.namespace}`);
  }
  const logged = worker.lines.filter((l) => l.outcome === 'refused');
  t.is(logged.length, refused.length, 'each refusal logged with its reason');
  t.true(logged.every((l) => typeof l.reason === 'string' && l.reason.startsWith('namespace ')));

  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'refused' }), 3);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'wake', outcome: 'refused' }), 2);
  t.is(sample(metrics, 'nozzle_worker_dead_letters_total', { kind: 'invalid' }), refused.length);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'slept' }), 1);
  t.is((await kube.apps.readNamespacedDeployment({ namespace: shop, name: 'web' })).spec?.replicas, 0);
});

test('a set-based selector: the worker acts on exactly the namespaces it selects', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const tier = uniqueName('tier');
  const selector = `nozzle-tier in (${tier}, ${tier}-b),env!=prod,!frozen`;
  const selected = await namespaceWithWeb('set-in', { 'nozzle-tier': `${tier}-b`, env: 'dev' });
  const prod = await namespaceWithWeb('set-prod', { 'nozzle-tier': tier, env: 'prod' });
  const frozen = await namespaceWithWeb('set-frozen', { 'nozzle-tier': tier, frozen: '' });
  const worker = await startWorker(nats.url, kube, { namespaceSelector: selector });
  t.teardown(() => worker.stop());
  for (const namespace of [selected, prod, frozen]) {
    await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  }
  await eventually('every message answered', () => queueEmpty(nc));
  const replicas = async (namespace: string) =>
    (await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas;
  t.is(await replicas(selected), 0);
  t.is(await replicas(prod), 3);
  t.is(await replicas(frozen), 3);
  t.deepEqual(
    (await deadLetters(nc)).map((l) => l.subject).sort(),
    [`nozzle.dead.${frozen}`, `nozzle.dead.${prod}`].sort(),
  );
});

test('the real worker refuses to start with a selector that is not one, or an operation timeout past its shutdown', async (t) => {
  const bad = NozzleProcess.start(['worker', '--port', '0'], {
    NOZZLE_NAMESPACE_SELECTOR: 'nozzle in (true',
  });
  t.is((await bad.exit()).code, 2, bad.describe());
  t.regex(
    bad.stderr,
    /NOZZLE_NAMESPACE_SELECTOR: "nozzle in \(true" is not a label selector: expected "," or "\)"/,
  );

  const flag = NozzleProcess.start(['publish', '--once', '--selector', 'nozzle=true,=x']);
  t.is((await flag.exit()).code, 2, flag.describe());
  t.regex(
    flag.stderr,
    /--selector: "nozzle=true,=x" is not a label selector: expected a label key at position 13/,
  );

  const slow = NozzleProcess.start(['worker', '--port', '0'], {
    NOZZLE_WORKER_OPERATION_TIMEOUT: '2m',
    NOZZLE_WORKER_SHUTDOWN_TIMEOUT: '45s',
  });
  t.is((await slow.exit()).code, 2, slow.describe());
  t.regex(
    slow.stderr,
    /NOZZLE_WORKER_OPERATION_TIMEOUT: 2m must be shorter than NOZZLE_WORKER_SHUTDOWN_TIMEOUT \(45s\)/,
  );
});
