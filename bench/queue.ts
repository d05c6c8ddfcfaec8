/**
 * What a bench needs around the code it measures: the testenv apiserver from
 * $KUBECONFIG, a private nats-server with the NOZZLE stream and consumer, and
 * a way to stop it all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../lib/jetstream/connect.js';
import { ensureTopology } from '../lib/jetstream/topology.js';
import { stream } from '../lib/config/nozzle.js';
import { connectKube, type Kube } from '../lib/kube/client.js';
import { startNats, type NatsServer } from '../scripts/testenv/servers/nats.js';

export const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run under scripts/testenv (see the header of the bench)`);
  return value;
};

export interface BenchQueue {
  readonly kube: Kube;
  readonly nats: NatsServer;
  readonly nc: NatsConnection;
  readonly stop: () => Promise<void>;
}

export async function benchQueue(): Promise<BenchQueue> {
  const config = new KubeConfig();
  config.loadFromFile(required('KUBECONFIG'));
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-bench-'));
  const nats = await startNats(required('NOZZLE_TESTENV_NATS_SERVER'), dir, 'nats-bench');
  const nc = await connectNats(nats.url, { name: 'bench' });
  await ensureTopology(nc, {
    ackWait: 30_000,
    maxDeliver: 10,
    duplicateWindow: 60_000,
    maxAge: 3_600_000,
    deadLetterMaxAge: 3_600_000,
    replicas: 1,
    maxBytes: stream.maxBytes.default ?? 0,
    deadLetterMaxBytes: stream.deadLetterMaxBytes.default ?? 0,
    maxMessageSize: stream.maxMessageSize.default ?? 0,
  });
  return {
    kube: connectKube(config),
    nats,
    nc,
    stop: async () => {
      await nc.close();
      await nats.process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
