/**
 * A nats-server of a test file's own, for tests that need the fixed stream
 * and consumer names (NOZZLE, nozzle-worker) without sharing them with other
 * test files running at the same time on the environment's server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, type NatsOptions, type NatsServer } from '../../scripts/testenv/servers/nats.js';
import { requireEnv } from './env.js';

export interface PrivateNats extends NatsServer {
  stop(): Promise<void>;
}

export async function startPrivateNats(
  name = 'nats-private',
  options: NatsOptions | ((dir: string) => NatsOptions) = {},
): Promise<PrivateNats & { readonly dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-nats-'));
  const server = await startNats(
    requireEnv('NOZZLE_TESTENV_NATS_SERVER'),
    dir,
    name,
    typeof options === 'function' ? options(dir) : options,
  );
  return {
    ...server,
    dir,
    async stop() {
      await server.process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
