import type { Command } from './command.js';

/**
 * The subcommands of `nozzle`, loaded on demand so that a worker process
 * never loads the activator's code and the reverse.
 */
export const commands: Record<string, () => Promise<Command>> = {};
