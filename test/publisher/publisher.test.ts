/**
 * `nozzle publish` against the real apiserver: the policy applied to real
 * namespaces (whose creation is activity: idle-after is 1s here), a constant
 * number of paginated list calls (pods as metadata only), one message per due
 * workload with the decision's Nats-Msg-Id (a second round is all
 * duplicates), invalid annotations skipped with the reason, a non-zero
 * exit when it could not do its job, and the loop mode's metrics (savings,
 * the traffic source).
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
import { requesting } from '../support/people-cli.js';

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
    fresh: `${run}-fresh`, // never stamped, created over 1s ago: due
    idle: `${run}-idle`, // woke 2h ago: due
    awake: `${run}-awake`, // keep-awake-until in an hour: awake
    custom: `${run}-custom`, // woke 2h ago, idle-after 1h, but created (a change) just now: awake
    broken: `${run}-broken`, // idle-after "abc": skipped, invalid
    system: `${run}-system`, // plays Nozzle's own namespace
  };
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const annotations: Record<string, Record<string, string>> = {
    fresh: {},
    idle: { 'nozzle.io/woke-at': ago(2 * 3_600_000) },
    awake: { 'nozzle.io/keep-awake-until': ago(-3_600_000) },
    custom: { 'nozzle.io/woke-at': ago(2 * 3_600_000), 'nozzle.io/idle-after': '1h' },
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
  // Idle for longer than the tests' 1s idle-after since all this was created.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  return { names, selector: `${label}=true` };
}

test('one round: the policy on real namespaces, four list calls, one message per due workload', async (t) => {
  const { nats, nc } = await privateQueue(t);
  const { names, selector } = await landscape();
  const env = {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: selector,
    NOZZLE_SYSTEM_NAMESPACE: names.system,
    // One page per list however many objects other tests made: 4 calls, for 6 namespaces or 600.
    NOZZLE_LIST_PAGE_SIZE: '5000',
    NOZZLE_IDLE_AFTER: '1s',
    ...topologyEnv(),
  };
  const first = NozzleProcess.start(['publish', '--once'], env);
  t.is((await first.exit()).code, 0, first.describe());
  t.like(summary(first), {
    namespaces: 6,
    workloads: 10,
    due: 3,
    wakes: 0,
    published: 3,
    duplicates: 0,
    failed: 0,
    skipped: { awake: 2, asleep: 1, excluded: 1, nozzle: 2, invalid: 1, unknown: 0 },
    listCalls: 4,
    queryCalls: 0,
    traffic: 'not counted',
  });
  t.truthy(
    first.lines.find((l) => l.msg?.startsWith('no traffic source')),
    'says once, at start, that traffic is not counted',
  );
  const invalid = first.lines.find((l) => l.msg === 'skipped: invalid annotation');
  t.like(invalid, { namespace: names.broken, workload: 'Deployment/web' });
  t.regex(String(invalid?.reason), /nozzle.io\/idle-after "abc"/);

  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info('NOZZLE');
  t.is(stream.state.messages, 3);
  const stored = await Promise.all([1, 2, 3].map((seq) => jsm.streams.getMessage('NOZZLE', { seq })));
  t.deepEqual(
    stored.map((m) => `${m?.subject} ${m?.header.get('Nats-Msg-Id')}`).sort(),
    [
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
  t.like(summary(second), { namespaces: 6, workloads: 10, due: 3, published: 0, duplicates: 3, failed: 0 });
  t.true(
    Number(summary(second)?.listCalls) >= 2 + 3 + 1 + 1,
    'paginated: 6 namespaces and 10+ workloads in pages of 4',
  );
  t.is((await jsm.streams.info('NOZZLE')).state.messages, 3);
});

test('--interval runs rounds until SIGTERM, then exits 0', async (t) => {
  const { nats } = await privateQueue(t);
  const { names, selector } = await landscape();
  const publisher = NozzleProcess.start(['publish', '--interval', '300ms'], {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: selector,
    NOZZLE_SYSTEM_NAMESPACE: names.system,
    NOZZLE_IDLE_AFTER: '1s',
    ...topologyEnv(),
  });
  t.teardown(() => publisher.kill('SIGKILL'));
  await publisher.waitForLog((l) => l.msg === 'publisher round done' && l.duplicates === 3);
  publisher.kill('SIGTERM');
  t.is((await publisher.exit()).code, 0);
  const rounds = publisher.lines.filter((l) => l.msg === 'publisher round done');
  t.like(rounds[0], { published: 3 });
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

test('a traffic source that cannot be read: one query, nothing put to sleep, the reason logged', async (t) => {
  const { nats, nc } = await privateQueue(t);
  const { names, selector } = await landscape();
  const p = NozzleProcess.start(['publish', '--once'], {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: selector,
    NOZZLE_SYSTEM_NAMESPACE: names.system,
    NOZZLE_IDLE_AFTER: '1s',
    NOZZLE_ACTIVITY_PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
    NOZZLE_ACTIVITY_PRESET: 'traefik',
    ...topologyEnv(),
  });
  t.is((await p.exit()).code, 0, p.describe());
  t.like(summary(p), { due: 0, published: 0, queryCalls: 1, listCalls: 4, skipped: { unknown: 4 } });
  t.regex(String(summary(p)?.traffic), /^unreachable: cannot reach Prometheus/);
  t.like(
    p.lines.find((l) => l.msg === 'traffic source unavailable: nothing is put to sleep this round'),
    { reason: 'unreachable' },
  );
  t.is((await (await jetstreamManager(nc)).streams.info('NOZZLE')).state.messages, 0);
});

test('activity settings: preset and query are exclusive, and either needs the URL', async (t) => {
  const both = NozzleProcess.start(['publish', '--once'], {
    NOZZLE_ACTIVITY_PROMETHEUS_URL: 'http://prometheus:9090',
    NOZZLE_ACTIVITY_PRESET: 'traefik',
    NOZZLE_ACTIVITY_QUERY: 'max by (namespace) (x)',
  });
  t.is((await both.exit()).code, 2, both.describe());
  t.regex(
    both.describe(),
    /NOZZLE_ACTIVITY_QUERY: set either NOZZLE_ACTIVITY_PRESET or NOZZLE_ACTIVITY_QUERY/,
  );
  const noUrl = NozzleProcess.start(['publish', '--once'], { NOZZLE_ACTIVITY_PRESET: 'istio' });
  t.is((await noUrl.exit()).code, 2);
  t.regex(noUrl.describe(), /NOZZLE_ACTIVITY_PROMETHEUS_URL: required when/);
  const badPreset = NozzleProcess.start(['publish', '--once'], { NOZZLE_ACTIVITY_PRESET: 'nginx' });
  t.is((await badPreset.exit()).code, 2);
  t.regex(badPreset.describe(), /NOZZLE_ACTIVITY_PRESET: "nginx" is not one of/);
});

test('loop mode exports the savings per namespace (now and summed over time) and the traffic source being down', async (t) => {
  const { nats } = await privateQueue(t);
  const run = uniqueName('save');
  const label = `nozzle-test-${run}`;
  const asleep = `${run}-asleep`;
  const awake = `${run}-awake`;
  for (const name of [asleep, awake]) {
    await kube.core.createNamespace({ body: { metadata: { name, labels: { [label]: 'true' } } } });
  }
  // As the worker leaves it: replicas 0 and the backup, written by Nozzle's field manager (its time is the sleep's).
  const web = requesting('web', 0, '250m', '64Mi');
  web.metadata!.annotations = { 'nozzle.io/replicas': '3' };
  await kube.apps.createNamespacedDeployment({ namespace: asleep, body: web, fieldManager: 'nozzle' });
  await kube.apps.createNamespacedDeployment({ namespace: awake, body: requesting('web', 1, '1', '1Gi') });
  const port = await freePort();
  const publisher = NozzleProcess.start(['publish', '--interval', '500ms'], {
    NATS_URL: nats.url,
    NOZZLE_NAMESPACE_SELECTOR: `${label}=true`,
    NOZZLE_PUBLISHER_PORT: String(port),
    NOZZLE_ACTIVITY_PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
    NOZZLE_ACTIVITY_PRESET: 'traefik',
    ...topologyEnv(),
  });
  t.teardown(() => publisher.kill('SIGKILL'));
  await publisher.waitForLog(
    (l) =>
      l.msg === 'publisher round done' &&
      publisher.lines.filter((x) => x.msg === 'publisher round done').length >= 3,
  );
  t.like(summary(publisher), { saved: { notRunning: { cpu: 0.75, memory: 3 * 64 * 2 ** 20 } } });
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  /** The sample of `name` whose labels include `label` (the registry adds component="publisher"). */
  const value = (name: string, label = ''): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
    return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const of = (name: string, namespace: string) => value(name, `namespace="${namespace}"`);
  t.is(of('nozzle_saved_cpu_cores', asleep), 0.75, text);
  t.is(of('nozzle_saved_memory_bytes', asleep), 3 * 64 * 2 ** 20);
  t.is(of('nozzle_saved_cpu_cores', awake), 0);
  const coreSeconds = of('nozzle_saved_cpu_core_seconds_total', asleep);
  t.true(
    coreSeconds > 0 && coreSeconds < 0.75 * 30,
    `summed over the rounds this process saw: ${coreSeconds}`,
  );
  t.true(of('nozzle_saved_memory_byte_seconds_total', asleep) > 0);
  t.is(of('nozzle_saved_cpu_core_seconds_total', awake), 0);
  t.is(value('nozzle_publisher_activity_source_up'), 0);
  t.true(value('nozzle_publisher_activity_source_failures_total', 'reason="unreachable"') >= 3);
});
