/**
 * Runs the real `nozzle` CLI (dist/cli/main.js) as a child process, the
 * way a pod runs it, and reads its JSON log lines as they come.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const pausedWorker = fileURLToPath(new URL('./paused-worker.js', import.meta.url));

export class NozzleProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    void this.exited.then(() => this.#notify());
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.lines.push({ raw: line });
      }
      this.#notify();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  /** `nozzle <args>` with the test's environment plus `env`. */
  static start(args: readonly string[], env: Record<string, string> = {}, entry = main): NozzleProcess {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { ...process.env, LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new NozzleProcess(child);
  }

  /** `nozzle worker <args>` that holds every sleep after its Ingress rewrite (test/support/paused-worker.ts). */
  static startPausedWorker(args: readonly string[], env: Record<string, string> = {}): NozzleProcess {
    return NozzleProcess.start(['worker', ...args], env, pausedWorker);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** The first log line (already written or to come) that matches; fails if the process exits first. */
  async waitForLog(match: (line: LogLine) => boolean, timeout = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (!this.running) throw new Error(`nozzle exited before the expected log line:\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching log line after ${timeout}ms:\n${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the exit; SIGKILL after `timeout`. */
  async exit(timeout = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.kill('SIGKILL'), timeout);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last log lines and stderr, for failure messages. */
  describe(lines = 30): string {
    return [...this.lines.slice(-lines).map((l) => JSON.stringify(l)), this.stderr.trim()].join('\n');
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
    this.#waiters.clear();
  }
}
