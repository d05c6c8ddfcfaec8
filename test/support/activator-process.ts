/**
 * `nozzle activator` as a real child process (`node dist/cli/main.js
 * activator`), the way a pod runs it: its port and progress read from its
 * JSON log lines, its metrics from /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly [key: string]: unknown;
}

export interface ActivatorProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The admin port's URL (/metrics, /healthz). */
  readonly url: string;
  readonly logs: LogLine[];
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** A metric's value from /metrics (summed over label sets that match `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM and wait (graceful), or SIGKILL (a crash). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Writes a kubeconfig for a child process. */
export function kubeconfigFile(json: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'nozzle-activator-')), 'kubeconfig');
  writeFileSync(file, json, { mode: 0o600 });
  return file;
}

export async function spawnActivator(env: Record<string, string>): Promise<ActivatorProcess> {
  const child = spawn(process.execPath, [main, 'activator'], {
    env: {
      ...process.env,
      NOZZLE_ACTIVATOR_LISTEN_ADDRESS: '127.0.0.1',
      NOZZLE_ACTIVATOR_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  createInterface(child.stdout).on('line', (line) => {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { msg: line };
    }
    logs.push(parsed);
    for (const w of [...waiters]) {
      if (w.test(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const waitFor = (test: (l: LogLine) => boolean, what: string): Promise<LogLine> => {
    const seen = logs.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`activator process: no "${what}" log line; stderr: ${stderr}`)),
        20_000,
      );
      waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then((code) =>
        reject(new Error(`activator process exited (${code}) before "${what}": ${stderr}`)),
      );
    });
  };
  // Logged once the index has listed everything and every port Lease listed has its listener.
  const serving = await waitFor((l) => l.msg === 'activator serving', 'activator serving');
  const port = (serving.admin as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    pid: child.pid!,
    url,
    logs,
    exited,
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return sumMetric(text, name, labels);
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Sums the samples of `name` in Prometheus text whose labels include `labels`. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map(
      [...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[4]);
  }
  return sum;
}
