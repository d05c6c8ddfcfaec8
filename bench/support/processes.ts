/**
 * The processes the activator benches run: the HTTP backend
 * (bench/support/http-backend.ts) and `nozzle activator` itself
 * (`node dist/cli/main.js activator`, configured by env, as a pod runs it),
 * each its own process, with their open-file limit raised to the hard limit
 * (`ulimit -n`) so that thousands of held connections fit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const dist = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** `node <args>` under `ulimit -n <hard limit>`; `exec`, so the child's pid is node's. */
function spawnNode(args: readonly string[], env: Record<string, string>): ChildProcess {
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" && exec ${quoted}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface Backend {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** With `arrivals`: url -> epoch ms at which its request head reached the backend. */
  readonly arrived: Map<string, number>;
  /** Resolves when `url` has arrived. */
  arrival(url: string): Promise<number>;
}

export async function startBackend(options: { arrivals?: boolean } = {}): Promise<Backend> {
  const child = spawnNode([dist('bench/support/http-backend.js')], {
    BENCH_ARRIVALS: options.arrivals ? '1' : '0',
  });
  const lines = createInterface(child.stdout!);
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the backend exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const m = /^arrived (\S+) ([\d.]+)$/.exec(line);
      if (!m) return resolve(Number(line));
      arrived.set(m[1]!, Number(m[2]));
      waiting.get(m[1]!)?.(Number(m[2]));
    });
  });
  return {
    child,
    pid: child.pid!,
    port,
    arrived,
    arrival: (url) => {
      const at = arrived.get(url);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => waiting.set(url, resolve));
    },
  };
}

export interface ActivatorProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The admin port (/metrics). */
  readonly admin: number;
  /** Takeover ports listening when it said "activator serving". */
  readonly ports: number;
  /** From spawn to the "activator serving" log line (index synced, every listed Lease's port bound). */
  readonly startMs: number;
  /** Warnings and errors it logged. */
  readonly problems: string[];
  /** A metric's value from /metrics, summed over its label sets. */
  metric(name: string): Promise<number>;
}

/**
 * `nozzle activator` serving the port Leases of `systemNamespace` on
 * 127.0.0.1, with the bench's `env` on top (NOZZLE_HOLD_LIMIT, ...).
 */
export async function startActivator(
  systemNamespace: string,
  env: Record<string, string> = {},
): Promise<ActivatorProcess> {
  const started = performance.now();
  const child = spawnNode([dist('cli/main.js'), 'activator'], {
    NOZZLE_SYSTEM_NAMESPACE: systemNamespace,
    NOZZLE_ACTIVATOR_LISTEN_ADDRESS: '127.0.0.1',
    NOZZLE_ACTIVATOR_PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  const problems: string[] = [];
  const serving = await new Promise<{ admin: number; ports: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the activator exited (${code}) before serving`)));
    createInterface(child.stdout!).on('line', (line) => {
      let entry: { msg?: string; level?: number; admin?: { port: number }; ports?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if ((entry.level ?? 0) >= 40) problems.push(line);
      if (entry.msg === 'activator serving') resolve({ admin: entry.admin!.port, ports: entry.ports ?? 0 });
    });
  });
  const startMs = performance.now() - started;
  return {
    child,
    pid: child.pid!,
    ...serving,
    startMs,
    problems,
    metric: async (name) => {
      const text = await (await fetch(`http://127.0.0.1:${serving.admin}/metrics`)).text();
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
        sum += Number(m[1]);
      return sum;
    },
  };
}
