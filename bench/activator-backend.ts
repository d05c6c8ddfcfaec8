/**
 * The backend of bench/activator-proxy.ts, in its own process: answers every
 * request with `?bytes=N` bytes (default 1024, keep-alive) and drains request
 * bodies. Prints its port on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const bodies = new Map<number, Buffer>();
const server = createServer((req, res) => {
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
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
