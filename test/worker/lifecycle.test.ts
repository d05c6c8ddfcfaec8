/**
 * The worker process as KEDA runs it: not ready until the consumer exists
 * (`nozzle setup` creates it), and on SIGTERM it stops pulling, finishes
 * what is in flight, and exits 0; what it cannot finish in time goes back to
 * the queue and the next worker completes it.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleepMessage } from '../../lib/messages.js';
import { adminKube, adminKubeConfig } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { writeKubeconfig } from '../support/kubeconfig-file.js';
import { NozzleProcess, type LogLine } from '../support/nozzle-process.js';
import { startPrivateNats } from '../support/private-nats.js';
import { SlowProxy } from '../support/slow-proxy.js';
import { createShop } from '../support/shop.js';
import { privateQueue, publish } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, topologyEnv } from '../support/stream.js';

const kube = adminKube();
const dir = mkdtempSync(join(tmpdir(), 'nozzle-lifecycle-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const port = (line: LogLine): string => `http://127.0.0.1:${String(line.port)}`;

test('not ready until `nozzle setup` has created the consumer; ready after', async (t) => {
  const nats = await startPrivateNats();
  t.teardown(() => nats.stop());
  const env = { NATS_URL: nats.url, ...topologyEnv() };
  const worker = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => worker.kill('SIGKILL'));
  const url = port(await worker.waitForLog((l) => l.msg === 'worker listening'));
  t.is((await fetch(`${url}/healthz`)).status, 200, 'alive');
  const notReady = await fetch(`${url}/readyz`);
  t.is(notReady.status, 503);
  t.regex(await notReady.text(), /consumer nozzle-worker not bound/);

  const setup = NozzleProcess.start(['setup'], env);
  t.is((await setup.exit()).code, 0, setup.describe());
  t.like(setup.lines.at(-1), { stream: 'created', deadLetterStream: 'created', consumer: 'created' });
  const again = NozzleProcess.start(['setup'], env);
  t.is((await again.exit()).code, 0);
  t.like(again.lines.at(-1), { stream: 'unchanged', deadLetterStream: 'unchanged', consumer: 'unchanged' });

  await eventually('ready', async () => (await fetch(`${url}/readyz`)).status === 200);
  worker.kill('SIGTERM');
  t.is((await worker.exit()).code, 0);
});

test('`nozzle setup` with an unreachable NATS fails clearly', async (t) => {
  const setup = NozzleProcess.start(['setup'], { NATS_URL: 'nats://127.0.0.1:1' });
  t.is((await setup.exit()).code, 1);
  t.regex(
    JSON.stringify(setup.lines),
    /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1 \(check NATS_URL\)/,
  );
  const bad = NozzleProcess.start(['worker'], { NATS_URL: 'http://nats:4222' });
  t.is((await bad.exit()).code, 2);
  t.regex(bad.stderr, /NATS_URL: "http:\/\/nats:4222" must use nats: or tls:/);
});

test('SIGTERM: the in-flight operation finishes, is acknowledged, and the worker exits 0', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'sigterm');
  const server = adminKubeConfig().getCurrentCluster()?.server;
  if (!server) throw new Error('the test kubeconfig has no server');
  const proxy = await SlowProxy.start(server);
  t.teardown(() => proxy.stop());
  const worker = NozzleProcess.start(['worker', '--port', '0'], {
    NATS_URL: nats.url,
    KUBECONFIG: writeKubeconfig(dir, 'slow', { server: proxy.url }),
    NOZZLE_WORKER_SHUTDOWN_TIMEOUT: '60s',
  });
  t.teardown(() => worker.kill('SIGKILL'));
  await worker.waitForLog((l) => l.msg === 'consumer bound');

  proxy.delay = 200; // every apiserver request of the worker now takes a while
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await worker.waitForLog((l) => l.msg === 'step done: takeover');
  worker.kill('SIGTERM');
  const exit = await worker.exit(60_000);
  t.is(exit.code, 0, worker.describe());

  const order = worker.lines.map((l) => l.msg);
  t.true(order.indexOf('sleep: slept') > order.indexOf('finishing in-flight operations'), worker.describe());
  t.true(order.indexOf('worker stopped') > order.indexOf('sleep: slept'));
  t.like(
    worker.lines.find((l) => l.msg === 'sleep: slept'),
    { acked: true },
  );
  t.true(await queueEmpty(nc), 'acknowledged before exiting');
  t.is((await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).spec?.replicas, 0);
});

test('SIGTERM with an operation that cannot finish in time: handed back, and the next worker completes it', async (t) => {
  const { nats, nc, js } = await privateQueue(t);
  const { namespace } = await createShop(kube, 'handback');
  const env = { NATS_URL: nats.url };
  const stuck = NozzleProcess.startPausedWorker(['--port', '0'], {
    ...env,
    NOZZLE_WORKER_SHUTDOWN_TIMEOUT: '1s',
  });
  t.teardown(() => stuck.kill('SIGKILL'));
  await stuck.waitForLog((l) => l.msg === 'consumer bound');
  await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: 'web' }));
  await stuck.waitForLog((l) => l.msg === 'test pause: after takeover');
  // The operation is paused for ever: exiting at all is the shutdown timeout's doing.
  stuck.kill('SIGTERM');
  t.is((await stuck.exit()).code, 0, stuck.describe());
  t.truthy(
    stuck.lines.find((l) => l.msg === 'shutdown timeout: unfinished operations handed back for redelivery'),
  );

  const next = NozzleProcess.start(['worker', '--port', '0'], env);
  t.teardown(() => next.kill('SIGKILL'));
  const done = await next.waitForLog((l) => l.msg === 'sleep: slept');
  t.is(done.deliveries, 2);
  await eventually('acknowledged', () => queueEmpty(nc));
  t.is(
    (await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })).metadata?.annotations?.[
      'nozzle.io/replicas'
    ],
    '3',
  );
  t.deepEqual(await deadLetters(nc), []);
  next.kill('SIGTERM');
  t.is((await next.exit()).code, 0);
});
