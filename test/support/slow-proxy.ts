/**
 * A TCP proxy in front of the apiserver that can hold every request for a
 * while: TLS passes through untouched, so clients see the real apiserver,
 * only slower. For tests that need an operation to be in flight for seconds
 * without stopping the shared apiserver for everyone.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class SlowProxy {
  /** Milliseconds each chunk from client to server is held; 0 passes at once. */
  delay = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(target: URL) {
    this.#server = createServer((client) => {
      const upstream = connect(Number(target.port || 443), target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (this.delay === 0) upstream.write(chunk);
        else {
          client.pause();
          setTimeout(() => {
            upstream.write(chunk);
            client.resume();
          }, this.delay);
        }
      });
      client.on('end', () => upstream.end());
      upstream.pipe(client);
    });
  }

  static async start(target: string): Promise<SlowProxy> {
    const proxy = new SlowProxy(new URL(target));
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    return proxy;
  }

  /** https://127.0.0.1:<port>: use in place of the apiserver URL (its certificate is for 127.0.0.1 too). */
  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
    await once(this.#server, 'close').catch(() => {});
  }
}
