/**
 * The real kube-apiserver stops (SIGSTOP) for a few seconds while sleeps are
 * in flight, longer than the ack wait: every message still completes once it
 * returns (SIGCONT), none is lost, redelivered or dead-lettered early. The
 * apiserver (and its etcd) is this test's own, so that stopping it stalls no
 * other test file.
 */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { sleepMessage } from '../../lib/messages.js';
import { startPrivateApiServer } from '../support/private-apiserver.js';
import { eventually } from '../support/eventually.js';
import { prefixPath } from '../support/ingress-path.js';
import { createNamespace, deployment, service, snapshot } from '../support/shop.js';
import { privateQueue, publish, startWorker } from '../support/worker-harness.js';
import { deadLetters, queueEmpty, queueState, testTopology } from '../support/stream.js';

const OUTAGE_MS = 4_000;

test('an apiserver outage while messages are in flight: all complete after it returns, none lost', async (t) => {
  const server = await startPrivateApiServer();
  t.teardown(() => server.stop());
  const { kube } = server;
  const apiserver = server.apiserver.process;
  const { nats, nc, js } = await privateQueue(t);
  t.true(
    OUTAGE_MS > testTopology.ackWait,
    'the outage outlasts the ack wait: only extending it avoids redelivery',
  );
  const { namespace } = await createNamespace(kube, 'outage');
  const count = 16;
  const paths = [];
  for (let i = 0; i < count; i++) {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment(`svc-${i}`, 2) });
    await kube.core.createNamespacedService({ namespace, body: service(`svc-${i}`, { app: `svc-${i}` }) });
    paths.push(prefixPath(`svc-${i}`, `/${i}`));
  }
  await kube.networking.createNamespacedIngress({
    namespace,
    body: { metadata: { name: 'all' }, spec: { rules: [{ host: 'outage.example.com', http: { paths } }] } },
  });

  const worker = await startWorker(nats.url, kube, { concurrency: 4 });
  t.teardown(() => worker.stop());
  let stopped = false;
  t.teardown(() => {
    if (stopped) apiserver.signal('SIGCONT'); // never leave it stopped (stop() also sends SIGCONT)
  });

  for (let i = 0; i < count; i++)
    await publish(js, sleepMessage(namespace, { kind: 'Deployment', name: `svc-${i}` }));
  await eventually('the first sleeps under way', () => worker.lines.some((l) => l.msg === 'sleep: slept'), {
    interval: 10,
  });
  apiserver.signal('SIGSTOP');
  stopped = true;
  const stoppedAt = Date.now();
  await sleep(OUTAGE_MS);
  const inFlightDuringOutage = (await queueState(nc)).ackPending;
  apiserver.signal('SIGCONT');
  stopped = false;
  t.log(`apiserver stopped for ${Date.now() - stoppedAt}ms with ${inFlightDuringOutage} messages in flight`);
  t.true(inFlightDuringOutage > 0, 'messages were in flight during the outage');

  await eventually('every message done', () => queueEmpty(nc), { timeout: 90_000 });
  const state = await snapshot(kube, namespace);
  for (let i = 0; i < count; i++) {
    t.is(state.deployments[`svc-${i}`]?.spec?.replicas, 0, `svc-${i}`);
    t.is(state.deployments[`svc-${i}`]?.metadata?.annotations?.['nozzle.io/replicas'], '2', `svc-${i}`);
  }
  t.is(state.ingresses.all?.metadata?.generation, 1, 'the Ingress is never written');
  t.deepEqual(await deadLetters(nc), [], 'nothing dead-lettered');
  t.is((await queueState(nc)).redelivered, 0, 'no redelivery: the ack deadline was extended while waiting');
  const slowest = Math.max(...worker.lines.filter((l) => l.msg === 'sleep: slept').map((l) => Number(l.ms)));
  t.true(slowest >= OUTAGE_MS - 1_000, `an operation waited out the outage (${slowest}ms)`);
  t.is(worker.lines.filter((l) => l.msg === 'sleep: slept').length, count);
});
