/**
 * `nozzle publish` against the real apiserver: the policy applied to real
 * namespaces, a constant number of paginated list calls, one message per due
 * workload with the decision's Nats-Msg-Id (a second round is all
 * duplicates), invalid annotations skipped with the reason, and a non-zero
 * exit when it could not do its job.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from '../../scripts/testenv/servers/ports.js';
import { adminKube } from '../support/env.js';
import { writeKubeconfig } from '../support/kubeconfig-file.js';
import { NozzleProcess, type LogLine } from '../support/nozzle-process.js';
import { deployment, statefulSet } from '../support/shop.js';
import { privateQueue } from '../support/worker-harness.js';
import { topologyEnv } from '../support/stream.js';
import { uniqueName } from '../support/env.js';

const kube = adminKube();
const dir = mkdtempSync(join(tmpdir(), 'nozzle-publisher-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const summary = (p: NozzleProcess): LogLine | undefined =>
  p.lines.find((l) => l.msg === 'publisher round done');

/** Six opted-in namespaces in every state the policy knows, under a selector of their own. */
async function landscape() {
  const run = uniqueName('pub');
  const label = `nozzle-test-${run}`;
  const names = {
    fresh: `${run}-fresh`, // never stamped: due
    idle: `${run}-idle`, // woke 2h ago: due
    awake: `${run}-awake`, // woke just now: awake
    custom: `${run}-custom`, // woke 10m ago, idle-after 5m: due
    broken: `${run}-broken`, // idle-after "abc": skipped, invalid
    system: `${run}-system`, // plays Nozzle's own namespace
  };
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const annotations: Record<string, Record<string, string>> = {
    fresh: {},
    idle: { 'nozzle.io/woke-at': ago(2 * 3_600_000) },
    awake: { 'nozzle.io/woke-at': ago(1_000) },
    custom: { 'nozzle.io/woke-at': ago(10 * 60_000), 'nozzle.io/idle-after': '5m' },
    broken: { 'nozzle.io/idle-after': 'abc' },
    system: {},
  };
  for (const [key, name] of Object.entries(names)) {
    await kube.core.createNamespace({
      body: { metadata: { name, labels: { [label]: 'true' }, annotations: annotations[key] } },
    });
    await kube.apps.createNamespacedDeployment({ namespace: name, body: deployment('web', 2) });
  }
  // More in `fresh`: a StatefulSet, an excluded Deployment, one at 0, one of Nozzle's.
  await kube.apps.createNamespacedStatefulSet({ namespace: names.fresh, body: statefulSet('db', 1) });
  const excluded = deployment('batch', 1);
  excluded.metadata!.annotations = { 'nozzle.io/exclude': 'true' };
  await kube.apps.createNamespacedDeployment({ namespace: names.fresh, body: excluded });
  await kube.apps.createNamespacedDeployment({ namespace: names.fresh, body: deployment('cold', 0) });
  const ours = deployment('helper', 1);
  ours.metadata!.labels = { ...ours.metadata!.labels, 'nozzle.io/managed': 'true' };
  await kube.apps.createNamespacedDeployment({ namespace: names.fresh, body: ours });
  // Not opted in: never considered.
  await kube.core.createNamespace({ body: { metadata: { name: `${run}-out` } } });
  await kube.apps.createNamespacedDeployment({ namespace: `${run}-out`, body: deployment('web', 1) });
  return { names, selector: `${label}=true` };
}

