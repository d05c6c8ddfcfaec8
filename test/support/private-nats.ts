/**
 * A nats-server of a test file's own, for tests that need the fixed stream
 * and consumer names (NOZZLE, nozzle-worker) without sharing them with other
 * test files running at the same time on the environment's server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, type NatsServer } from '../../scripts/testenv/servers/nats.js';
import { requireEnv } from './env.js';

export interface PrivateNats extends NatsServer {
  stop(): Promise<void>;
}

export async function startPrivateNats(name = 'nats-private'): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-nats-'));
  const server = await startNats(requireEnv('NOZZLE_TESTENV_NATS_SERVER'), dir, name);
  return {
    ...server,
    async stop() {
      await server.process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
