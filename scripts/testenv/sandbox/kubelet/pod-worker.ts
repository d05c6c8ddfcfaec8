/**
 * One pod's life on the sandbox's node, as the kubelet lives it: give it an
 * address and a network namespace, make its volumes, start its container's
 * program, report Running, probe readiness and report Ready, restart it by
 * its restartPolicy, and on deletion stop it (SIGTERM, SIGKILL after the
 * grace period), tear its network down and remove the pod object.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, KubeConfig, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { ManagedProcess } from '../../servers/process.js';
import { kubeRequest } from '../../servers/kube-request.js';
import {
  CLUSTER_DOMAIN,
  DNS_SERVICE_IP,
  NODE_IP,
  createPodNetwork,
  deletePodNetwork,
} from '../network/netns.js';
import { programFor, type ImageBinaries, type Program } from './images.js';
import { makeVolumes, mountsFor, type Mount } from './volumes.js';
import { containerEnv } from './env.js';
import { makeCheck, probeTiming, type ProbeCheck } from './probes.js';

export interface PodWorkerContext {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly nodeName: string;
  /** The node's network namespace: pod namespaces are named after it. */
  readonly sandbox: string;
  readonly dir: string;
  readonly binaries: ImageBinaries;
  readonly allocateIp: () => { ip: string; veth: string };
  readonly releaseIp: (ip: string) => void;
  /** Creates a missing mount target on this machine's file system, remembered for removal. */
  readonly ensureTarget: (target: string, directory: boolean) => void;
  readonly log: (line: string) => void;
}

/**
 * Bind-mounts each `source<TAB>target` line of $1 in the pod's own mount
 * namespace (made by `ip netns exec`, a slave of the node's: nothing leaks
 * back), then execs the program.
 */
const POD_INIT = `set -e
while IFS="$(printf '\\t')" read -r src dst; do mount --bind "$src" "$dst"; done < "$1"
shift
exec "$@"`;

const RESTART_BACKOFF_MAX_MS = 20_000;

/** The container's environment cannot be built yet (a Secret or ConfigMap it names is missing). */
class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export class PodWorker {
  #pod: V1Pod;
  #process: ManagedProcess | undefined;
  #network: { ip: string; veth: string; ns: string } | undefined;
  #ready = false;
  #restarts = 0;
  #terminating = false;
  #termination: Promise<void> | undefined;
  #startedAt = new Date();
  #probeAbort = new AbortController();

  constructor(
    pod: V1Pod,
    private readonly ctx: PodWorkerContext,
  ) {
    this.#pod = pod;
  }

  get name(): string {
    return `${this.#pod.metadata?.namespace}/${this.#pod.metadata?.name}`;
  }

