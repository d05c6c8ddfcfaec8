/**
 * Connecting to a ready pod: round robin over a target's ready endpoints
 * (each target keeps its own turn), each tried at most once per connection
 * and within the connect timeout; the first that accepts is the upstream.
 */
import { connect, type Socket } from 'node:net';
import type { ReadyEndpoint } from './ready-endpoints.js';

export class Dialer {
  private readonly turns = new Map<string, number>();

  constructor(private readonly timeoutMs: number) {}

  /** An open connection to one of `endpoints`, or undefined when none accepted. */
  async connect(target: string, endpoints: readonly ReadyEndpoint[]): Promise<Socket | undefined> {
    const turn = this.turns.get(target) ?? 0;
    this.turns.set(target, (turn + 1) % Math.max(endpoints.length, 1));
    for (let i = 0; i < endpoints.length; i++) {
      const socket = await this.open(endpoints[(turn + i) % endpoints.length]!);
      if (socket) return socket;
    }
    return undefined;
  }

  private open(endpoint: ReadyEndpoint): Promise<Socket | undefined> {
    return new Promise((resolve) => {
      const socket = connect({ host: endpoint.ip, port: endpoint.port, noDelay: true, allowHalfOpen: true });
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect).off('error', onError);
        if (!ok) socket.destroy();
        resolve(ok ? socket : undefined);
      };
      const onConnect = (): void => done(true);
      const onError = (): void => done(false);
      const timer = setTimeout(() => done(false), this.timeoutMs);
      socket.once('connect', onConnect).once('error', onError);
    });
  }
}
