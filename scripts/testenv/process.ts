import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A server started by the test environment: its output goes to a log file
 * that is kept when a test fails, and it is stopped with SIGTERM (SIGKILL
 * after a grace period).
 */
export class ManagedProcess {
  readonly #child: ChildProcess;
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? null : 0);
        resolve(this.#exitCode);
      });
    });
  }

  static start(
    name: string,
    binary: string,
    args: readonly string[],
    options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ManagedProcess {
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(binary, args, {
        stdio: ['ignore', fd, fd],
        env: options.env ?? process.env,
        cwd: options.cwd,
      });
      return new ManagedProcess(name, options.logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Polls `check` until it resolves true; fails early and clearly if the process dies. */
  async waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} exited (code ${this.#exitCode}) before ${what}:\n${this.tail()}`);
      }
      if (await check().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${this.name} was not ${what} after ${timeoutMs / 1000}s:\n${this.tail()}`);
  }

  /** Sends a signal without waiting, e.g. SIGSTOP/SIGCONT to simulate an outage. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
