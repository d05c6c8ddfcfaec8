/**
 * One TCP listener per takeover port, reconciled from the wanted map
 * `port -> target`: new ports are opened, removed ones stop accepting and
 * drain (live connections finish on their own), changed targets apply to the
 * next connection without closing anything. A port that cannot be bound
 * (EADDRINUSE, EACCES) is reported and tried again by the next reconcile;
 * the other ports serve regardless.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';

export interface PortListenersOptions<T> {
  /** Listen address (default `0.0.0.0`). */
  readonly host?: string;
  /** Each accepted connection with the target of its port at the time it was accepted. */
  readonly onConnection: (socket: Socket, target: T, port: number) => void;
  /** Failures after a port was open: accept errors, or `onConnection` throwing (its socket is destroyed). */
  readonly onError?: (port: number, err: unknown) => void;
}

export interface BindFailure {
  readonly port: number;
  /** `EADDRINUSE`, `EACCES`, ... */
  readonly code: string | undefined;
  readonly error: Error;
}

export interface ReconcileReport {
  readonly opened: number[];
  /** Stopped accepting; their connections drain. */
  readonly closed: number[];
  /** Kept open with a target that is not deeply equal to the one before. */
  readonly retargeted: number[];
  readonly failed: BindFailure[];
}

interface Listener<T> {
  readonly port: number;
  readonly server: Server;
  target: T;
  readonly sockets: Set<Socket>;
}

export class PortListeners<T> {
  private readonly open = new Map<number, Listener<T>>();
  /** Removed listeners, each with a promise of its server closed and its last connection ended. */
  private readonly draining = new Map<Listener<T>, Promise<void>>();
  /** Reconciles run one after another, so that two never bind the same port. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PortListenersOptions<T>) {}

  /** Resolves once every new port listens or has failed; never rejects for a port. */
  reconcile(desired: ReadonlyMap<number, T>): Promise<ReconcileReport> {
    const run = this.queue.then(() => this.apply(desired));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The ports listening now. */
  ports(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  target(port: number): T | undefined {
    return this.open.get(port)?.target;
  }

  /** Connections accepted on ports that were removed and are still open. */
  get drainingConnections(): number {
    let n = 0;
    for (const l of this.draining.keys()) n += l.sockets.size;
    return n;
  }

  /**
   * Stops accepting on every port and waits for every connection to end;
   * past `deadlineMs` the ones left are destroyed.
   */
  async close(deadlineMs = Infinity): Promise<void> {
    await this.reconcile(new Map());
    const drained = Promise.all(this.draining.values());
    if (deadlineMs === Infinity) return void (await drained);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([drained, late]);
    clearTimeout(timer);
    for (const l of this.draining.keys()) for (const socket of l.sockets) socket.destroy();
    await drained;
  }

  private async apply(desired: ReadonlyMap<number, T>): Promise<ReconcileReport> {
    const closed: number[] = [];
    const retargeted: number[] = [];
    const toOpen: [number, T][] = [];
    for (const [port, listener] of this.open) {
      if (desired.has(port)) continue;
      this.drain(listener);
      closed.push(port);
    }
    for (const [port, target] of desired) {
      const listener = this.open.get(port);
      if (!listener) {
        toOpen.push([port, target]);
        continue;
      }
      if (!isDeepStrictEqual(listener.target, target)) retargeted.push(port);
      listener.target = target;
    }
    const outcomes = await Promise.all(toOpen.map(([port, target]) => this.listen(port, target)));
    return {
      opened: toOpen.map(([port]) => port).filter((port) => this.open.has(port)),
      closed,
      retargeted,
      failed: outcomes.filter((o) => o !== undefined),
    };
  }

  private drain(listener: Listener<T>): void {
    this.open.delete(listener.port);
    this.draining.set(
      listener,
      new Promise((resolve) =>
        listener.server.close(() => {
          this.draining.delete(listener);
          resolve();
        }),
      ),
    );
  }

  private listen(port: number, target: T): Promise<BindFailure | undefined> {
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const listener: Listener<T> = { port, server, target, sockets: new Set() };
    server.on('connection', (socket: Socket) => {
      listener.sockets.add(socket);
      socket.once('close', () => listener.sockets.delete(socket));
      try {
        this.options.onConnection(socket, listener.target, port);
      } catch (err) {
        socket.destroy();
        this.options.onError?.(port, err);
      }
    });
    return new Promise((resolve) => {
      const onBindError = (error: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        resolve({ port, code: error.code, error });
      };
      const onListening = (): void => {
        server.off('error', onBindError);
        server.on('error', (err) => this.options.onError?.(port, err));
        this.open.set(port, listener);
        resolve(undefined);
      };
      server.once('error', onBindError);
      server.once('listening', onListening);
      try {
        server.listen({ port, host: this.options.host ?? '0.0.0.0' });
      } catch (err) {
        onBindError(err as NodeJS.ErrnoException); // a port out of range is thrown, not emitted
      }
    });
  }
}
