/**
 * Cost of the activator's connection-level data path: a TCP echo server
 * reached directly and through a proxy that sniffs each connection and
 * splices it (activator/sniff.ts, activator/splice.ts), in the same run on
 * loopback. Echo server and proxy are each their own process; the load runs
 * in this one.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/bench/tcp-splice.js
 *   # BENCH_DURATION_S=10 (default) per round-trip run, BENCH_BULK_MIB=100 (default)
 *
 * Round trips: each connection writes 1 KiB and waits for its echo, again and
 * again, for the duration. Bulk: one connection writes BENCH_BULK_MIB MiB and
 * reads the echo back at the same time (so that much goes each way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sniff } from '../activator/sniff.js';
import { splice } from '../activator/splice.js';
import { load, machine } from './support/machine.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const BULK_MIB = Number(process.env.BENCH_BULK_MIB ?? 100);
const CONNECTIONS = [1, 50];
const MESSAGE = Buffer.alloc(1024, 'x'); // not a protocol the sniff knows: decided at the first byte

/** Child roles: `echo`, or `splice <upstream port>`. Each prints its port on one line. */
async function serve(role: string, upstreamPort: number): Promise<void> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => undefined);
    if (role === 'echo') return void socket.pipe(socket);
    void sniff(socket).then(({ bytes }) => {
      const upstream = connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
      return splice(socket, upstream, { head: bytes });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  console.log((server.address() as AddressInfo).port);
}

async function start(...args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface(child.stdout), 'line')) as [string];
  return { port: Number(line), child };
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

interface RoundTrips {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** One connection's loop: write a message, wait for all of it back, until `until`. */
function loop(socket: Socket, until: number, latencies: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    let sent = 0;
    const send = (): void => {
      if (performance.now() >= until) {
        socket.removeListener('data', onData);
        return resolve();
      }
      got = 0;
      sent = performance.now();
      socket.write(MESSAGE);
    };
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      if (got < MESSAGE.length) return;
      latencies.push(performance.now() - sent);
      send();
    };
    socket.on('data', onData);
    socket.once('error', reject);
    send();
  });
}

async function roundTrips(port: number, connections: number): Promise<RoundTrips> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(port)));
  const latencies: number[] = [];
  const until = performance.now() + DURATION_S * 1000;
  await Promise.all(sockets.map((s) => loop(s, until, latencies)));
  for (const s of sockets) s.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.floor(p * (latencies.length - 1))] ?? NaN;
  return { perSecond: latencies.length / DURATION_S, p50: q(0.5), p99: q(0.99) };
}

/** MiB/s each way for BULK_MIB MiB written and echoed back on one connection. */
async function bulk(port: number): Promise<number> {
  const socket = await open(port);
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const total = BULK_MIB * 1024 * 1024;
  const started = performance.now();
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  const ended = once(socket, 'end');
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  socket.end();
  await ended;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  if (received !== total) throw new Error(`bulk: ${received} of ${total} bytes came back`);
  return BULK_MIB / seconds;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function main(): Promise<void> {
  const loadBefore = load();
  const echo = await start('echo');
  const proxy = await start('splice', String(echo.port));
  const rows: string[] = [];
  const bulkRows: string[] = [];
  try {
    const targets = [
      ['direct', echo.port],
      ['splice', proxy.port],
    ] as const;
    for (const connections of CONNECTIONS) {
      for (const [target, port] of targets) {
        const r = await roundTrips(port, connections);
        process.stderr.write(`${target} ${connections}: ${JSON.stringify(r)}\n`);
        rows.push(
          `| ${target} | ${connections} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} |`,
        );
      }
    }
    for (const [target, port] of targets) {
      const mibPerSecond = await bulk(port);
      process.stderr.write(`${target} bulk: ${mibPerSecond.toFixed(0)} MiB/s\n`);
      bulkRows.push(`| ${target} | ${BULK_MIB} MiB | ${mibPerSecond.toFixed(0)} |`);
    }
  } finally {
    await stop(proxy.child);
    await stop(echo.child);
  }
  console.log(
    `Machine: ${machine()}; ${DURATION_S} s per round-trip run, loopback; ` +
      `load average ${loadBefore} before, ${load()} after.\n`,
  );
  console.log('| path | connections | round trips/s (1 KiB) | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  console.log('\n| path | bulk echo | MiB/s each way |');
  console.log('| --- | ---: | ---: |');
  for (const row of bulkRows) console.log(row);
}

const [role, upstream] = process.argv.slice(2);
if (role) await serve(role, Number(upstream));
else await main();
