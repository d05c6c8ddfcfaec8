import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { findBinaries, type Binaries } from './servers/binaries.js';
import { startEtcd, type Etcd } from './servers/etcd.js';
import { startApiServer, kubeconfig, loadKubeConfig, type ApiServer } from './servers/apiserver.js';
import { startNats, type NatsServer } from './servers/nats.js';

/**
 * The real servers Nozzle's tests run against: etcd, kube-apiserver (RBAC on)
 * and nats-server with JetStream, on loopback ports, in one temp directory.
 */
export class TestEnvironment {
  private constructor(
    readonly dir: string,
    readonly binaries: Binaries,
    readonly etcd: Etcd,
    readonly apiserver: ApiServer,
    readonly nats: NatsServer,
    readonly kubeconfigPath: string,
  ) {}

  static async start(options: { progress?: (line: string) => void } = {}): Promise<TestEnvironment> {
    const progress = options.progress ?? (() => {});
    const binaries = await findBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'nozzle-testenv-'));
    const started: { stop(): Promise<void> }[] = [];
    try {
      progress(`starting etcd (${dir})`);
      const etcd = await startEtcd(binaries.etcd, dir);
      started.push(etcd.process);
      progress('starting kube-apiserver');
      const apiserver = await startApiServer(binaries.kubeApiserver, dir, etcd.url);
      started.push(apiserver.process);
      progress('starting nats-server');
      const nats = await startNats(binaries.natsServer, dir);
      started.push(nats.process);
      const kubeconfigPath = join(dir, 'kubeconfig');
      writeFileSync(kubeconfigPath, kubeconfig(apiserver, 'nozzle-test-admin', apiserver.adminToken), {
        mode: 0o600,
      });
      const env = new TestEnvironment(dir, binaries, etcd, apiserver, nats, kubeconfigPath);
      return env;
    } catch (err) {
      for (const p of started.reverse()) await p.stop();
      throw new Error(`the test environment did not start; logs are in ${dir}`, { cause: err });
    }
  }

  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  /** What a process needs to use this environment, as environment variables. */
  get env(): Record<string, string> {
    return {
      KUBECONFIG: this.kubeconfigPath,
      NATS_URL: this.nats.url,
      NATS_MONITOR_URL: this.nats.monitorUrl,
      NOZZLE_TESTENV_DIR: this.dir,
      NOZZLE_TESTENV_APISERVER_PID: String(this.apiserver.process.pid ?? ''),
      NOZZLE_TESTENV_ETCD: this.binaries.etcd,
      NOZZLE_TESTENV_KUBE_APISERVER: this.binaries.kubeApiserver,
      NOZZLE_TESTENV_NATS_SERVER: this.binaries.natsServer,
      NOZZLE_TESTENV_KEDA_CRDS: this.binaries.kedaCrds,
    };
  }

  /** Stops every server; removes the directory unless its logs are wanted (a failed run). */
  async stop(options: { keepLogs: boolean }): Promise<void> {
    await this.nats.process.stop();
    await this.apiserver.process.stop();
    await this.etcd.process.stop();
    if (!options.keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}
