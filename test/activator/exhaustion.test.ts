/**
 * The bounds under exhaustion, against a real `nozzle activator` process
 * (docs/activator.md, "Bounds"): past the hold budget the next request gets
 * a 503 with Retry-After at once and the held ones stay held; slowloris
 * connections are all closed by the header deadline, none kept; past the
 * global wake rate a new wake is refused with 503 and Retry-After and
 * nothing starts. The figures at the default sizes are
 * bench/reliability-exhaustion.ts's.
 */
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { takeOver } from '../support/activator.js';
import { spawnActivator } from '../support/activator-process.js';
import { adminKube, uniqueName } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { apiRequest, attempt, type Attempt } from '../support/held-client.js';

const kube = adminKube();

/** `count` sleeping namespaces, each a Service `web` whose port Lease is in one fresh system namespace. */
async function sleepingPorts(count: number): Promise<{ system: string; ports: number[] }> {
  const system = uniqueName('exh-sys');
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const web = await takeOver(kube, { namespace: uniqueName('exh'), systemNamespace: system, name: 'web' });
    ports.push(web.ports.get('http')!);
  }
  return { system, ports };
}

test('past the hold budget the next request gets 503 with Retry-After at once; those held stay held', async (t) => {
  const { system, ports } = await sleepingPorts(1);
  // 1 MiB: about 85 bare held connections at 12 KiB each.
  const activator = await spawnActivator({ NOZZLE_SYSTEM_NAMESPACE: system, NOZZLE_HOLD_BUDGET: '1MiB' });
  t.teardown(() => activator.stop('SIGKILL'));
  const held: Attempt[] = [];
  t.teardown(() => held.forEach((h) => h.socket.destroy()));
  let refused: Attempt | undefined;
  for (let i = 0; i < 200 && !refused; i++) {
    const a = await attempt(ports[0]!, apiRequest(`/held-${i}`), 150);
    if (a.status === undefined) held.push(a);
    else refused = a;
  }
  t.log(`held ${held.length}, then ${refused?.head.split('\r\n')[0]} in ${refused?.ms.toFixed(0)} ms`);
  t.true(held.length >= 60 && held.length <= 90, `held until the budget: ${held.length}`);
  t.is(refused?.status, 503);
  t.regex(refused?.head ?? '', /^retry-after: \d+/im);
  t.regex(refused?.head ?? '', /^x-nozzle-activator: 1/im);
  t.true((refused?.ms ?? Infinity) < 1000, 'refused at once, not after a wait');
  t.is(await activator.metric('nozzle_activator_refusals_total', { reason: 'hold-budget' }), 1);
  t.is(await activator.metric('nozzle_activator_held_connections'), held.length, 'those held stay held');
  const body = await refused!.closed;
  t.regex(body, /"error":"hold_budget"/);
  t.notRegex(body, new RegExp(system), 'no internal name');
});

test('slowloris: every connection sending its head slowly is closed by the header deadline, none kept', async (t) => {
  const { system, ports } = await sleepingPorts(1);
  const activator = await spawnActivator({
    NOZZLE_SYSTEM_NAMESPACE: system,
    NOZZLE_ACTIVATOR_HEADER_TIMEOUT: '1s',
  });
  t.teardown(() => activator.stop('SIGKILL'));
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => (timers.forEach(clearTimeout), sockets.forEach((s) => s.destroy())));
  const closedAfter: number[] = [];
  const answers: string[] = [];
  const pieces = (i: number): string[] =>
    i % 2 === 0
      ? ['GET / HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, j) => `X-${j}: ${j}\r\n`)] // header lines
      : [...'GET /slowly HTTP/1.1']; // the request line, a byte at a time
  for (let i = 0; i < 100; i++) {
    const opened = performance.now();
    const socket = connect({ port: ports[0]!, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.once('close', () => {
      closedAfter.push(performance.now() - opened);
      answers.push(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 'closed');
    });
    const parts = pieces(i);
    let sent = 0;
    const tick = (): void => {
      if (socket.destroyed || sent >= parts.length) return;
      socket.write(parts[sent++]!);
      timers.push(setTimeout(tick, 200));
    };
    socket.once('connect', tick);
    sockets.push(socket);
  }
  await eventually('every slow connection closed', () => closedAfter.length === 100, {
    timeout: 8000,
  });
  t.true(
    Math.max(...closedAfter) < 1000 + 2000 + 1500,
    `closed by deadline + linger: max ${Math.max(...closedAfter).toFixed(0)} ms`,
  );
  t.is(answers.filter((a) => a === '408').length, 50, 'slow header lines: 408');
  t.is(answers.filter((a) => a === 'closed').length, 50, 'a slow request line: closed');
  t.is(await activator.metric('nozzle_activator_refusals_total', { reason: 'header-timeout' }), 100);
  t.is(await activator.metric('nozzle_activator_held_connections'), 0, 'none held');
});

test('past the global wake rate a new wake gets 503 with Retry-After and starts nothing', async (t) => {
  const { system, ports } = await sleepingPorts(5);
  const activator = await spawnActivator({
    NOZZLE_SYSTEM_NAMESPACE: system,
    NOZZLE_WAKE_RATE: '1',
    NOZZLE_WAKE_BURST: '2',
  });
  t.teardown(() => activator.stop('SIGKILL'));
  const attempts: Attempt[] = [];
  t.teardown(() => attempts.forEach((a) => a.socket.destroy()));
  for (const port of ports) attempts.push(await attempt(port, apiRequest('/'), 150));
  const held = attempts.filter((a) => a.status === undefined).length;
  const refused = attempts.filter((a) => a.status === 503);
  t.true(held >= 2 && held <= 3, `the burst was admitted: ${held}`);
  t.is(refused.length, 5 - held);
  for (const r of refused) {
    t.regex(r.head, /^retry-after: \d+/im);
    t.regex(await r.closed, /"error":"wake_limit"/);
  }
  t.is(await activator.metric('nozzle_activator_refusals_total', { reason: 'wake-rate' }), refused.length);
  await sleep(200);
  t.is(await activator.metric('nozzle_activator_held_connections'), held, 'refused ones are not held');
});
