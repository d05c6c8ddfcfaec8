import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { handleHealth, type ReadinessCheck } from './health.js';

/** A server with only /healthz, /readyz and /metrics, for components without a data path. */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  readiness: ReadinessCheck;
  registry: Registry;
}): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (!(await handleHealth(req, res, options))) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      }
    })();
  });
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  return server;
}
