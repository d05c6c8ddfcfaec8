/**
 * Bad input, the figures (docs/reliability.md): the fixed matrix of bad
 * requests (test/support/bad-requests.ts) against a real `nozzle activator`
 * process serving two sleeping namespaces on their own ports, asleep and
 * awake; a seeded fuzz run of BENCH_REQUESTS (10,000) generated requests;
 * a seeded fuzz run of BENCH_MESSAGES (10,000) generated messages through a
 * real `nozzle worker` process. The pass/fail properties are the ava tests
 * test/activator/bad-input.test.ts and test/worker/message-fuzz.test.ts.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/reliability-input.js
 *   # BENCH_REQUESTS=10000 BENCH_MESSAGES=10000 (defaults), FUZZ_SEED=20260511 (default)
 */
import { adminKube } from '../test/support/env.js';
import { BAD_REQUESTS } from '../test/support/bad-requests.js';
import { deliveries, runMatrix, runRequestFuzz, type MatrixRow } from '../test/support/bad-input-runs.js';
import { runMessageFuzz } from '../test/support/message-fuzz.js';
import { fuzzSeed } from '../test/support/seeded-random.js';
import { twoNamespaces, type TwoNamespaces } from '../test/support/two-namespaces.js';
import { load, machine } from './support/machine.js';
import { deleteNamespaces } from './support/sleeping.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const seed = fuzzSeed(20_260_511);
const kube = adminKube();

const answer = (row: MatrixRow): string => {
  const r = row.result;
  if (r.status === undefined) return r.timedOut ? 'no answer (timeout)' : 'closed';
  const error = r.activator && /"error":"([a-z_]+)"/.exec(r.body)?.[1];
  return `${r.status}${error ? ` ${error}` : ''} (${r.activator ? 'activator' : 'pod'}, ${r.ms.toFixed(0)} ms)`;
};

async function stopRun(run: TwoNamespaces): Promise<void> {
  await run.activator.stop('SIGTERM');
  run.a.pod.close();
  run.b.pod.close();
  await deleteNamespaces(kube, [run.a.namespace, run.b.namespace, run.system]);
}

async function matrix(): Promise<void> {
  const run = await twoNamespaces(undefined, kube, { NOZZLE_ACTIVATOR_HEADER_TIMEOUT: '3s' });
  try {
    const asleep = await runMatrix(run, 'asleep');
    const awake = await runMatrix(run, 'awake');
    console.log('### The matrix (namespace a; b gets the same, mirrored)\n');
    console.log(
      '| group | request | asleep: answer (who, first byte) | awake: answer | internal names in the answer |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    BAD_REQUESTS.forEach((request, i) => {
      const a = asleep.filter((r) => r.side === run.a)[i]!;
      const w = awake.filter((r) => r.side === run.a)[i]!;
      const leaks = [...asleep, ...awake].filter((r) => r.request === request).flatMap((r) => r.leaks);
      console.log(
        `| ${request.group} | ${request.name} | ${answer(a)} | ${answer(w)} | ${leaks.length === 0 ? 'none' : leaks.join(', ')} |`,
      );
    });
    const d = deliveries(run);
    const rows = [...asleep, ...awake];
    console.log(
      `\n${rows.length} requests (${BAD_REQUESTS.length} × 2 namespaces × asleep/awake): delivered to their own namespace's pod ${d.own}, ` +
        `**to the wrong namespace ${d.wrong}**; answered by the activator ${rows.filter((r) => r.result.activator).length}, ` +
        `with an internal name ${rows.filter((r) => r.leaks.length > 0).length}; activator running after: ${run.activator.child.exitCode === null}.\n`,
    );
  } finally {
    await stopRun(run);
  }
}

async function requestFuzz(): Promise<void> {
  const run = await twoNamespaces(undefined, kube, {
    NOZZLE_ACTIVATOR_HEADER_TIMEOUT: '2s',
    NOZZLE_READINESS_TIMEOUT: '1s',
  });
  try {
    await run.ready(run.b);
    const loadBefore = load();
    const r = await runRequestFuzz(run, { seed, count: REQUESTS, concurrency: 100 });
    const sorted = (m: Map<string | number, number>): string =>
      [...m]
        .sort((x, y) => y[1] - x[1])
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ');
    console.log(`### Generated requests (seed ${seed})\n`);
    console.log(`Load average ${loadBefore} before, ${load()} after.\n`);
    console.log(
      '| requests | took | to the sleeping namespace: the activator answered | closed (not HTTP/1, held then closed) | unclear | internal names | no answer | to the awake one: the pod answered | wrong namespace | activator VmRSS before / max / after | still running |',
    );
    console.log('| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |');
    console.log(
      `| ${r.count} | ${(r.ms / 1000).toFixed(1)} s (${(r.count / (r.ms / 1000)).toFixed(0)}/s) | ${sorted(r.activatorStatuses)} | ${r.closedNotHttp} | ${r.unclear.length} | ${r.leaks.length} | ${r.timedOut} | ${sorted(r.podStatuses)} | ${r.deliveries.wrong} | ${r.rss.before.toFixed(0)} / ${r.rss.max.toFixed(0)} / ${r.rss.after.toFixed(0)} MiB | ${r.alive} |`,
    );
    for (const line of [...r.unclear, ...r.leaks].slice(0, 10)) console.log(`- ${line}`);
    console.log('');
  } finally {
    await stopRun(run);
  }
}

async function messageFuzz(): Promise<void> {
  const loadBefore = load();
  const r = await runMessageFuzz({ seed, count: MESSAGES });
  console.log(`### Generated messages (seed ${seed})\n`);
  console.log(`Load average ${loadBefore} before, ${load()} after.\n`);
  console.log(
    '| messages | published in | all handled in | dead-lettered naming the field | processed | refused by the stream (size) | ended wrong | redelivered | worker VmRSS before / after, heap used before / 3 s after | still running |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  console.log(
    `| ${r.count} | ${(r.publishMs / 1000).toFixed(1)} s | ${(r.totalMs / 1000).toFixed(1)} s (${(r.count / (r.totalMs / 1000)).toFixed(0)}/s) | ${r.deadLettered} | ${r.processed} | ${r.refusedByStream} | ${r.wrong.length} | ${r.redelivered} | ${r.rss.before.toFixed(0)} / ${r.rss.after.toFixed(0)} MiB, ${r.heap.before.toFixed(0)} / ${r.heap.after.toFixed(0)} MiB | ${r.alive} |`,
  );
  for (const line of r.wrong.slice(0, 10)) console.log(`- ${line}`);
  console.log(
    `\nBy mutation: ${[...r.mutations]
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}.\n`,
  );
}

console.log(`Machine: ${machine()}; seed ${seed}.\n`);
await matrix();
await requestFuzz();
await messageFuzz();
