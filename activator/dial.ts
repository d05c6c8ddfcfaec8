/**
 * Connecting to a ready pod: round robin over a target's ready endpoints
 * (each target keeps its own turn), each tried at most once per connection
 * and within the connect timeout; the first that accepts is the upstream.
 *
 * Out of file descriptors (EMFILE, ENFILE) is this process's limit, not the
 * pod's: thousands of held connections released at once each open their
 * upstream in the same moment. Such a connect is tried again after a short
 * pause, within the same timeout, instead of failing a client the pod would
 * have served.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadyEndpoint } from './ready-endpoints.js';

const OUT_OF_FILES = new Set(['EMFILE', 'ENFILE']);
const FILES_PAUSE_MS = 20;

export type Connect = (options: NetConnectOpts) => Socket;

export class Dialer {
  private readonly turns = new Map<string, number>();

  constructor(
    private readonly timeoutMs: number,
    private readonly connectFn: Connect = connect,
  ) {}

  /** An open connection to one of `endpoints`, or undefined when none accepted. */
  async connect(target: string, endpoints: readonly ReadyEndpoint[]): Promise<Socket | undefined> {
    const turn = this.turns.get(target) ?? 0;
    this.turns.set(target, (turn + 1) % Math.max(endpoints.length, 1));
    const deadline = performance.now() + this.timeoutMs;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[(turn + i) % endpoints.length]!;
      let opened = await this.open(endpoint, deadline);
      while (opened === 'out-of-files' && performance.now() + FILES_PAUSE_MS < deadline) {
        await sleep(FILES_PAUSE_MS);
        opened = await this.open(endpoint, deadline);
      }
      if (opened instanceof Object) return opened;
    }
    return undefined;
  }

  private open(endpoint: ReadyEndpoint, deadline: number): Promise<Socket | 'refused' | 'out-of-files'> {
    return new Promise((resolve) => {
      const socket = this.connectFn({
        host: endpoint.ip,
        port: endpoint.port,
        noDelay: true,
        allowHalfOpen: true,
      });
      const done = (result: Socket | 'refused' | 'out-of-files'): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect).off('error', onError);
        if (result !== socket) socket.destroy();
        resolve(result);
      };
      const onConnect = (): void => done(socket);
      const onError = (err: NodeJS.ErrnoException): void =>
        done(OUT_OF_FILES.has(err.code ?? '') ? 'out-of-files' : 'refused');
      const timer = setTimeout(() => done('refused'), Math.max(0, deadline - performance.now()));
      socket.once('connect', onConnect).once('error', onError);
    });
  }
}
