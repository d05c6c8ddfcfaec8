import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => { ready: true } | { ready: false; reason: string };

/**
 * Answers /healthz, /readyz and /metrics; returns false for any other path so
 * the caller can go on. The activator mounts it in front of its data path;
 * the worker runs it alone (see health-server.ts).
 */
export function handleHealth(
  req: IncomingMessage,
  res: ServerResponse,
  options: { readiness: ReadinessCheck; registry: Registry },
): boolean | Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/healthz':
      reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return true;
    case '/readyz': {
      const check = options.readiness();
      if (check.ready) reply(res, 200, 'text/plain; charset=utf-8', 'ready\n');
      else reply(res, 503, 'text/plain; charset=utf-8', `not ready: ${check.reason}\n`);
      return true;
    }
    case '/metrics':
      return options.registry.metrics().then(
        (text) => {
          reply(res, 200, options.registry.contentType, text);
          return true;
        },
        (err: unknown) => {
          reply(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${String(err)}\n`);
          return true;
        },
      );
    default:
      return false;
  }
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
