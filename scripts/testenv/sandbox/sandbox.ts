/**
 * The sandbox cluster, from this machine's side: makes the node's network
 * namespace, starts node.ts inside it, and opens the few entry points on
 * this machine's loopback (the apiserver for kubectl and `nozzle`, the
 * gateway's HTTP entry point, Prometheus). Everything else stays inside; the
 * dialer reaches any address or cluster name there, and `exec` runs a
 * command in the sandbox's network. stop() removes all of it.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { httpGet, probe, type HttpAnswer } from '../servers/http.js';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import { findBinaries, type SandboxBinaries } from '../servers/binaries.js';
import { loadKubeConfig } from '../servers/apiserver.js';
import { ManagedProcess } from '../servers/process.js';
import {
  APISERVER_PORT,
  CLUSTER_DOMAIN,
  DNS_SERVICE_IP,
  NODE_IP,
  checkCapabilities,
  createNodeNamespace,
  deleteNamespace,
  isAlive,
  removeStaleSandboxes,
  sandboxName,
  SYSTEM_PATH,
} from './network/netns.js';
import { dial, forward } from './dialer.js';
import type { NodeReady } from './node.js';
import { GATEWAY_PORT } from './gateway.js';
import { PROMETHEUS_PORT } from './prometheus.js';

const nodeProgram = fileURLToPath(new URL('./node.js', import.meta.url));
/** Where `testenv exec` finds the running sandbox. */
const STATE_DIR = join(process.env.XDG_RUNTIME_DIR ?? '/run', 'nozzle-sandbox');

export interface SandboxState {
  readonly namespace: string;
  readonly dir: string;
  /** The process that started it (this one). */
  readonly pid: number;
  /** The node program: it leads the process group of every server and pod. */
  readonly nodePid: number;
}

export class Sandbox {
  private constructor(
    readonly namespace: string,
    readonly dir: string,
    readonly binaries: SandboxBinaries,
    readonly kubeconfigPath: string,
    readonly dialerPath: string,
    readonly gateway: string,
    readonly urls: { apiserver: string; gateway: string; prometheus: string },
    private readonly node: ManagedProcess,
    private readonly servers: Server[],
    private readonly prometheusPid: number,
  ) {}

  static async start(options: { progress?: (line: string) => void } = {}): Promise<Sandbox> {
    const progress = options.progress ?? (() => {});
    checkCapabilities();
    removeStale(progress);
    const binaries = await findBinaries({ sandbox: true });
    const dir = mkdtempSync(join(tmpdir(), 'nozzle-sandbox-'));
    const namespace = sandboxName();
    const servers: Server[] = [];
    let node: ManagedProcess | undefined;
    try {
      createNodeNamespace(
        namespace,
        `nameserver ${DNS_SERVICE_IP}\nsearch svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\noptions ndots:5\n`,
      );
      progress(`network namespace ${namespace} (node ${NODE_IP}); logs in ${dir}`);
      const binariesFile = join(dir, 'binaries.json');
      writeFileSync(binariesFile, JSON.stringify(binaries));
      node = ManagedProcess.start(
        'sandbox node',
        'ip',
        ['netns', 'exec', namespace, process.execPath, nodeProgram, dir, binariesFile, namespace],
        { logFile: join(dir, 'node.log'), processGroup: true, env: { ...process.env, PATH: SYSTEM_PATH } },
      );
      // Written at once: a run killed while starting is cleaned up by the next one.
      mkdirSync(STATE_DIR, { recursive: true });
      const state: SandboxState = { namespace, dir, pid: process.pid, nodePid: node.pid ?? 0 };
      writeFileSync(join(STATE_DIR, `${process.pid}.json`), JSON.stringify(state));
      const ready = await waitForNode(node, dir, progress);
      const open = async (port: number): Promise<number> => {
        const f = await forward(ready.dialer, NODE_IP, port);
        servers.push(f.server);
        return f.port;
      };
      const urls = {
        apiserver: `https://127.0.0.1:${await open(APISERVER_PORT)}`,
        gateway: `http://127.0.0.1:${await open(GATEWAY_PORT)}`,
        prometheus: `http://127.0.0.1:${await open(PROMETHEUS_PORT)}`,
      };
      const kubeconfigPath = join(dir, 'kubeconfig-outside');
      writeFileSync(
        kubeconfigPath,
        outsideKubeconfig(urls.apiserver, readFileSync(ready.caFile, 'utf8'), ready.adminToken),
        {
          mode: 0o600,
        },
      );
      return new Sandbox(
        namespace,
        dir,
        binaries,
        kubeconfigPath,
        ready.dialer,
        ready.gateway,
        urls,
        node,
        servers,
        ready.prometheusPid,
      );
    } catch (err) {
      for (const s of servers) s.close();
      await node?.stop(30_000);
      node?.killGroup();
      deleteNamespace(namespace);
      rmSync(join(STATE_DIR, `${process.pid}.json`), { force: true });
      throw new Error(`the sandbox did not start; logs are in ${dir}`, { cause: err });
    }
  }

  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  /** What a shell or a test needs to use the sandbox. */
  get env(): Record<string, string> {
    return {
      KUBECONFIG: this.kubeconfigPath,
      NOZZLE_GATEWAY_URL: this.urls.gateway,
      NOZZLE_GATEWAY: this.gateway,
      NOZZLE_PROMETHEUS_URL: this.urls.prometheus,
      NOZZLE_SANDBOX: this.namespace,
      NOZZLE_SANDBOX_DIALER: this.dialerPath,
      NOZZLE_TESTENV_DIR: this.dir,
    };
  }

