/**
 * A stand-in for the kubelet, for Nozzle's own pods only. kwok makes pods
 * Running without running anything; for the pods of one Nozzle Deployment
 * (the worker, the activator) this starts the real `nozzle` process with the
 * pod's args and environment, authenticated as the pod's ServiceAccount
 * through a TokenRequest token, and sends it SIGTERM when the pod goes away:
 * what a kubelet would do, minus the container.
 *
 * The differences from a real kubelet are deliberate and few: the process
 * runs on this machine, so `overrides` replace the addresses it would resolve
 * through cluster DNS (NATS_URL, the dev-only upstream map) and give each
 * process its own loopback port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeInformer, type KubeConfig, type V1Pod, type CoreV1Api } from '@kubernetes/client-node';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface PodProcess {
  readonly pod: string;
  readonly port: number;
  readonly process: ManagedProcess;
}

export interface PodRunnerOptions {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly namespace: string;
  readonly labelSelector: string;
  readonly dir: string;
  /** Env var that sets the component's HTTP port; each process gets a free one. */
  readonly portEnv: string;
  readonly overrides: Record<string, string>;
  /** Writes a kubeconfig for a token; the runner asks TokenRequest for the token. */
  readonly kubeconfigFor: (token: string, user: string) => string;
  readonly onEvent?: (event: 'started' | 'stopped', pod: string) => void;
}

export class PodRunner {
  readonly #running = new Map<string, PodProcess>();
  readonly #informer;
  readonly #options: PodRunnerOptions;
  #pending = Promise.resolve();
  #stopped = false;

  constructor(options: PodRunnerOptions) {
    this.#options = options;
    const { config, core, namespace, labelSelector } = options;
    this.#informer = makeInformer<V1Pod>(
      config,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector }),
      labelSelector,
    );
    const reconcile = (pod: V1Pod): void => {
      // One pod at a time, in event order: a start never races its own stop.
      this.#pending = this.#pending.then(() => this.#reconcile(pod)).catch(() => {});
    };
    this.#informer.on('add', reconcile);
    this.#informer.on('update', reconcile);
    this.#informer.on('delete', (pod) => {
      this.#pending = this.#pending.then(() => this.#stop(pod.metadata?.name ?? '')).catch(() => {});
    });
    // A watch that fails is restarted, as a kubelet would re-list; never
    // after stop(), or the retries would keep the process alive for ever.
    this.#informer.on('error', () => {
      if (this.#stopped) return;
      setTimeout(() => {
        if (!this.#stopped) void this.#informer.start().catch(() => {});
      }, 1_000).unref();
    });
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  get processes(): PodProcess[] {
    return [...this.#running.values()];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer.stop();
    await this.#pending;
    await Promise.all([...this.#running.keys()].map((name) => this.#stop(name)));
  }

  async #reconcile(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    if (
      pod.metadata?.deletionTimestamp ||
      pod.status?.phase === 'Succeeded' ||
      pod.status?.phase === 'Failed'
    ) {
      await this.#stop(name);
      return;
    }
    if (pod.status?.phase !== 'Running' || this.#running.has(name)) return;
    const container = pod.spec?.containers[0];
    if (!container) return;

    const { core, namespace, dir, portEnv, overrides } = this.#options;
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      const ref = source.configMapRef?.name;
      if (!ref) continue;
      const configMap = await core.readNamespacedConfigMap({ name: ref, namespace });
      Object.assign(env, configMap.data ?? {});
    }
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = name;
    }
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const token = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const kubeconfig = join(dir, `kubeconfig-${name}`);
    writeFileSync(kubeconfig, this.#options.kubeconfigFor(token.status?.token ?? '', serviceAccount), {
      mode: 0o600,
    });
    const port = await freePort();
    const child = ManagedProcess.start('nozzle', process.execPath, [cli, ...(container.args ?? [])], {
      logFile: join(dir, `pod-${name}.log`),
      env: {
        PATH: process.env.PATH,
        ...env,
        ...overrides,
        [portEnv]: String(port),
        KUBECONFIG: kubeconfig,
        HOSTNAME: name,
      },
    });
    this.#running.set(name, { pod: name, port, process: child });
    this.#options.onEvent?.('started', name);
  }

  async #stop(name: string): Promise<void> {
    const running = this.#running.get(name);
    if (!running) return;
    this.#running.delete(name);
    await running.process.stop(60_000);
    this.#options.onEvent?.('stopped', name);
  }
}
