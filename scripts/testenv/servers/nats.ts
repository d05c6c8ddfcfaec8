import { join } from 'node:path';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import { probe } from './http.js';

export interface NatsServer {
  readonly url: string;
  /** The monitoring endpoint KEDA's nats-jetstream scaler reads (/jsz). */
  readonly monitorUrl: string;
  readonly process: ManagedProcess;
}

export interface NatsOptions {
  /**
   * A config file (`-c`): users, TLS, ... Address and ports are still set
   * here (flags win over the file); its own `jetstream { store_dir }` is used.
   */
  readonly config?: string;
  /** Added to the server's environment: nats.conf reads `$VARIABLE`s from it. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A real nats-server with JetStream, on loopback, storing into `dir`. */
export async function startNats(
  binary: string,
  dir: string,
  name = 'nats-server',
  options: NatsOptions = {},
): Promise<NatsServer> {
  const [port, monitor] = [await freePort(), await freePort()];
  const process = ManagedProcess.start(
    name,
    binary,
    [
      ...['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)],
      ...(options.config ? ['-c', options.config] : ['-js', '-sd', join(dir, name)]),
    ],
    { logFile: join(dir, `${name}.log`), env: { ...globalThis.process.env, ...options.env } },
  );
  const monitorUrl = `http://127.0.0.1:${monitor}`;
  await process.waitUntil(
    'ready with JetStream',
    async () => (await probe(`${monitorUrl}/healthz?js-enabled-only=true`)) === 200,
  );
  return { url: `nats://127.0.0.1:${port}`, monitorUrl, process };
}
