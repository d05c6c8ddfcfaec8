/**
 * 10,000 held connections: BENCH_CONNECTIONS (default 10,000) HTTP requests
 * opened to a sleeping Service's activator port and held by the real
 * `nozzle activator` process, then the backend is made Ready (a
 * controller-style EndpointSlice written to the real apiserver of
 * scripts/testenv). Counts the requests answered 200 with the backend's body
 * (none may be lost) and the activator's resident memory (VmRSS from
 * /proc/<pid>/status) before, while holding and after.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/activator-held.js
 *   # BENCH_CONNECTIONS=10000 (default)
 *
 * For this run NOZZLE_HOLD_LIMIT is raised to BENCH_CONNECTIONS (its default,
 * 1,000 per namespace, would answer the rest 503) and NOZZLE_HOLD_BUDGET to
 * 1 GiB (its default, 64 MiB for every namespace together, holds about 5,000), and the activator and the
 * backend run with `ulimit -n` at the hard limit: on release the activator
 * holds each client connection plus its upstream one. The baseline is the
 * same process before it holds anything.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminKube } from '../test/support/env.js';
import { load, machine, openFileLimit, rssMiB } from './support/machine.js';
import { startActivator, startBackend, stop } from './support/processes.js';
import { deleteNamespaces, endpointSlice, oneSleepingService } from './support/sleeping.js';
import { until, within } from './support/wait.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const BATCH = 500;

interface Held {
  readonly socket: Socket;
  /** Resolves with the whole answer once the activator or the pod closes the connection. */
  readonly answer: Promise<string>;
}

async function hold(port: number, i: number): Promise<Held> {
  const socket = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const answer = once(socket, 'close').then(() => Buffer.concat(chunks).toString('latin1'));
  await once(socket, 'connect');
  socket.write(`GET /held-${i} HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n`);
  return { socket, answer };
}

async function main(): Promise<void> {
  const kube = adminKube();
  const loadStart = load();
  const backend = await startBackend();
  const { systemNamespace, namespace, port } = await oneSleepingService(
    kube,
    'bench-held',
    backend.port,
    true,
  );
  const activator = await startActivator(systemNamespace, {
    NOZZLE_HOLD_LIMIT: String(CONNECTIONS),
    NOZZLE_HOLD_BUDGET: '1GiB',
    NOZZLE_READINESS_TIMEOUT: '10m',
  });
  const held: Held[] = [];
  const rss = { before: 0, holding: 0, after: 0 };
  const took = { openMs: 0, releaseMs: 0 };
  let ok = 0;
  const failures = new Map<string, number>();
  try {
    await sleep(1000);
    rss.before = rssMiB(activator.pid);
    const opening = performance.now();
    for (let i = 0; i < CONNECTIONS; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, CONNECTIONS - i) }, (_, j) => hold(port, i + j));
      held.push(...(await Promise.all(batch)));
    }
    await until(
      `${CONNECTIONS} held`,
      async () =>
        (await activator.metric('nozzle_activator_held_connections')) === CONNECTIONS ? true : undefined,
      120_000,
      50,
    );
    took.openMs = performance.now() - opening;
    await sleep(1000);
    rss.holding = rssMiB(activator.pid);
    const released = performance.now();
    await endpointSlice(kube, namespace, 'web', backend.port, true);
    const answers = await within(
      'every held request answered',
      Promise.all(held.map((h) => h.answer)),
      180_000,
    );
    took.releaseMs = performance.now() - released;
    for (const a of answers) {
      if (a.startsWith('HTTP/1.1 200') && a.endsWith('x'.repeat(1024))) ok++;
      else {
        const status = a.slice(0, 12) || 'closed without an answer';
        failures.set(status, (failures.get(status) ?? 0) + 1);
      }
    }
    await sleep(1000);
    rss.after = rssMiB(activator.pid);
  } finally {
    for (const h of held) h.socket.destroy();
    await stop(activator.child);
    await stop(backend.child);
    await deleteNamespaces(kube, [namespace, systemNamespace]);
  }
  console.log(
    `Machine: ${machine()}; open files (hard limit) ${openFileLimit()}; NOZZLE_HOLD_LIMIT=${CONNECTIONS}, NOZZLE_HOLD_BUDGET=1GiB; ` +
      `load average ${loadStart} before, ${load()} after.\n`,
  );
  console.log('| held connections | all held after | answered 200 | lost | all answered after |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| ${CONNECTIONS} | ${(took.openMs / 1000).toFixed(1)} s | ${ok} | ${CONNECTIONS - ok}${failures.size ? ` (${[...failures].map(([s, n]) => `${n} × ${s}`).join(', ')})` : ''} | ${(took.releaseMs / 1000).toFixed(1)} s |`,
  );
  console.log('\n| activator VmRSS | before (idle) | holding | after (all answered) |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| MiB | ${rss.before.toFixed(0)} | ${rss.holding.toFixed(0)} | ${rss.after.toFixed(0)} |`);
  if (activator.problems.length > 0)
    console.log(`\nActivator warnings:\n${activator.problems.slice(0, 20).join('\n')}`);
}

await main();
