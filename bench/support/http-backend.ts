/**
 * The backend of the activator benches, in its own process: a Node `http`
 * server on this machine's non-loopback address (the apiserver refuses
 * loopback endpoints) answering every request with `?bytes=N` bytes (default
 * 1024, keep-alive). Prints its port on stdout; with BENCH_ARRIVALS=1 it
 * also prints `arrived <url> <epoch ms>` when each request head arrives (the
 * wake-latency bench's clock, performance.timeOrigin + now(), same machine).
 *
 *   node dist/bench/support/http-backend.js   # started by the benches, not by hand
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { podIp } from '../../test/support/activator.js';

const arrivals = process.env.BENCH_ARRIVALS === '1';
const bodies = new Map<number, Buffer>();
const server = createServer((req, res) => {
  if (arrivals) process.stdout.write(`arrived ${req.url} ${performance.timeOrigin + performance.now()}\n`);
  const size = Math.min(Number(/[?&]bytes=(\d+)/.exec(req.url ?? '')?.[1] ?? 1024), 16 * 1024 * 1024);
  let body = bodies.get(size);
  if (!body) bodies.set(size, (body = Buffer.alloc(size, 'x')));
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.maxConnections = 100_000;
// A wake releases thousands of held connections at once: a deep accept queue (capped by somaxconn).
server.listen({ port: 0, host: podIp(), backlog: 65_535 }, () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
