/**
 * `nozzle status` as a person runs it (the real CLI, a child process, the
 * test's admin kubeconfig): the table and -o json of an awake and an asleep
 * namespace, with the backed-up replicas and the requests saved.
 */
import test from 'ava';
import { annotations } from '../../../lib/names.js';
import { adminKube } from '../../support/env.js';
import { nozzle, requesting } from '../../support/people-cli.js';
import { createNamespace } from '../../support/shop.js';

const kube = adminKube();

interface StatusJson {
  namespaces: {
    namespace: string;
    state: string;
    since: { at: string; how: string } | null;
    lastActivity: { at: string; source: string } | null;
    next: { action: string; at: string | null; why: string };
    workloads: { name: string; replicas: number; backedUpReplicas: number | null; sleptAt: string | null }[];
    saved: { notRunning: { cpu: number; memoryBytes: number }; cpuCoreSeconds: number };
  }[];
}

async function shopWithRequests(prefix: string, wokeAt?: string) {
  const shop = await createNamespace(kube, prefix, wokeAt ? { [annotations.wokeAt]: wokeAt } : undefined);
  const { namespace } = shop;
  await kube.apps.createNamespacedDeployment({ namespace, body: requesting('web', 2, '250m', '64Mi') });
  await kube.apps.createNamespacedDeployment({ namespace, body: requesting('api', 1, '1', '1Gi') });
  return shop;
}

test('an awake namespace: its workloads, its last activity and when it goes to sleep', async (t) => {
  const wokeAt = new Date(Date.now() - 10 * 60_000).toISOString();
  const { namespace } = await shopWithRequests('st-awake', wokeAt);

  const table = await nozzle(['status', namespace]);
  t.is(table.code, 0, table.stderr);
  t.log(table.stdout);
  const [header, row] = table.stdout.trimEnd().split('\n');
  t.regex(header!, /^NAMESPACE +STATE +SINCE +LAST-ACTIVITY +NEXT +WORKLOADS +SAVED +WHY$/);
  t.regex(
    row!,
    new RegExp(
      `^${namespace} +awake +\\d+m +\\S+ \\S+ created \\d+s ago +sleep in \\d+m +api 0/1, web 0/2 +- +no activity for 30m by then`,
    ),
  );

  const json = await nozzle(['status', namespace, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const [ns] = (JSON.parse(json.stdout) as StatusJson).namespaces;
  t.is(ns?.state, 'awake');
  t.deepEqual(ns?.since, { at: wokeAt, how: annotations.wokeAt });
  // The namespace and its workloads were created after that wake: creating them is the newest activity.
  t.regex(ns?.lastActivity?.source ?? '', /created$/);
  t.true(Date.parse(ns?.lastActivity?.at ?? '') > Date.parse(wokeAt));
  t.is(ns?.next.action, 'sleep');
  t.is(ns?.next.at, new Date(Date.parse(ns?.lastActivity?.at ?? '') + 30 * 60_000).toISOString());
  t.deepEqual(
    ns?.workloads.map((w) => [w.name, w.replicas, w.backedUpReplicas]),
    [
      ['api', 1, null],
      ['web', 2, null],
    ],
  );
  t.deepEqual(ns?.saved.notRunning, { cpu: 0, memoryBytes: 0 });
});

test('an asleep namespace: backed-up replicas, since when, and the requests not running', async (t) => {
  const { namespace } = await shopWithRequests('st-asleep');
  const slept = await nozzle(['sleep', namespace]);
  t.is(slept.code, 0, slept.stderr);

  const json = await nozzle(['status', namespace, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const [ns] = (JSON.parse(json.stdout) as StatusJson).namespaces;
  t.is(ns?.state, 'asleep');
  t.is(ns?.next.action, 'wake-on-request');
  t.deepEqual(
    ns?.workloads.map((w) => [w.name, w.replicas, w.backedUpReplicas]),
    [
      ['api', 0, 1],
      ['web', 0, 2],
    ],
  );
  // The sleep time comes from the apiserver's managedFields: the newest of the two sleeps.
  const sleptAts = ns!.workloads.map((w) => w.sleptAt);
  t.true(sleptAts.every((at) => at !== null));
  t.is(ns?.since?.at, sleptAts.sort().at(-1) ?? undefined);
  // 2 x (250m, 64Mi) + 1 x (1, 1Gi) are not running.
  t.deepEqual(ns?.saved.notRunning, { cpu: 1.5, memoryBytes: 2 * 64 * 2 ** 20 + 2 ** 30 });

  const table = await nozzle(['status', namespace, '-o', 'wide']);
  t.is(table.code, 0, table.stderr);
  t.log(table.stdout);
  const row = table.stdout.trimEnd().split('\n')[1]!;
  t.regex(
    row,
    new RegExp(
      `^${namespace} +asleep +\\d+s +\\S+ \\S+ created \\d+s ago +wake on request +api 0 \\(1\\), web 0 \\(2\\) +`,
    ),
  );
  t.regex(row, /1\.5 cpu, 1\.1Gi +asleep until a request arrives or someone wakes it/);
});

test('without a namespace: every opted-in namespace, one row each', async (t) => {
  const a = await shopWithRequests('st-all-a');
  const b = await shopWithRequests('st-all-b');
  const selector = `${a.selector.split('=')[0]} in (true)`;
  // Any selector the worker takes: here the label of `a` only, then both (set-based).
  const one = await nozzle(['status', '--selector', selector, '-o', 'json']);
  t.is(one.code, 0, one.stderr);
  t.deepEqual(
    (JSON.parse(one.stdout) as StatusJson).namespaces.map((n) => n.namespace),
    [a.namespace],
  );
  const all = await nozzle(['status']);
  t.is(all.code, 0, all.stderr);
  const names = all.stdout.split('\n').map((line) => line.split(' ')[0]);
  t.true(names.includes(a.namespace) && names.includes(b.namespace));
});
