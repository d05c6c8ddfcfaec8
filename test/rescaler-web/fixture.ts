/**
 * A stand-in for the activator, for testing the waiting page by itself: a
 * node:http server on 127.0.0.1 that answers `/_nozzle/status` with whatever
 * status the test sets, serves the rendered waiting page for every other URL
 * while the status is not `ready`, and the "app" once it is, like the
 * activator does after a wake.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTENT_SECURITY_POLICY, REFRESH_SECONDS, renderWaitingPage } from '../../rescaler-web/page.js';
import type { WakeStatus } from '../../rescaler-web/status.js';
import { ACTIVATOR_HEADER } from '../../activator/responses.js';

export const APP_TITLE = 'Shop';
export const APP_HEADING = 'Welcome to the shop';

export interface Fixture {
  readonly origin: string;
  status: WakeStatus;
  /** While set, `/_nozzle/status` answers 500 (the activator unreachable or failing). */
  statusFails: boolean;
  /**
   * While set, the app itself serves every path, `/_nozzle/status` included
   * (a 404 without the activator's header): the takeover is gone.
   */
  appServes: boolean;
  /** Times the waiting page was served, the status asked for, and the app served. */
  readonly counts: { page: number; status: number; app: number };
  /** When each status request arrived (ms since the epoch). */
  readonly statusTimes: number[];
  close(): Promise<void>;
}

export const shopStatus: WakeStatus = {
  namespace: 'shop-preview',
  host: 'shop.preview.example.com',
  phase: 'waking',
  startedAt: '2025-01-01T12:00:00Z',
  elapsedMs: 14_000,
  timeoutMs: 120_000,
  workloads: [
    { kind: 'Deployment', name: 'web', ready: 2, desired: 3 },
    { kind: 'Deployment', name: 'api', ready: 1, desired: 1 },
    { kind: 'StatefulSet', name: 'postgres', ready: 0, desired: 1 },
  ],
};

export async function startFixture(initial: WakeStatus): Promise<Fixture> {
  const fixture: Omit<Fixture, 'origin' | 'close'> = {
    status: initial,
    statusFails: false,
    appServes: false,
    counts: { page: 0, status: 0, app: 0 },
    statusTimes: [],
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (fixture.appServes) {
      fixture.counts.app += 1;
      if (path !== '/') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>${APP_TITLE}</title><h1>${APP_HEADING}</h1>`);
      return;
    }
    if (path === '/_nozzle/status') {
      fixture.counts.status += 1;
      fixture.statusTimes.push(Date.now());
      const body = fixture.statusFails ? '{"error":"unavailable"}' : JSON.stringify(fixture.status);
      res.writeHead(fixture.statusFails ? 500 : 200, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        [ACTIVATOR_HEADER]: '1',
      });
      res.end(body);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    if (fixture.status.phase === 'ready') {
      fixture.counts.app += 1;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>${APP_TITLE}</title><h1>${APP_HEADING}</h1><p>path ${path}</p>`);
      return;
    }
    fixture.counts.page += 1;
    res.writeHead(503, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'retry-after': String(REFRESH_SECONDS),
      'content-security-policy': CONTENT_SECURITY_POLICY,
    });
    res.end(renderWaitingPage(fixture.status));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fixture, {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}
