/**
 * An etcd and kube-apiserver of a test's own, for tests that stop the
 * apiserver (SIGSTOP) to simulate an outage: stopping the shared one would
 * stall every other test file running at the same time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { connectKube, type Kube } from '../../lib/kube/client.js';
import { kubeconfig, startApiServer, type ApiServer } from '../../scripts/testenv/servers/apiserver.js';
import { startEtcd } from '../../scripts/testenv/servers/etcd.js';
import { requireEnv } from './env.js';

export interface PrivateApiServer {
  readonly kube: Kube;
  readonly apiserver: ApiServer;
  stop(): Promise<void>;
}

export async function startPrivateApiServer(): Promise<PrivateApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-apiserver-'));
  const etcd = await startEtcd(requireEnv('NOZZLE_TESTENV_ETCD'), dir);
  let apiserver: ApiServer;
  try {
    apiserver = await startApiServer(requireEnv('NOZZLE_TESTENV_KUBE_APISERVER'), dir, etcd.url);
  } catch (err) {
    await etcd.process.stop();
    throw err;
  }
  const config = new KubeConfig();
  config.loadFromString(kubeconfig(apiserver, 'admin', apiserver.adminToken));
  return {
    kube: connectKube(config),
    apiserver,
    async stop() {
      await apiserver.process.stop();
      await etcd.process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
