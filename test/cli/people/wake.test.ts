/**
 * `nozzle wake`: restores the sleeping workloads; with --wait it shows the
 * progress of each workload until all are Ready (the test stands in for the
 * Deployment controller by writing status.readyReplicas), and exits 1 naming
 * what is not ready when --timeout expires; --for writes keep-awake-until.
 */
import test from 'ava';
import { annotations } from '../../../lib/names.js';
import { parseRfc3339 } from '../../../lib/rfc3339.js';
import { adminKube } from '../../support/env.js';
import { NozzleProcess } from '../../support/nozzle-process.js';
import { nozzle, requesting, setReady } from '../../support/people-cli.js';
import { createNamespace } from '../../support/shop.js';

const kube = adminKube();

async function sleepingShop(prefix: string) {
  const { namespace } = await createNamespace(kube, prefix);
  await kube.apps.createNamespacedDeployment({ namespace, body: requesting('web', 3, '100m', '32Mi') });
  await kube.apps.createNamespacedDeployment({ namespace, body: requesting('api', 1, '100m', '32Mi') });
  const slept = await nozzle(['sleep', namespace]);
  if (slept.code !== 0) throw new Error(slept.stderr);
  return namespace;
}

const printed = (p: NozzleProcess, line: string) => p.waitForLog((l) => l.raw === line);

test('wake --wait restores and shows each workload until all are ready', async (t) => {
  const namespace = await sleepingShop('wk-wait');
  const wake = NozzleProcess.start(['wake', namespace, '--wait']);
  t.teardown(() => wake.kill('SIGKILL'));

  await printed(wake, `woke ${namespace}: api -> 1, web -> 3`);
  await printed(wake, 'api  0/1 ready');
  await printed(wake, 'web  0/3 ready');
  const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
  t.is(web.spec?.replicas, 3);
  t.is(web.metadata?.annotations?.[annotations.replicas], undefined);

  await setReady(kube, namespace, 'web', 1);
  await printed(wake, 'web  1/3 ready');
  await setReady(kube, namespace, 'api', 1);
  await printed(wake, 'api  1/1 ready');
  t.true(wake.running, 'still waiting for web');
  await setReady(kube, namespace, 'web', 3);
  await printed(wake, 'web  3/3 ready');
  t.is((await wake.exit()).code, 0, wake.describe());
  t.deepEqual(wake.lines.at(-1), { raw: `all 2 workloads of ${namespace} ready` });
  t.log(wake.lines.map((l) => l.raw).join('\n'));
});

test('wake --wait exits 1 naming what is not ready when --timeout expires', async (t) => {
  const namespace = await sleepingShop('wk-timeout');
  const result = await nozzle(['wake', namespace, '--wait', '--timeout', '2s']);
  t.is(result.code, 1);
  t.is(result.stderr.trim(), 'error: not ready after 2s: api 0/1, web 0/3');
});

test('wake --for 2h keeps it awake until then; a second wake restores nothing', async (t) => {
  const namespace = await sleepingShop('wk-for');
  const before = Date.now();
  const result = await nozzle(['wake', namespace, '--for', '2h']);
  t.is(result.code, 0, result.stderr);
  const ns = await kube.core.readNamespace({ name: namespace });
  const until = parseRfc3339(ns.metadata?.annotations?.[annotations.keepAwakeUntil] ?? '');
  const wokeAt = parseRfc3339(ns.metadata?.annotations?.[annotations.wokeAt] ?? '');
  t.truthy(wokeAt);
  t.is(until, wokeAt! + 2 * 3_600_000);
  t.true(wokeAt! >= before - 1000);
  t.regex(result.stdout, new RegExp(`kept awake until ${new Date(until!).toISOString()}`));

  const again = await nozzle(['wake', namespace]);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout.trim(), `namespace "${namespace}" was awake: nothing to restore`);
});
