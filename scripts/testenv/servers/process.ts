import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';
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
      // A binary that cannot be started (missing, not executable) never exits: say so in its log.
      child.once('error', (err) => {
        appendFileSync(logFile, `could not start ${name}: ${err.message}\n`);
        this.#exitCode = 127;
        resolve(this.#exitCode);
      });
    });
  }

  static start(
    name: string,
    binary: string,
    args: readonly string[],
    options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; processGroup?: boolean },
  ): ManagedProcess {
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(binary, args, {
        stdio: ['ignore', fd, fd],
        env: options.env ?? process.env,
        cwd: options.cwd,
        // Leads a process group of its own: killGroup() then reaches every descendant.
        detached: options.processGroup ?? false,
      });
      return new ManagedProcess(name, options.logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  /** Resolves with the exit code (null after a signal) when the process has exited. */
  get exited(): Promise<number | null> {
    return this.#exited;
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

  /** SIGKILLs the process group this process leads (started with `processGroup`), leftovers included. */
  killGroup(): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // no process of the group is left
    }
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
