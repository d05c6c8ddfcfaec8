import type { Command } from '../lib/config/command.js';
import type { PersonCommand } from './people/command.js';

/**
 * The subcommands of `nozzle`, loaded on demand so that a worker process
 * never loads the activator's code and the reverse.
 */
export const commands: Record<string, () => Promise<Command>> = {
  activator: async () => (await import('../activator/command.js')).default,
  setup: async () => (await import('./setup.js')).default,
  'nats-credentials': async () => (await import('./nats-credentials.js')).default,
  publish: async () => (await import('../publisher/command.js')).default,
  worker: async () => (await import('../worker/command.js')).default,
};

/**
 * The commands for people (cli/people/): kubectl's conventions, the person's
 * own kubeconfig and rights, no NATS.
 */
export const peopleCommands: Record<string, () => Promise<PersonCommand>> = {
  status: async () => (await import('./people/status.js')).default,
  wake: async () => (await import('./people/wake.js')).default,
  sleep: async () => (await import('./people/sleep.js')).default,
};
