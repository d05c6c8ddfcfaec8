/**
 * Exhaustion, the figures (docs/reliability.md), each against a real
 * `nozzle activator` process and the real apiserver of scripts/testenv:
 *
 *   budget     held requests to one sleeping Service until the hold budget
 *              (NOZZLE_HOLD_BUDGET, default 64 MiB) refuses: how many were
 *              held, VmRSS per held request, what the next one gets and how
 *              fast; bare GETs, then POSTs with a 60 KiB body each
 *   slowloris  BENCH_SLOW (1,000) connections sending a header line a second
 *              and never finishing, and as many sending the request line a
 *              byte a second: how many are kept, and when they are closed
 *              (NOZZLE_ACTIVATOR_HEADER_TIMEOUT, default 10 s)
 *   storm      one API request to each of BENCH_STORM (1,000) sleeping
 *              namespaces, refused ones retried at once, for at most 60 s:
 *              wakes/s admitted and refused (NOZZLE_WAKE_RATE 20/s, BURST
 *              40), apiserver requests per wake (apiserver_request_total
 *              before and after, less the idle rate), and the time to ready
 *              of BENCH_LEGIT (20) legitimate namespaces woken one a second
 *              during the storm by a client that honours Retry-After
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/reliability-exhaustion.js
 *   # BENCH_ONLY=budget,slowloris,storm (default all)
 */
import { Watch, type V1Deployment } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../lib/kube/client.js';
import { adminKube, adminKubeConfig, uniqueName } from '../test/support/env.js';
import { apiRequest, attempt, type Attempt } from '../test/support/held-client.js';
import { apiserverRequests, requestsBetween } from './support/apiserver-requests.js';
import { load, machine, quantile, rssMiB } from './support/machine.js';
import { startActivator, startBackend, stop, type ActivatorProcess } from './support/processes.js';
import {
  createNamespace,
  deleteNamespaces,
  endpointSlice,
  oneSleepingService,
  pool,
  sleepingService,
  type SleepingService,
} from './support/sleeping.js';
import { until } from './support/wait.js';

const only = new Set((process.env.BENCH_ONLY ?? 'budget,slowloris,storm').split(','));
const SLOW = Number(process.env.BENCH_SLOW ?? 1000);
const IDLE_AFTER_S = Number(process.env.BENCH_IDLE_AFTER_S ?? 0);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const STORM = Number(process.env.BENCH_STORM ?? 1000);
const LEGIT = Number(process.env.BENCH_LEGIT ?? 20);
const kube = adminKube();
const ms = (v: number): string => `${v.toFixed(0)} ms`;
const answerOf = (a: Attempt): string => {
  const error = /"error":"([a-z_]+)"/.exec(a.head) ?? undefined;
  const retry = /^retry-after: (\d+)/im.exec(a.head)?.[1];
  return `${a.status ?? 'closed'}${error ? ` ${error[1]}` : ''}${retry ? `, Retry-After ${retry}` : ''}`;
};

// ------------------------------------------------------------------ budget

async function budget(variant: 'bare GET' | 'POST, 60 KiB body'): Promise<string> {
  const { systemNamespace, namespace, port } = await oneSleepingService(kube, 'rel-budget', 9, true);
  const activator = await startActivator(systemNamespace, {
    NOZZLE_HOLD_LIMIT: '1000000',
    NOZZLE_READINESS_TIMEOUT: '10m',
  });
  const held: Attempt[] = [];
  const request = variant === 'bare GET' ? apiRequest('/held') : apiRequest('/held', 'x'.repeat(60 * 1024));
  try {
    await sleep(1000);
    const before = rssMiB(activator.pid);
    let refused: Attempt | undefined;
    while (!refused) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => attempt(port, request, 300)));
      for (const a of batch) {
        if (a.status === undefined) held.push(a);
        else refused ??= a;
      }
    }
    await until('held settled', async () =>
      (await activator.metric('nozzle_activator_held_connections')) === held.length ? true : undefined,
    );
    await sleep(1000);
    const holding = rssMiB(activator.pid);
    const next: Attempt[] = [];
    for (let i = 0; i < 20; i++) next.push(await attempt(port, request, 2000));
    const used = await activator.metric('nozzle_activator_hold_budget_used_bytes');
    const perHeld = ((holding - before) * 1024) / held.length;
    return `| ${variant} | ${held.length} | ${(used / 2 ** 20).toFixed(1)} MiB | ${before.toFixed(0)} → ${holding.toFixed(0)} MiB | ${perHeld.toFixed(1)} KiB | ${answerOf(next[0]!)} (${next.filter((a) => a.status === 503).length}/20) | ${ms(
      quantile(
        next.map((a) => a.ms),
        0.5,
      ),
    )} / ${ms(Math.max(...next.map((a) => a.ms)))} |`;
  } finally {
    for (const h of held) h.socket.destroy();
    await stop(activator.child);
    await deleteNamespaces(kube, [namespace, systemNamespace]);
  }
}

