/**
 * Bad input against a real `nozzle activator` process over raw sockets, two
 * namespaces side by side on their own ports (test/support/two-namespaces.ts):
 * framing, paths, hosts, upgrades and spoofed headers (the fixed matrix,
 * test/support/bad-requests.ts) and a seeded fuzz run. What must hold:
 * requests delivered to the wrong namespace: 0; every answer of the
 * activator's own is a clear status naming nothing internal; the process
 * stays up. The figures (10,000 generated requests, timings) are
 * bench/reliability-input.ts's.
 */
import test from 'ava';
import { adminKube } from '../support/env.js';
import { BAD_REQUESTS } from '../support/bad-requests.js';
import { CLEAR_STATUSES, deliveries, runMatrix, runRequestFuzz } from '../support/bad-input-runs.js';
import { fuzzSeed } from '../support/seeded-random.js';
import { twoNamespaces } from '../support/two-namespaces.js';

const kube = adminKube();

test('the matrix: nothing reaches the other namespace, refusals are clear and name nothing internal', async (t) => {
  const run = await twoNamespaces(t, kube, { NOZZLE_ACTIVATOR_HEADER_TIMEOUT: '3s' });
  const asleep = await runMatrix(run, 'asleep');
  for (const row of asleep) {
    const what = `${row.side.label}: ${row.request.name}: ${row.result.head.split('\r\n')[0] || 'no answer'}`;
    t.false(row.result.timedOut, `${what}: answered or closed`);
    if (row.request.expect.by === 'activator') {
      t.true(row.result.activator, `${what}: answered by the activator`);
      t.is(row.result.status, row.request.expect.status, what);
    } else {
      t.false(row.result.activator, `${what}: held, then spliced to the pod`);
    }
    if (row.result.activator) t.true(CLEAR_STATUSES.has(row.result.status ?? 0), `${what}: a clear status`);
    if (row.result.activator && (row.result.status ?? 0) >= 400 && !/text\/html/.test(row.result.head)) {
      const body = JSON.parse(row.result.body) as { error?: string; message?: string };
      t.truthy(body.error && body.message, `${what}: says why (${row.result.body})`);
    }
    t.deepEqual(row.leaks, [], `${what}: no internal name`);
  }
  const awake = await runMatrix(run, 'awake');
  for (const row of awake) {
    t.false(row.result.activator, `awake, ${row.side.label}: ${row.request.name}: spliced at accept`);
  }
  for (const side of [run.a, run.b]) {
    const marks = side.pod.marks();
    t.deepEqual(
      [...marks.keys()],
      [side.label],
      `${side.label}'s pod received only its own namespace's requests`,
    );
    const expected = BAD_REQUESTS.flatMap((r, i) => (r.expect.by === 'pod' ? [i] : [])).concat(
      BAD_REQUESTS.map((_, i) => i + 1000),
    );
    t.deepEqual(
      [...(marks.get(side.label) ?? [])].sort((x, y) => x - y),
      expected,
      `${side.label}: every held request was delivered (asleep), every request once awake, none the activator answered`,
    );
  }
  t.is(deliveries(run).wrong, 0, 'requests delivered to the wrong namespace');
  t.is(run.activator.child.exitCode, null, 'the activator is still running');
});

test('a seeded fuzz run: no crash, every HTTP refusal clear, nothing internal, nothing to the wrong namespace', async (t) => {
  const run = await twoNamespaces(t, kube, {
    NOZZLE_ACTIVATOR_HEADER_TIMEOUT: '2s',
    NOZZLE_READINESS_TIMEOUT: '1s',
  });
  await run.ready(run.b);
  const seed = fuzzSeed(20_260_511);
  const count = Number(process.env.FUZZ_REQUESTS ?? 1000);
  t.log(`seed ${seed} (FUZZ_SEED=${seed} replays it), ${count} requests`);
  const result = await runRequestFuzz(run, { seed, count, concurrency: 100 });
  t.log(
    `${(result.ms / 1000).toFixed(1)} s; activator answers ${JSON.stringify([...result.activatorStatuses])}, ` +
      `pod ${JSON.stringify([...result.podStatuses])}, closed (not HTTP/1) ${result.closedNotHttp}; RSS ${JSON.stringify(result.rss)}`,
  );
  t.true(result.alive, 'the activator is still running');
  t.deepEqual(result.unclear, [], 'every HTTP/1 request the activator answered itself got a clear status');
  t.deepEqual(result.leaks, [], 'no answer names anything internal');
  t.is(result.timedOut, 0, 'every request was answered or closed');
  t.is(result.deliveries.wrong, 0, 'requests delivered to the wrong namespace');
  t.true(result.deliveries.own > 0, 'the awake namespace received its own requests');
  t.true(
    result.rss.max < 400,
    `the activator's memory stayed bounded (max ${result.rss.max.toFixed(0)} MiB)`,
  );
});
