import type { Command } from '../lib/config/command.js';

/**
 * The subcommands of `nozzle`, loaded on demand so that a worker process
 * never loads the activator's code and the reverse.
 */
export const commands: Record<string, () => Promise<Command>> = {
  activator: async () => (await import('../activator/command.js')).default,
  setup: async () => (await import('./setup.js')).default,
  publish: async () => (await import('../publisher/command.js')).default,
  worker: async () => (await import('../worker/command.js')).default,
};
