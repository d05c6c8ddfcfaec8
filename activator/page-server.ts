/**
 * The activator's own HTTP answers on a takeover port: the waiting page for a
 * browser navigation (starting the namespace's wake) and `/_nozzle/status`
 * of the port's namespace only. A node:http Server that never listens: the
 * connection pipeline hands it sniffed connections with their bytes replayed
 * (sniff.ts replayToHttpServer). Every answer has `Connection: close`: the
 * next request opens a new connection, which reaches the app once it runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ACTIVATOR_PREFIX } from '../lib/names.js';
import type { PortTarget } from '../lib/takeover/port-assignment.js';
import { REFRESH_SECONDS } from '../rescaler-web/page.js';
import type { EndpointIndex } from './endpoint-index.js';
import { sendJson, sendWaitingPage } from './responses.js';
import { replayToHttpServer } from './sniff.js';
import { wakeStatus } from './status.js';
import type { Wakes } from './waker.js';

export const STATUS_PATH = `${ACTIVATOR_PREFIX}status`;

export interface PageServerDeps {
  readonly index: Pick<EndpointIndex, 'hasOwnReady'>;
  readonly wakes: Wakes;
  readonly readinessTimeoutMs: number;
}

export class PageServer {
  private readonly server: Server;
  private readonly targets = new WeakMap<Socket, PortTarget>();

  constructor(private readonly deps: PageServerDeps) {
    this.server = createServer((req, res) => this.onRequest(req, res));
  }

  /** Answers the connection's request (`bytes` are what was read of it); resolves when the connection is closed. */
  serve(socket: Socket, bytes: Buffer, target: PortTarget): Promise<void> {
    this.targets.set(socket, target);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    replayToHttpServer(this.server, socket, bytes);
    return closed;
  }

  /** Closes every connection it serves (shutdown past its deadline). */
  close(): void {
    this.server.closeAllConnections();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = this.targets.get(req.socket);
    if (!target) return void res.destroy();
    const { index, wakes, readinessTimeoutMs } = this.deps;
    const { namespace, service } = target;
    const ready = index.hasOwnReady(namespace, service);
    const host = hostName(req.headers.host) || `${service}.${namespace}`;
    const path = new URL(req.url ?? '/', 'http://activator').pathname;
    if (!path.startsWith(ACTIVATOR_PREFIX)) {
      // A browser navigation (connection.ts sends nothing else here).
      const wake = wakes.wake(namespace, { retryFailed: true });
      const status = wakeStatus({ namespace, host, wake, ready, timeoutMs: readinessTimeoutMs });
      return sendWaitingPage(res, status, REFRESH_SECONDS);
    }
    if (path !== STATUS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return sendJson(res, 404, { error: 'not_found', message: `${path} is not an activator path` });
    }
    // A poll starts a wake nobody started (the page was served by another
    // replica, or before a restart) but does not retry a failed one.
    const wake = ready ? wakes.get(namespace) : wakes.wake(namespace, { retryFailed: false });
    sendJson(res, 200, wakeStatus({ namespace, host, wake, ready, timeoutMs: readinessTimeoutMs }));
  }
}

/** The Host header without its port, lower-cased: what the page names (it routes nothing). */
export function hostName(header: string | undefined): string {
  const host = (header ?? '').trim().toLowerCase();
  const port = /:\d*$/.exec(host);
  return port && !host.endsWith(']') ? host.slice(0, port.index) : host;
}