test('one round: the policy on real namespaces, three list calls, one message per due workload', async (t) => {
  const { nats, nc } = await privateQueue(t);
  const { names, selector } = await landscape();
  const env = {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: selector,
    NOZZLE_SYSTEM_NAMESPACE: names.system,
    // One page per list however many objects other tests made: 3 calls, for 6 namespaces or 600.
    NOZZLE_LIST_PAGE_SIZE: '5000',
    ...topologyEnv(),
  };
  const first = NozzleProcess.start(['publish', '--once'], env);
  t.is((await first.exit()).code, 0, first.describe());
  t.like(summary(first), {
    namespaces: 6,
    workloads: 10,
    due: 4,
    published: 4,
    duplicates: 0,
    failed: 0,
    skipped: { awake: 1, asleep: 1, excluded: 1, nozzle: 2, invalid: 1 },
    listCalls: 3,
  });
  const invalid = first.lines.find((l) => l.msg === 'skipped: invalid annotation');
  t.like(invalid, { namespace: names.broken, workload: 'Deployment/web' });
  t.regex(String(invalid?.reason), /nozzle.io\/idle-after "abc"/);

  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info('NOZZLE');
  t.is(stream.state.messages, 4);
  const stored = await Promise.all([1, 2, 3, 4].map((seq) => jsm.streams.getMessage('NOZZLE', { seq })));
  t.deepEqual(
    stored.map((m) => `${m?.subject} ${m?.header.get('Nats-Msg-Id')}`).sort(),
    [
      `nozzle.sleep.${names.custom} sleep/${names.custom}/Deployment/web@${(await wokeAt(names.custom)) ?? ''}`,
      `nozzle.sleep.${names.fresh} sleep/${names.fresh}/Deployment/web@never`,
      `nozzle.sleep.${names.fresh} sleep/${names.fresh}/StatefulSet/db@never`,
      `nozzle.sleep.${names.idle} sleep/${names.idle}/Deployment/web@${(await wokeAt(names.idle)) ?? ''}`,
    ].sort(),
  );
  const body = stored
    .map((m) => m?.json<Record<string, unknown>>())
    .find((b) => b?.namespace === names.fresh && (b.workload as { kind: string }).kind === 'StatefulSet');
  t.like(body, { v: 1, op: 'sleep', workload: { kind: 'StatefulSet', name: 'db' }, reason: 'idle' });

  // The next round decides the same: every message is a duplicate, dropped by JetStream. Small pages: same result.
  const second = NozzleProcess.start(['publish', '--once'], { ...env, NOZZLE_LIST_PAGE_SIZE: '4' });
  t.is((await second.exit()).code, 0, second.describe());
  t.like(summary(second), { namespaces: 6, workloads: 10, due: 4, published: 0, duplicates: 4, failed: 0 });
  t.true(
    Number(summary(second)?.listCalls) >= 2 + 3 + 1,
    'paginated: 6 namespaces and 10+ workloads in pages of 4',
  );
  t.is((await jsm.streams.info('NOZZLE')).state.messages, 4);
});

test('--interval runs rounds until SIGTERM, then exits 0', async (t) => {
  const { nats } = await privateQueue(t);
  const { names, selector } = await landscape();
  const publisher = NozzleProcess.start(['publish', '--interval', '300ms'], {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: selector,
    NOZZLE_SYSTEM_NAMESPACE: names.system,
    ...topologyEnv(),
  });
  t.teardown(() => publisher.kill('SIGKILL'));
  await publisher.waitForLog((l) => l.msg === 'publisher round done' && l.duplicates === 4);
  publisher.kill('SIGTERM');
  t.is((await publisher.exit()).code, 0);
  const rounds = publisher.lines.filter((l) => l.msg === 'publisher round done');
  t.like(rounds[0], { published: 4 });
  t.true(rounds.length >= 2);
});

test('exits non-zero when it cannot publish or cannot list', async (t) => {
  const noNats = NozzleProcess.start(['publish', '--once'], {
    NATS_URL: `nats://127.0.0.1:${await freePort()}`,
  });
  t.is((await noNats.exit()).code, 1);
  t.regex(noNats.describe(), /cannot connect to NATS/);

  const { nats } = await privateQueue(t);
  const noApi = NozzleProcess.start(['publish', '--once'], {
    NATS_URL: nats.url,
    KUBECONFIG: writeKubeconfig(dir, 'down', { server: `https://127.0.0.1:${await freePort()}` }),
    ...topologyEnv(),
  });
  t.is((await noApi.exit()).code, 1);
  t.truthy(
    noApi.lines.find((l) => l.msg === 'publisher round failed'),
    noApi.describe(),
  );
});

async function wokeAt(namespace: string): Promise<string | undefined> {
  return (await kube.core.readNamespace({ name: namespace })).metadata?.annotations?.['nozzle.io/woke-at'];
}