  /**
   * The newest pod object. Like the kubelet's status manager, puts back the
   * readiness it knows when someone else changed it (the node lifecycle
   * controller marks pods NotReady when it misses a node heartbeat).
   */
  update(pod: V1Pod): void {
    this.#pod = pod;
    if (!this.#process || this.#terminating) return;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ready !== this.#ready) void this.#patchStatus(this.#runningStatus()).catch(() => {});
  }

  get wantsDeletion(): boolean {
    return Boolean(this.#pod.metadata?.deletionTimestamp);
  }

  /** Runs the pod until it ends or is stopped; errors become pod events and a retry. */
  async run(): Promise<void> {
    const container = this.#pod.spec?.containers[0];
    if (!container) return;
    if ((this.#pod.spec?.containers.length ?? 0) > 1 || this.#pod.spec?.initContainers?.length) {
      await this.#event(
        'Warning',
        'Failed',
        'the sandbox runs pods with one container and no init containers',
      );
      return;
    }
    const program = programFor(container, this.ctx.binaries);
    if ('unsupported' in program) {
      this.ctx.log(`${this.name}: ${program.unsupported}`);
      await this.#event('Warning', 'Failed', program.unsupported);
      await this.#patchStatus({
        containerStatuses: [
          {
            name: container.name,
            image: container.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImagePull', message: program.unsupported } },
          },
        ],
      });
      return;
    }
    let prepared: { mountsFile: string; env: Record<string, string> } | undefined;
    for (let attempt = 0; !prepared && !this.#terminating; attempt++) {
      try {
        prepared = await this.#prepare();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.ctx.log(`${this.name}: not started yet: ${message}`);
        // Like the kubelet: a Secret or ConfigMap an env var names that is not there (yet) is
        // CreateContainerConfigError, retried until it appears (the NATS credentials Secrets at install).
        const reason = err instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'FailedMount';
        if (attempt === 0) await this.#event('Warning', reason, message);
        await sleep(Math.min(500 * 2 ** attempt, 5_000));
      }
    }
    if (!prepared) return;
    while (!this.#terminating) {
      const exit = await this.#runOnce(program, prepared);
      if (this.#terminating) return;
      const policy = this.#pod.spec?.restartPolicy ?? 'Always';
      if (policy === 'Never' || (policy === 'OnFailure' && exit === 0)) {
        await this.#patchStatus(this.#terminalStatus(exit));
        return;
      }
      this.#restarts++;
      const delay = Math.min(1_000 * 2 ** (this.#restarts - 1), RESTART_BACKOFF_MAX_MS);
      this.ctx.log(`${this.name}: exited ${exit}, restarting in ${delay} ms`);
      await sleep(delay);
    }
  }

  async #prepare(): Promise<{ mountsFile: string; env: Record<string, string> }> {
    const pod = this.#pod;
    const podDir = join(
      this.ctx.dir,
      'pods',
      `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`,
    );
    mkdirSync(podDir, { recursive: true });
    const volumes = await makeVolumes(this.ctx.core, pod, podDir);
    const home = join(podDir, 'home');
    mkdirSync(home, { recursive: true });
    const env = await containerEnv(this.ctx.core, pod, home).catch((err: unknown) => {
      throw new ContainerConfigError(err instanceof Error ? err.message : String(err), { cause: err });
    });
    if (!this.#network) {
      const { ip, veth } = this.ctx.allocateIp();
      const ns = `${this.ctx.sandbox}-p${veth.slice(3)}`;
      createPodNetwork(ns, veth, ip);
      this.#network = { ip, veth, ns };
    }
    const etc = join(podDir, 'etc');
    mkdirSync(etc, { recursive: true });
    const namespace = pod.metadata?.namespace ?? 'default';
    const hostname = pod.spec?.hostname ?? pod.metadata?.name ?? '';
    const subdomain = pod.spec?.subdomain
      ? `${hostname}.${pod.spec.subdomain}.${namespace}.svc.${CLUSTER_DOMAIN}`
      : '';
    writeFileSync(
      join(etc, 'resolv.conf'),
      `nameserver ${DNS_SERVICE_IP}\nsearch ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\noptions ndots:5\n`,
    );
    writeFileSync(
      join(etc, 'hosts'),
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.#network.ip}\t${subdomain} ${hostname}\n`,
    );
    writeFileSync(join(etc, 'hostname'), `${hostname}\n`);
    const mounts: Mount[] = [
      { source: join(etc, 'resolv.conf'), target: '/etc/resolv.conf' },
      { source: join(etc, 'hosts'), target: '/etc/hosts' },
      { source: join(etc, 'hostname'), target: '/etc/hostname' },
      ...mountsFor(pod, volumes),
    ];
    for (const m of mounts) this.ctx.ensureTarget(m.target, statSync(m.source).isDirectory());
    const mountsFile = join(podDir, 'mounts');
    writeFileSync(mountsFile, mounts.map((m) => `${m.source}\t${m.target}\n`).join(''));
    return { mountsFile, env };
  }

  async #runOnce(
    program: Program,
    prepared: { mountsFile: string; env: Record<string, string> },
  ): Promise<number | null> {
    const network = this.#network;
    if (!network) throw new Error('no pod network');
    const container = this.#pod.spec?.containers[0];
    if (!container) return null;
    const args = program.args.map((a) =>
      a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (w, n: string) => prepared.env[n] ?? w),
    );
    const podName = this.#pod.metadata?.name ?? 'pod';
    this.#startedAt = new Date();
    const child = ManagedProcess.start(
      `${this.name}`,
      'ip',
      [
        'netns',
        'exec',
        network.ns,
        'sh',
        '-c',
        POD_INIT,
        'pod-init',
        prepared.mountsFile,
        program.binary,
        ...args,
      ],
      {
        logFile: join(this.ctx.dir, 'pods', `${this.#pod.metadata?.namespace}_${podName}.log`),
        env: prepared.env,
      },
    );
    this.#process = child;
    this.#ready = false;
    await this.#patchStatus(this.#runningStatus());
    this.ctx.log(`${this.name}: started ${program.binary} ${args.join(' ')} at ${network.ip}`);
    this.#probeAbort = new AbortController();
    void this.#probeLoop(this.#probeAbort.signal).catch((err: unknown) =>
      this.ctx.log(`${this.name}: probe: ${String(err)}`),
    );
    const exit = await child.exited;
    this.#probeAbort.abort();
    this.#process = undefined;
    if (!this.#terminating) this.#ready = false;
    return exit;
  }

