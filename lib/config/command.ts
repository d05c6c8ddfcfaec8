import type { Logger } from '../log.js';
import type { Settings, Values } from './settings.js';

/** A `nozzle <name>` subcommand: its settings and what it runs. */
export interface Command<S extends Settings = Settings> {
  readonly summary: string;
  readonly settings: S;
  /** Flags that are shorthands for settings, e.g. `--once` for `--interval 0`. */
  readonly aliases?: Readonly<Record<string, [flag: string, value: string]>>;
  /** Checks that span settings (e.g. one timeout shorter than another); throws ConfigError. */
  validate?(config: Values<S>): void;
  /**
   * Runs until done or until `signal` aborts (SIGTERM/SIGINT), then shuts down
   * gracefully. Resolves to the process exit code.
   */
  run(config: Values<S>, log: Logger, signal: AbortSignal): Promise<number>;
}

export function defineCommand<S extends Settings>(command: Command<S>): Command<S> {
  return command;
}
