/**
 * The apiserver stops (SIGSTOP) right as a wake starts and comes back 4 s
 * later: the wake outlasts it (its calls stall, then complete; failures are retried), the workloads restored to their
 * backups, nothing lost, and the takeover removed once the Service is ready
 * on its own. The apiserver (and its etcd) is this test's own, so stopping
 * it stalls no other test file.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { createActivatorMetrics } from '../../activator/metrics.js';
import { Wake, kubeWakeDeps } from '../../activator/wake.js';
import { annotations } from '../../lib/names.js';
import { takeoverSlices } from '../../lib/takeover/takeover.js';
import { startPrivateApiServer } from '../support/private-apiserver.js';
import { NamespaceIndex, asleepWithTakeover, controllerSlice, quiet } from './convergence/fixtures.js';

const OUTAGE_MS = 4_000;

test('an apiserver outage as a wake starts: the wake outlasts it (not failed), replicas restored from the backups, nothing lost', async (t) => {
  const server = await startPrivateApiServer();
  t.teardown(() => server.stop());
  const { kube } = server;
  const apiserver = server.apiserver.process;
  const { namespace } = await asleepWithTakeover(kube, 'wake-outage', { web: 2, api: 3 });
  const index = new NamespaceIndex(kube, namespace);
  t.teardown(() => index.stop());
  await index.whenSynced();

  let stopped = true;
  apiserver.signal('SIGSTOP');
  t.teardown(() => {
    if (stopped) apiserver.signal('SIGCONT');
  });
  const metrics = createActivatorMetrics(new Registry());
  const wake = new Wake(
    namespace,
    kubeWakeDeps({ kube, index, log: quiet, metrics, readinessTimeoutMs: 60_000 }),
  );
  t.teardown(() => wake.close());
  await sleep(OUTAGE_MS);
  t.is(wake.state, 'waking', 'still waking through the outage, not failed');
  apiserver.signal('SIGCONT');
  stopped = false;

  await controllerSlice(kube, namespace, 'web');
  await controllerSlice(kube, namespace, 'api');
  await wake.done;
  t.is(wake.state, 'ready', wake.failure?.message);
  for (const [name, replicas] of [
    ['web', 2],
    ['api', 3],
  ] as const) {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name });
    t.is(d.spec?.replicas, replicas, `${name} restored to its backup`);
    t.is(d.metadata?.annotations?.[annotations.replicas], undefined);
  }
  t.deepEqual(await takeoverSlices(kube, namespace), [], 'takeover removed');
});