  async #probeLoop(signal: AbortSignal): Promise<void> {
    const container = this.#pod.spec?.containers[0];
    const network = this.#network;
    if (!container || !network) return;
    const probe = container.readinessProbe;
    if (!probe) {
      await this.#setReady(true);
      return;
    }
    let check: ProbeCheck;
    try {
      check = makeCheck(container, probe, network.ip);
    } catch (err) {
      await this.#event('Warning', 'Unhealthy', (err as Error).message);
      return;
    }
    const timing = probeTiming(probe);
    await sleep(timing.initialDelayMs, undefined, { signal }).catch(() => {});
    let successes = 0;
    let failures = 0;
    while (!signal.aborted) {
      const ok = await check();
      if (signal.aborted) return;
      if (ok) {
        successes++;
        failures = 0;
        if (!this.#ready && successes >= timing.successThreshold) await this.#setReady(true);
      } else {
        failures++;
        successes = 0;
        if (this.#ready && failures >= timing.failureThreshold) await this.#setReady(false);
      }
      // Until the first success, probe often: the kubelet's first probe
      // after a start is what makes a cold start take its real time.
      const wait = this.#ready ? timing.periodMs : Math.min(timing.periodMs, 1_000);
      await sleep(wait, undefined, { signal }).catch(() => {});
    }
  }

  async #setReady(ready: boolean): Promise<void> {
    if (this.#terminating) return;
    this.#ready = ready;
    await this.#patchStatus(this.#runningStatus());
    this.ctx.log(`${this.name}: ${ready ? 'Ready' : 'not Ready'}`);
  }

  /** Stops the program (SIGTERM, then SIGKILL after `graceMs`), frees the network, removes the pod object. */
  terminate(graceMs: number, deleteObject: boolean): Promise<void> {
    this.#termination ??= this.#terminate(graceMs, deleteObject);
    return this.#termination;
  }

  async #terminate(graceMs: number, deleteObject: boolean): Promise<void> {
    this.#terminating = true;
    this.ctx.log(`${this.name}: stopping (grace ${graceMs} ms)`);
    this.#probeAbort.abort();
    if (this.#ready) {
      this.#ready = false;
      if (deleteObject) await this.#patchStatus(this.#runningStatus()).catch(() => {});
    }
    // A deleted pod's preStop `sleep` runs before SIGTERM and counts against
    // the grace period, as the kubelet does: the program keeps serving while
    // proxies and gateways still send it traffic. (Not when the node stops.)
    const preStopSeconds = this.#pod.spec?.containers[0]?.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const preStopMs = deleteObject ? Math.min(graceMs, preStopSeconds * 1000) : 0;
    if (this.#process && preStopMs > 0) await sleep(preStopMs);
    await this.#process?.stop(graceMs - preStopMs);
    if (this.#network) {
      deletePodNetwork(this.#network.ns, this.#network.veth);
      this.ctx.releaseIp(this.#network.ip);
    }
    if (!deleteObject) return;
    const { namespace, name, uid } = this.#pod.metadata ?? {};
    const res = await kubeRequest(this.ctx.config, 'DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
      contentType: 'application/json',
      text: JSON.stringify({
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        gracePeriodSeconds: 0,
        preconditions: { uid },
      }),
    });
    if (res.status >= 300 && res.status !== 404 && res.status !== 409) {
      this.ctx.log(`${this.name}: deleting the pod object answered ${res.status}: ${res.body}`);
    } else {
      this.ctx.log(`${this.name}: stopped and removed`);
    }
  }

  #conditions(ready: boolean): V1PodCondition[] {
    const now = new Date().toISOString() as unknown as Date;
    const status = (b: boolean): string => (b ? 'True' : 'False');
    return [
      { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: status(ready), lastTransitionTime: now },
      { type: 'ContainersReady', status: status(ready), lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ];
  }

  #runningStatus(): Record<string, unknown> {
    const container = this.#pod.spec?.containers[0];
    const ip = this.#network?.ip ?? '';
    return {
      phase: 'Running',
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: this.#pod.status?.startTime ?? new Date().toISOString(),
      conditions: this.#conditions(this.#ready),
      containerStatuses: [
        {
          name: container?.name ?? '',
          image: container?.image ?? '',
          imageID: `sandbox://${container?.image ?? ''}`,
          containerID: `sandbox://${this.#process?.pid ?? 0}`,
          ready: this.#ready,
          started: true,
          restartCount: this.#restarts,
          state: { running: { startedAt: this.#startedAt.toISOString() } },
        },
      ],
    };
  }

  #terminalStatus(exit: number | null): Record<string, unknown> {
    const container = this.#pod.spec?.containers[0];
    const code = exit ?? 137;
    return {
      phase: code === 0 ? 'Succeeded' : 'Failed',
      conditions: this.#conditions(false),
      containerStatuses: [
        {
          name: container?.name ?? '',
          image: container?.image ?? '',
          imageID: `sandbox://${container?.image ?? ''}`,
          ready: false,
          started: false,
          restartCount: this.#restarts,
          state: {
            terminated: {
              exitCode: code,
              reason: code === 0 ? 'Completed' : 'Error',
              startedAt: this.#startedAt.toISOString(),
              finishedAt: new Date().toISOString(),
            },
          },
        },
      ],
    };
  }

  async #patchStatus(status: Record<string, unknown>): Promise<void> {
    const { namespace, name } = this.#pod.metadata ?? {};
    const res = await kubeRequest(
      this.ctx.config,
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      {
        contentType: 'application/merge-patch+json',
        text: JSON.stringify({ status }),
      },
    );
    if (res.status >= 300 && res.status !== 404) {
      this.ctx.log(`${this.name}: status patch answered ${res.status}: ${res.body.slice(0, 300)}`);
    }
  }

  async #event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { namespace, name, uid } = this.#pod.metadata ?? {};
    const now = new Date().toISOString();
    await this.ctx.core
      .createNamespacedEvent({
        namespace: namespace ?? 'default',
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace, name, uid },
          type,
          reason,
          message,
          source: { component: 'kubelet', host: this.ctx.nodeName },
          firstTimestamp: now as unknown as Date,
          lastTimestamp: now as unknown as Date,
          count: 1,
        },
      })
      .catch((err: unknown) => this.ctx.log(`${this.name}: event ${reason} not recorded: ${String(err)}`));
  }
}
