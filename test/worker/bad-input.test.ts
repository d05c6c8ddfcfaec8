/**
 * Bad input never loops and is never dropped silently: a message that can
 * never be processed is dead-lettered with the reason, at its first delivery;
 * a message about something that does not exist is acknowledged with the
 * reason logged.
 */
import test, { type ExecutionContext } from 'ava';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { sleepMessage, encodeMessage } from '../../lib/messages.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { createTakeoverShop, takeoverSlicesByName } from '../support/takeover-shop.js';
import { DEAD_LETTER_PAYLOAD_LIMIT } from '../../lib/jetstream/dead-letter.js';
import { createShop } from '../support/shop.js';
import { privateQueue, publish, sample, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, queueState, testTopology, type DeadLetterView } from '../support/stream.js';

const kube = adminKube();

test('invalid messages are dead-lettered once with the reason; missing objects are acked with a logged reason', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'bad');
  const valid = sleepMessage(namespace, { kind: 'Deployment', name: 'web' });
  const body = (patch: Record<string, unknown>): string => JSON.stringify({ ...valid, ...patch });

  const invalid: [string, string, string | Uint8Array, RegExp][] = [
    ['malformed JSON', `nozzle.sleep.${namespace}`, '{"v":1,"op":"sleep",', /body: not JSON/],
    ['not UTF-8', `nozzle.sleep.${namespace}`, new Uint8Array([0xc3, 0x28]), /body: not UTF-8/],
    ['wrong version', `nozzle.sleep.${namespace}`, body({ v: 2 }), /v: unsupported version 2/],
    [
      'unknown kind',
      `nozzle.sleep.${namespace}`,
      body({ workload: { kind: 'DaemonSet', name: 'x' } }),
      /workload\.kind: "DaemonSet" is not one of/,
    ],
    ['missing namespace', `nozzle.sleep.${namespace}`, body({ namespace: undefined }), /namespace: missing/],
    [
      'wrong subject',
      'nozzle.sleep.elsewhere',
      body({}),
      /subject: a sleep message for .* must be on nozzle\.sleep\./,
    ],
  ];
  for (const [name, subject, payload] of invalid) await js.publish(subject, payload, { msgID: name });

  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'ghost' }));
  await publish(js, sleepMessage(`${namespace}-gone`, { kind: 'StatefulSet', name: 'db' }));
  await eventually('every message answered', () => queueEmpty(nc));

  const letters = await deadLetters(nc);
  t.is(letters.length, invalid.length, JSON.stringify(letters, null, 1));
  for (const [name, subject, payload, reason] of invalid) {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    const letter = letters.find((l) => l.originalSubject === subject && l.payload === text);
    t.truthy(letter, `${name}: dead-lettered with its original payload`);
    t.is(letter?.kind, 'invalid', name);
    t.regex(letter?.reason ?? '', reason, name);
    t.is(letter?.deliveries, '1', `${name}: at its first delivery`);
    t.is(letter?.subject, 'nozzle.dead.invalid', name);
  }
  const state = await queueState(nc);
  t.is(state.redelivered, 0, 'nothing was redelivered: nothing loops');

  const ghost = worker.lines.find((l) => l.workload === 'Deployment/ghost');
  t.like(ghost, { outcome: 'skipped', reason: `Deployment ${namespace}/ghost not found`, deliveries: 1 });
  const gone = worker.lines.find((l) => l.namespace === `${namespace}-gone`);
  t.like(gone, { outcome: 'skipped', reason: `namespace ${namespace}-gone not found` });

  const metrics = await worker.registry.metrics();
  t.is(
    sample(metrics, 'nozzle_worker_messages_total', { op: 'invalid', outcome: 'dead_lettered' }),
    invalid.length,
  );
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'skipped' }), 2);
  t.is(sample(metrics, 'nozzle_worker_dead_letters_total', { kind: 'invalid' }), invalid.length);
  t.is(
    (await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas,
    3,
    'nothing slept',
  );
});