  /** An HTTP GET to `url` as a pod would send it (cluster names resolve), e.g. http://10.96.3.4/ or http://web.app.svc/. */
  get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return sandboxGet(this.dialerPath, url, headers);
  }

  /**
   * Stops Prometheus (SIGTERM), as an outage of the traffic source would:
   * its Service stays, connections to it are refused. Resolves once it no
   * longer answers. Not restarted: for the end of a test.
   */
  async stopPrometheus(): Promise<void> {
    if (isAlive(this.prometheusPid)) process.kill(this.prometheusPid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (
      await probe(`${this.urls.prometheus}/-/ready`).then(
        () => true,
        () => false,
      )
    ) {
      if (Date.now() > deadline) throw new Error('Prometheus still answers 30 s after SIGTERM');
      await sleep(200);
    }
  }

  async stop(options: { keepLogs: boolean }): Promise<void> {
    for (const s of this.servers) s.close();
    await this.node.stop(90_000);
    this.node.killGroup();
    deleteNamespace(this.namespace);
    rmSync(join(STATE_DIR, `${process.pid}.json`), { force: true });
    if (!options.keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitForNode(
  node: ManagedProcess,
  dir: string,
  progress: (line: string) => void,
): Promise<NodeReady> {
  const progressFile = join(dir, 'progress.log');
  let shown = 0;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (existsSync(progressFile)) {
      const lines = readFileSync(progressFile, 'utf8').split('\n').filter(Boolean);
      for (const line of lines.slice(shown)) progress(line);
      shown = lines.length;
    }
    const readyFile = join(dir, 'ready.json');
    if (existsSync(readyFile)) return JSON.parse(readFileSync(readyFile, 'utf8')) as NodeReady;
    if (!node.running) throw new Error(`the sandbox node exited:\n${node.tail(40)}`);
    if (Date.now() > deadline)
      throw new Error(`the sandbox node was not ready after 300s:\n${node.tail(40)}`);
    await sleep(200);
  }
}

function outsideKubeconfig(server: string, ca: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'nozzle-sandbox',
        cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
      },
    ],
    users: [{ name: 'sandbox-admin', user: { token } }],
    contexts: [{ name: 'nozzle-sandbox', context: { cluster: 'nozzle-sandbox', user: 'sandbox-admin' } }],
    'current-context': 'nozzle-sandbox',
  });
}

/** A GET through the dialer: one connection, `Connection: close`. */
export function sandboxGet(
  dialerPath: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  const port = Number(target.port || 80);
  return httpGet({
    host: target.hostname,
    port,
    path: `${target.pathname}${target.search}`,
    headers: { connection: 'close', ...headers },
    createConnection: () => dial(dialerPath, target.hostname, port),
  });
}

/** The running sandbox (the newest whose owner is alive), for `testenv exec`. */
export function runningSandbox(): SandboxState | undefined {
  return readdirStates()
    .filter((s) => isAlive(s.pid))
    .at(-1);
}

/**
 * What a run that was killed (SIGKILL, a second Ctrl-C) left behind: the
 * processes of its node's group (servers and pods), then its network
 * namespaces.
 */
function removeStale(progress: (line: string) => void): void {
  for (const state of readdirStates().filter((s) => !isAlive(s.pid))) {
    const killed = killGroupMembers(state.nodePid);
    if (killed > 0)
      progress(`stopped ${killed} processes left by the sandbox of a run that no longer exists`);
    rmSync(join(STATE_DIR, `${state.pid}.json`), { force: true });
  }
  removeStaleSandboxes(progress);
}

/** SIGKILLs the processes of group `pgid` that are the sandbox's own (by their command line). */
function killGroupMembers(pgid: number): number {
  if (!(pgid > 1)) return 0;
  let killed = 0;
  for (const entry of readdirSyncSafe('/proc') ?? []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (in parentheses): state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (pgrp !== pgid || !/nozzle|testenv/.test(cmdline)) continue;
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

function readdirStates(): SandboxState[] {
  return (readdirSyncSafe(STATE_DIR) ?? [])
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as SandboxState);
}

function readdirSyncSafe(path: string): string[] | undefined {
  try {
    return readdirSync(path);
  } catch {
    return undefined;
  }
}

/** Runs `command` inside the running sandbox's network; resolves to its exit code. */
export async function execInSandbox(command: readonly string[]): Promise<number> {
  const state = runningSandbox();
  if (!state) throw new Error('no sandbox is running: start one with `npm run testenv -- up --e2e`');
  const child = spawn('ip', ['netns', 'exec', state.namespace, ...command], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${SYSTEM_PATH}:${process.env.PATH ?? ''}` },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}