// --------------------------------------------------------------- slowloris

interface Slow {
  readonly openedAt: number;
  readonly socket: Attempt['socket'];
  closedAt?: number;
  answer?: string;
}

async function slowloris(kind: 'header lines' | 'request line'): Promise<string> {
  const { systemNamespace, namespace, port } = await oneSleepingService(kube, 'rel-slow', 9, true);
  const activator = await startActivator(systemNamespace);
  const pieces =
    kind === 'header lines'
      ? ['GET / HTTP/1.1\r\n', ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: ${i}\r\n`)]
      : [...'GET /a-long-path-sent-slowly HTTP/1.1'];
  const slow: Slow[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const { connect } = await import('node:net');
    for (let i = 0; i < SLOW; i++) {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      const s: Slow = { openedAt: performance.now(), socket };
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('close', () => {
        s.closedAt = performance.now();
        s.answer =
          /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? 'closed, no answer';
      });
      let sent = 0;
      const tick = (): void => {
        if (socket.destroyed || sent >= pieces.length) return;
        socket.write(pieces[sent++]!);
        timers.push(setTimeout(tick, 1000));
      };
      socket.once('connect', tick);
      slow.push(s);
      if (i % 100 === 99) await sleep(10);
    }
    await sleep(5000);
    const openAt5 = slow.filter((s) => s.closedAt === undefined).length;
    await sleep(10_000);
    const openAt15 = slow.filter((s) => s.closedAt === undefined).length;
    const closedAfter = slow
      .filter((s) => s.closedAt !== undefined)
      .map((s) => (s.closedAt! - s.openedAt) / 1000);
    const answers = new Map<string, number>();
    for (const s of slow) answers.set(s.answer ?? 'open', (answers.get(s.answer ?? 'open') ?? 0) + 1);
    const refusals = await activator.metric('nozzle_activator_refusals_total');
    return `| ${kind}, 1 piece/s | ${SLOW} | ${openAt5} | ${openAt15} | ${quantile(closedAfter, 0.5).toFixed(1)} s / ${Math.max(...closedAfter).toFixed(1)} s | ${[...answers].map(([k, n]) => `${k}: ${n}`).join(', ')} | ${refusals} |`;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const s of slow) s.socket.destroy();
    await stop(activator.child);
    await deleteNamespaces(kube, [namespace, systemNamespace]);
  }
}

// ------------------------------------------------------------------- storm

/** `count` ports from `first` up that can be bound on 127.0.0.1 now. */
async function portsFrom(first: number, count: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  const ports: number[] = [];
  for (let port = first; ports.length < count && port < 65_536; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}

/** The EndpointSlice controller's part for the legitimate namespaces: a ready slice once their Deployment is restored. */
async function readyOnRestore(
  kube: Kube,
  legit: ReadonlySet<string>,
  port: number,
): Promise<AbortController> {
  const done = new Set<string>();
  return new Watch(adminKubeConfig()).watch(
    '/apis/apps/v1/deployments',
    { labelSelector: 'bench-legit=true' },
    (_phase, d: V1Deployment) => {
      const ns = d.metadata?.namespace ?? '';
      if (!legit.has(ns) || done.has(ns) || (d.spec?.replicas ?? 0) < 1) return;
      done.add(ns);
      void endpointSlice(kube, ns, 'web', port, true);
    },
    () => undefined,
  );
}

async function storm(): Promise<string[]> {
  const system = uniqueName('rel-storm-sys');
  await createNamespace(kube, system, false);
  // From 20000 up, as NOZZLE_ACTIVATOR_PORT_RANGE's default: outside the ephemeral range, where the
  // storm's own client connections would take some of them (the Lease's listener then cannot bind).
  const ports = await portsFrom(20_000, STORM + LEGIT);
  const backend = await startBackend(); // the legitimate namespaces' pod; the storm's never gets ready
  const made: SleepingService[] = [];
  const setupStarted = performance.now();
  await pool(
    ports.map((port, i) => ({ port, i })),
    32,
    async ({ port, i }) => {
      const namespace = uniqueName(i < STORM ? 'rel-storm' : 'rel-legit');
      await createNamespace(kube, namespace);
      made.push(
        await sleepingService(kube, {
          systemNamespace: system,
          namespace,
          name: 'web',
          port,
          targetPort: i < STORM ? 9 : backend.port,
          deployment: true,
        }),
      );
      if (i >= STORM) {
        await kube.apps.patchNamespacedDeployment({
          namespace,
          name: 'web',
          body: [{ op: 'add', path: '/metadata/labels', value: { 'bench-legit': 'true' } }],
        });
      }
    },
  );
  const setupS = (performance.now() - setupStarted) / 1000;
  const legit = made.filter((s) => s.namespace.startsWith('rel-legit'));
  const storming = made.filter((s) => s.namespace.startsWith('rel-storm'));
  let activator: ActivatorProcess | undefined;
  const held: Attempt[] = [];
  const watch = await readyOnRestore(kube, new Set(legit.map((s) => s.namespace)), backend.port);
  try {
    activator = await startActivator(system, { NOZZLE_READINESS_TIMEOUT: '5m' });
    // The idle rate: the activator's own watches, leader Lease, the bench's watch.
    // BENCH_IDLE_AFTER_S: measured that long after the start (the takeovers
    // made by the set-up settled, their one check each done), over
    // BENCH_IDLE_S: the steady state, a convergence resync included.
    await sleep(IDLE_AFTER_S * 1000);
    const idle0 = await apiserverRequests();
    await sleep(IDLE_S * 1000);
    const idle = requestsBetween(idle0, await apiserverRequests());
    const idlePerS = idle.total / IDLE_S;
    console.log(
      `idle apiserver requests over ${IDLE_S} s, ${IDLE_AFTER_S} s after the activator started: ${idlePerS.toFixed(1)}/s (${[
        ...idle.byVerb,
      ]
        .filter(([, n]) => n > 0)
        .map(([verb, n]) => `${verb} ${(n / IDLE_S).toFixed(1)}/s`)
        .join(', ')})`,
    );

    const loadBefore = load();
    const before = await apiserverRequests();
    const started = performance.now();
    const deadline = started + 60_000;
    let pending = storming.map((s) => s.port);
    let refused = 0;
    const admittedAt: number[] = [];
    const attacker = (async () => {
      while (pending.length > 0 && performance.now() < deadline) {
        const again: number[] = [];
        await pool(pending, 200, async (port) => {
          const sent = performance.now() - started;
          // A refusal is immediate for the activator, but this machine is loaded: wait for it.
          const a = await attempt(port, apiRequest('/storm'), 2000);
          if (a.status === undefined) {
            held.push(a);
            admittedAt.push(sent);
          } else {
            refused++;
            a.socket.destroy();
            again.push(port);
          }
        });
        pending = again;
      }
    })();
    const legitMs: number[] = [];
    const legitRefusals: number[] = [];
    const legitFailed: string[] = [];
    const legitimate = Promise.all(
      legit.map(async (s, i) => {
        await sleep(2000 + i * 1000);
        const first = performance.now();
        let refusals = 0;
        for (;;) {
          const a = await attempt(s.port, apiRequest('/legit'), 60_000);
          if (a.status === 503) {
            refusals++;
            a.socket.destroy();
            await sleep(Number(/^retry-after: (\d+)/im.exec(a.head)?.[1] ?? 5) * 1000);
            continue;
          }
          if (a.status !== undefined && a.status < 500) {
            legitMs.push(performance.now() - first);
            legitRefusals.push(refusals);
          } else legitFailed.push(`${s.namespace}: ${a.status ?? 'no answer'} ${a.head.split('\r\n')[0]}`);
          a.socket.destroy();
          return;
        }
      }),
    );
    await attacker;
    const stormS = (performance.now() - started) / 1000;
    await legitimate;
    const heldAtEnd = await activator.metric('nozzle_activator_held_connections');
    await sleep(20_000); // the admitted wakes finish their restores
    const after = await apiserverRequests();
    const elapsedS = (performance.now() - started) / 1000;
    const spent = requestsBetween(before, after);
    const wakes = admittedAt.length + legitMs.length;
    const net = spent.total - idlePerS * elapsedS - legitMs.length; // less the bench's ready slices
    const netByVerb = [...spent.byVerb].map(
      ([verb, n]) => `${verb} ${((n - ((idle.byVerb.get(verb) ?? 0) / 10) * elapsedS) / wakes).toFixed(1)}`,
    );
    const rate = await activator.metric('nozzle_activator_refusals_total');
    const burst = admittedAt.filter((t) => t < 1000).length;
    const problems = [
      ...legitFailed.slice(0, 5).map((f) => `- legitimate, failed: ${f}`),
      ...activator.problems.slice(0, 10).map((p) => `- activator: ${p.slice(0, 300)}`),
    ];
    return [
      ...problems,
      `Setup: ${STORM} storm + ${LEGIT} legitimate sleeping namespaces (Deployment at 0 with its backup, Service, port Lease, takeover slice, empty controller slice) in ${setupS.toFixed(0)} s. Load average ${loadBefore} before the storm, ${load()} after.\n`,
      '| storm over | admitted by the activator (attempts − its refusals; held at the end) | seen admitted by the client (no answer in 2 s) | in the first second | over the storm | refused (503 wake_limit) | activator refusals_total | apiserver requests, storm + 20 s (less idle) | per wake | per wake by verb (less idle) | legitimate: time to ready p50 / p90 / p99 (n) | legitimate: 503s before admitted p50 (max) |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |',
      `| ${STORM} namespaces, ${stormS.toFixed(1)} s | ${admittedAt.length + refused - rate} (${heldAtEnd}) | ${admittedAt.length} | ${burst} | ${(admittedAt.length / stormS).toFixed(1)}/s | ${refused} (${(refused / stormS).toFixed(0)}/s) | ${rate} | ${net.toFixed(0)} (idle ${idlePerS.toFixed(1)}/s) | ${(net / wakes).toFixed(1)} | ${netByVerb.join(', ')} | ${(quantile(legitMs, 0.5) / 1000).toFixed(1)} s / ${(quantile(legitMs, 0.9) / 1000).toFixed(1)} s / ${(quantile(legitMs, 0.99) / 1000).toFixed(1)} s (${legitMs.length}/${LEGIT}) | ${quantile(legitRefusals, 0.5)} (${Math.max(...legitRefusals)}) |`,
    ];
  } finally {
    watch.abort();
    for (const h of held) h.socket.destroy();
    if (activator) await stop(activator.child);
    await stop(backend.child);
    await deleteNamespaces(kube, [...made.map((s) => s.namespace), system]);
  }
}

console.log(`Machine: ${machine()}; load average ${load()}.\n`);
if (only.has('budget')) {
  console.log('### Hold budget (NOZZLE_HOLD_BUDGET 64 MiB, NOZZLE_HOLD_LIMIT raised out of the way)\n');
  console.log(
    '| held requests | held when refused | budget used | activator VmRSS idle → holding | VmRSS per held | the next 20 get | in (p50 / max) |',
  );
  console.log('| --- | ---: | ---: | --- | ---: | --- | --- |');
  console.log(await budget('bare GET'));
  console.log(await budget('POST, 60 KiB body'));
  console.log('');
}
if (only.has('slowloris')) {
  console.log('### Slowloris (NOZZLE_ACTIVATOR_HEADER_TIMEOUT 10 s)\n');
  console.log(
    '| connections send | connections | open after 5 s | open after 15 s | closed after (p50 / max, from connect) | what they got | refusals_total |',
  );
  console.log('| --- | ---: | ---: | ---: | --- | --- | ---: |');
  console.log(await slowloris('header lines'));
  console.log(await slowloris('request line'));
  console.log('');
}
if (only.has('storm')) {
  console.log('### Wake storm (NOZZLE_WAKE_RATE 20/s, NOZZLE_WAKE_BURST 40, NOZZLE_WAKE_MIN_INTERVAL 5 s)\n');
  for (const line of await storm()) console.log(line);
}
