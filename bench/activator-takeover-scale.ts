/**
 * 1,000 Services under takeover, against the real apiserver of
 * scripts/testenv: BENCH_SERVICES (default 1,000) Services in 10 opted-in
 * namespaces, each with its port Lease, takeover slice (lib/takeover
 * ensureTakeover) and an empty controller slice. Measures the real
 * `nozzle activator` process: from spawn to serving (endpoint index synced
 * and a listener bound for every Lease), every port then checked by a
 * connection, and its VmRSS; then the time to re-point every takeover slice
 * after an activator pod changes IP (lib/takeover repointAll, timed from the
 * bench), there and back, and a pass with nothing to change.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/activator-takeover-scale.js
 *   # BENCH_SERVICES=1000 (default)
 *
 * Baseline in the same run: the same activator process started with no
 * Lease at all (start-up and memory with nothing to serve).
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { repointAll } from '../lib/takeover/takeover.js';
import { podIp } from '../test/support/activator.js';
import { adminKube, uniqueName } from '../test/support/env.js';
import { freePorts } from '../test/support/tcp.js';
import { load, machine, rssMiB } from './support/machine.js';
import { startActivator, stop, type ActivatorProcess } from './support/processes.js';
import {
  activatorPod,
  createNamespace,
  deleteNamespaces,
  pool,
  sleepingService,
} from './support/sleeping.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 1000);
const NAMESPACES = 10;
/** Where the Services' pods would listen: nothing does, none is ready. */
const TARGET_PORT = 8080;

interface Start {
  readonly what: string;
  readonly startMs: number;
  readonly ports: number;
  readonly checkedMs: number;
  readonly accepted: number;
  readonly rss: number;
  readonly load: string;
}

/** Connects to every port once and closes at once (a silent close: no wake); how many accepted. */
async function check(ports: readonly number[]): Promise<number> {
  let accepted = 0;
  await pool(ports, 50, async (port) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    const result = await Promise.race([
      once(socket, 'connect').then(() => true),
      once(socket, 'close').then(() => false),
    ]);
    if (result) accepted++;
    socket.destroy();
  });
  return accepted;
}

async function measureStart(
  what: string,
  systemNamespace: string,
  ports: readonly number[],
): Promise<[Start, ActivatorProcess]> {
  const spawned = performance.now();
  const activator = await startActivator(systemNamespace);
  const accepted = await check(ports);
  const checkedMs = performance.now() - spawned;
  await sleep(1000);
  return [
    {
      what,
      startMs: activator.startMs,
      ports: activator.ports,
      checkedMs,
      accepted,
      rss: rssMiB(activator.pid),
      load: load(),
    },
    activator,
  ];
}

async function main(): Promise<void> {
  const kube = adminKube();
  const systemNamespace = uniqueName('bench-sys');
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `${uniqueName('bench-scale')}-${i}`);
  const loadStart = load();
  await createNamespace(kube, systemNamespace, false);
  for (const namespace of namespaces) await createNamespace(kube, namespace);
  const starts: Start[] = [];
  const repoints: { what: string; changed: number; ms: number; load: string }[] = [];
  let activator: ActivatorProcess | undefined;
  const figures = { createMs: 0, rssAfterRepoint: 0 };
  try {
    const [empty, first] = await measureStart('no Lease (baseline)', systemNamespace, []);
    starts.push(empty);
    await stop(first.child);

    const ports = await freePorts(SERVICES);
    const creating = performance.now();
    await pool(
      ports.map((port, i) => ({ port, i })),
      16,
      async ({ port, i }) => {
        await sleepingService(kube, {
          systemNamespace,
          namespace: namespaces[i % NAMESPACES]!,
          name: `svc-${i}`,
          port,
          targetPort: TARGET_PORT,
        });
      },
    );
    figures.createMs = performance.now() - creating;
    process.stderr.write(
      `${SERVICES} sleeping Services written in ${(figures.createMs / 1000).toFixed(1)} s\n`,
    );

    const [full, running] = await measureStart(`${SERVICES} Services`, systemNamespace, ports);
    starts.push(full);
    activator = running;

    const moved = activatorPod(systemNamespace, '10.244.1.7', 1);
    const back = activatorPod(systemNamespace, podIp(), 0);
    for (const [what, pod] of [
      ['activator pod IP changes', moved],
      ['and changes back', back],
      ['nothing to change', back],
    ] as const) {
      const started = performance.now();
      const changed = await repointAll(kube, [pod]);
      repoints.push({ what, changed, ms: performance.now() - started, load: load() });
      process.stderr.write(`${JSON.stringify(repoints.at(-1))}\n`);
    }
    await sleep(1000);
    figures.rssAfterRepoint = rssMiB(activator.pid);
  } finally {
    await stop(activator?.child);
    await deleteNamespaces(kube, [...namespaces, systemNamespace]);
  }
  console.log(
    `Machine: ${machine()}; ${SERVICES} Services in ${NAMESPACES} namespaces (written in ${(figures.createMs / 1000).toFixed(1)} s, 16 at a time); ` +
      `load average ${loadStart} before, ${load()} after.\n`,
  );
  console.log(
    '| activator started with | serving after | ports listening | every port accepted after | accepted | VmRSS | load |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of starts) {
    console.log(
      `| ${s.what} | ${(s.startMs / 1000).toFixed(2)} s | ${s.ports} | ${(s.checkedMs / 1000).toFixed(2)} s | ${s.accepted} | ${s.rss.toFixed(0)} MiB | ${s.load} |`,
    );
  }
  console.log('\n| repointAll (lib/takeover) | slices changed | time | load |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of repoints)
    console.log(`| ${r.what} | ${r.changed} | ${(r.ms / 1000).toFixed(2)} s | ${r.load} |`);
  console.log(
    `\nActivator VmRSS after the re-points (it watched ${2 * SERVICES} slice updates): ${figures.rssAfterRepoint.toFixed(0)} MiB`,
  );
  if (activator?.problems.length)
    console.log(`\nActivator warnings:\n${activator.problems.slice(0, 20).join('\n')}`);
}

await main();