test('a sleep that can never succeed is dead-lettered with the error, not retried', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace, system } = await createTakeoverShop(kube, 'perm');
  // An EndpointSlice by the name of web's takeover slice that is not Nozzle's: web cannot be taken over.
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: {
        name: 'web-nozzle-ipv4',
        labels: {
          'kubernetes.io/service-name': 'web',
          'endpointslice.kubernetes.io/managed-by': 'someone-else',
        },
      },
      addressType: 'IPv4',
      endpoints: [],
    },
  });
  const worker = await startWorker(nats.url, kube, { systemNamespace: system });
  t.teardown(() => worker.stop());
  const message = sleepMessage(namespace, { kind: 'Deployment', name: 'web' });
  await publish(js, message);
  await eventually('answered', () => queueEmpty(nc));

  const letter = await onlyDeadLetter(t, nc);
  t.like(letter, {
    kind: 'failed',
    subject: `nozzle.dead.${namespace}`,
    deliveries: '1',
    payload: encodeMessage(message),
  });
  t.regex(
    letter?.reason ?? '',
    /web-nozzle-ipv4 exists and is not managed by Nozzle: the Service cannot be taken over/,
  );
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 3);
  t.is((await queueState(nc)).redelivered, 0);
  const jsm = await jetstreamManager(nc);
  t.is((await jsm.streams.info('NOZZLE')).state.messages, 0, 'removed from the work queue');
});

test('a sleep dated in the future beyond the clock skew is dead-lettered, never carried out, right after a wake', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace, system } = await createTakeoverShop(kube, 'ahead');
  const wokeAt = new Date().toISOString();
  await kube.core.patchNamespace({
    name: namespace,
    body: [{ op: 'add', path: '/metadata/annotations', value: { 'nozzle.io/woke-at': wokeAt } }],
  });
  const worker = await startWorker(nats.url, kube, { systemNamespace: system });
  t.teardown(() => worker.stop());
  // Forged: dated 10 minutes ahead, it would pass the woke-at check and put the namespace back to sleep.
  const forged = sleepMessage(namespace, { kind: 'Deployment', name: 'web' }, { at: minutesFromNow(10) });
  // Within the skew (a publisher's clock slightly ahead): carried out as usual.
  const skewed = sleepMessage(namespace, { kind: 'Deployment', name: 'api' }, { at: minutesFromNow(0.25) });
  await publish(js, forged);
  await publish(js, skewed);
  await eventually('both answered', () => queueEmpty(nc));

  const letter = await onlyDeadLetter(t, nc);
  t.like(letter, {
    kind: 'invalid',
    subject: `nozzle.dead.${namespace}`,
    deliveries: '1',
    payload: encodeMessage(forged),
  });
  t.regex(
    letter?.reason ?? '',
    /^invalid message: at: ".*" is 10m in the future \(at most 30s of clock skew/,
  );
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.spec?.replicas, 3, 'the forged sleep was not carried out');
  t.is(web.metadata?.annotations?.['nozzle.io/replicas'], undefined);
  const slices = Object.keys(await takeoverSlicesByName(kube, namespace));
  t.false(
    slices.some((name) => name.startsWith('web-nozzle')),
    `web was not taken over either: ${slices.join(', ')}`,
  );
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'api' })).spec?.replicas, 0);
  const ns = await kube.core.readNamespace({ name: namespace });
  t.is(ns.metadata?.annotations?.['nozzle.io/woke-at'], wokeAt);
  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'invalid', outcome: 'dead_lettered' }), 1);
  t.is(sample(metrics, 'nozzle_worker_dead_letters_total', { kind: 'invalid' }), 1);
});

test('junk is bounded: over the message size limit it is refused at publish; under it, dead-lettered cut to 4 KiB', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const subject = 'nozzle.sleep.junk';
  const over = new Uint8Array(testTopology.maxMessageSize + 1).fill(0x7b);
  await t.throwsAsync(js.publish(subject, over), { message: /message size exceeds maximum allowed/ });
  const under = new Uint8Array(12 * 1024).fill(0x7b);
  await js.publish(subject, under);

  const worker = await startWorker(nats.url, kube);
  t.teardown(() => worker.stop());
  await eventually('answered', () => queueEmpty(nc));
  const letter = await onlyDeadLetter(t, nc);
  t.like(letter, { kind: 'invalid', originalSubject: subject, originalSize: String(12 * 1024) });
  t.is(letter?.payload, '{'.repeat(DEAD_LETTER_PAYLOAD_LIMIT), 'the first 4 KiB only');
  t.regex(letter?.reason ?? '', /body: not JSON/);
});

const minutesFromNow = (minutes: number): Date => new Date(Date.now() + minutes * 60_000);

async function onlyDeadLetter(t: ExecutionContext, nc: NatsConnection): Promise<DeadLetterView | undefined> {
  const [letter, ...more] = await deadLetters(nc);
  t.deepEqual(more, [], 'one dead letter only');
  return letter;
}
