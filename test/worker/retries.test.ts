/**
 * Transient failures are retried with a delay and, after max_deliver,
 * dead-lettered with the last error; a message whose deliveries all went
 * unanswered (crashed workers) is dead-lettered too. Nothing is lost.
 */
import test from 'ava';
import { KubeConfig } from '@kubernetes/client-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectKube } from '../../lib/kube/client.js';
import { encodeMessage, sleepMessage } from '../../lib/messages.js';
import { freePort } from '../../scripts/testenv/servers/ports.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { createShop } from '../support/shop.js';
import { privateQueue, publish, sample, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, queueState, topologyEnv, testTopology } from '../support/stream.js';

const kube = adminKube();

async function unreachableKube() {
  const config = new KubeConfig();
  const port = await freePort(); // nothing listens there: every call fails with ECONNREFUSED
  config.loadFromOptions({
    clusters: [{ name: 'down', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'c', cluster: 'down', user: 'u' }],
    currentContext: 'c',
  });
  return connectKube(config);
}

test('a transient failure is retried with a delay, then dead-lettered with the last error after max_deliver', async (t) => {
  const { nats, nc, js } = await privateQueue(t, { maxDeliver: 3 });
  const worker = await startWorker(nats.url, await unreachableKube(), {
    retryDelay: 300,
    retryDelayMax: 1_000,
  });
  t.teardown(() => worker.stop());
  const message = sleepMessage('somewhere', { kind: 'Deployment', name: 'web' });
  await publish(js, message);
  await eventually('answered', () => queueEmpty(nc), { timeout: 30_000 });

  const [letter, ...more] = await deadLetters(nc);
  t.deepEqual(more, []);
  t.like(letter, {
    kind: 'max-deliver',
    deliveries: '3',
    subject: 'nozzle.dead.somewhere',
    payload: encodeMessage(message),
  });
  t.regex(letter?.reason ?? '', /^gave up after 3 deliveries; last error: .*ECONNREFUSED/);

  const retries = worker.lines.filter((l) => l.msg === 'sleep failed; will retry');
  t.deepEqual(
    retries.map((l) => [l.deliveries, l.retryInMs]),
    [
      [1, 300],
      [2, 600],
    ],
    'nak with a delay that doubles',
  );
  const metrics = await worker.registry.metrics();
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'retried' }), 2);
  t.is(sample(metrics, 'nozzle_worker_messages_total', { op: 'sleep', outcome: 'dead_lettered' }), 1);
  t.is(sample(metrics, 'nozzle_worker_dead_letters_total', { kind: 'max-deliver' }), 1);
});

test('a message whose last delivery is never answered (the worker was killed) is dead-lettered, not stuck', async (t) => {
  const { nats, nc, js } = await privateQueue(t, { maxDeliver: 1 });
  const { namespace } = await createShop(kube, 'unanswered');
  const doomed = NozzleProcess.startPausedWorker(['--port', '0'], {
    NATS_URL: nats.url,
    ...topologyEnv({ ...testTopology, maxDeliver: 1 }),
  });
  t.teardown(() => doomed.kill('SIGKILL'));
  await doomed.waitForLog((l) => l.msg === 'consumer bound');
  const message = sleepMessage(namespace, { kind: 'Deployment', name: 'web' });
  await publish(js, message);
  await doomed.waitForLog((l) => l.msg === 'test pause: after takeover');

  const survivor = await startWorker(nats.url, kube);
  t.teardown(() => survivor.stop());
  doomed.kill('SIGKILL');

  await eventually(
    'dead-lettered after the unanswered last delivery',
    async () => (await deadLetters(nc)).length === 1,
  );
  const [letter] = await deadLetters(nc);
  t.like(letter, {
    kind: 'max-deliver',
    deliveries: '1',
    subject: `nozzle.dead.${namespace}`,
    payload: encodeMessage(message),
  });
  t.regex(letter?.reason ?? '', /never acknowledged/);
  await eventually('removed from the work queue', async () => (await queueState(nc)).messages === 0);
  const jsm = await jetstreamManager(nc);
  t.is((await jsm.streams.info('NOZZLE')).state.messages, 0);
});
