/**
 * The kubelet stand-in of the sandbox's one node: every pod the scheduler
 * binds to the node becomes a real process in a network namespace of its
 * own, at its own pod IP (see pod-worker.ts). kwok keeps the Node object
 * alive and leaves pods alone (its pod stages are switched off), so a pod is
 * Ready only when its own readiness probe passes.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CoreV1Api, ListWatch, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { PodWorker, type PodWorkerContext } from './pod-worker.js';
import type { ImageBinaries } from './images.js';

export interface KubeletOptions {
  readonly config: KubeConfig;
  readonly nodeName: string;
  readonly sandbox: string;
  readonly dir: string;
  readonly binaries: ImageBinaries;
  readonly log: (line: string) => void;
}

/** Pod addresses: 10.244.0.2 .. 10.244.255.254, each held while its pod lives. */
class PodAddresses {
  readonly #used = new Set<string>();
  #next = 2;
  #veth = 0;

  allocate(): { ip: string; veth: string } {
    for (let tries = 0; tries < 65_000; tries++) {
      const n = this.#next;
      this.#next = n >= 65_534 ? 2 : n + 1;
      const ip = `10.244.${n >> 8}.${n & 255}`;
      if ((n & 255) === 0 || (n & 255) === 255 || this.#used.has(ip)) continue;
      this.#used.add(ip);
      return { ip, veth: `nzp${++this.#veth}` };
    }
    throw new Error('no free pod address left in 10.244.0.0/16');
  }

  release(ip: string): void {
    this.#used.delete(ip);
  }
}

export class Kubelet {
  readonly #workers = new Map<string, PodWorker>();
  readonly #informer;
  readonly #ctx: PodWorkerContext;
  readonly #created: string[] = [];
  #stopped = false;

  constructor(options: KubeletOptions) {
    const core = options.config.makeApiClient(CoreV1Api);
    const addresses = new PodAddresses();
    this.#ctx = {
      config: options.config,
      core,
      nodeName: options.nodeName,
      sandbox: options.sandbox,
      dir: options.dir,
      binaries: options.binaries,
      allocateIp: () => addresses.allocate(),
      releaseIp: (ip) => addresses.release(ip),
      ensureTarget: (target, directory) => this.#ensureTarget(target, directory),
      log: options.log,
    };
    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.#informer = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(options.config),
      () => core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.#informer.on('add', (pod) => this.#sync(pod));
    this.#informer.on('update', (pod) => this.#sync(pod));
    this.#informer.on('delete', (pod) => this.#forget(pod));
    this.#informer.on('error', (err) => {
      if (this.#stopped) return;
      options.log(`pod watch failed (${String(err)}); restarting it`);
      setTimeout(() => {
        if (!this.#stopped) void this.#informer.start().catch(() => {});
      }, 1_000).unref();
    });
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  #sync(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.#stopped) return;
    let worker = this.#workers.get(uid);
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (!worker) {
      if (terminal && !pod.metadata?.deletionTimestamp) return;
      worker = new PodWorker(pod, this.#ctx);
      this.#workers.set(uid, worker);
      if (!pod.metadata?.deletionTimestamp) {
        const started = worker;
        void started.run().catch((err: unknown) => this.#ctx.log(`${started.name}: ${String(err)}`));
      }
    }
    worker.update(pod);
    if (pod.metadata?.deletionTimestamp) {
      const graceMs =
        (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      const w = worker;
      void w
        .terminate(graceMs, true)
        .catch((err: unknown) => this.#ctx.log(`${w.name}: stopping: ${String(err)}`));
    }
  }

  /** The pod object is gone (a forced delete, or our own final delete). */
  #forget(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const worker = uid ? this.#workers.get(uid) : undefined;
    if (!worker || !uid) return;
    this.#workers.delete(uid);
    void worker.terminate(0, false).catch(() => {});
  }

  #ensureTarget(target: string, directory: boolean): void {
    if (existsSync(target)) return;
    let top = target;
    while (!existsSync(dirname(top))) top = dirname(top);
    if (directory) mkdirSync(target, { recursive: true });
    else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, '');
    }
    this.#created.push(top);
  }

  /** Stops every pod's process (no pod objects are touched) and removes the mount points it made. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer.stop();
    await Promise.all([...this.#workers.values()].map((w) => w.terminate(5_000, false)));
    this.#workers.clear();
    for (const top of this.#created.reverse()) removeEmpty(top);
  }
}

/** Removes `path` and the empty directories under it; stops at anything with content. */
function removeEmpty(path: string): void {
  try {
    for (const entry of readdirSync(path)) removeEmpty(`${path}/${entry}`);
    rmdirSync(path);
  } catch {
    // a file, or not empty: it stays
  }
}
