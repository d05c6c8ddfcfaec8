/**
 * Every setting of every component in one registry, gathered from the shared
 * blocks (lib/config/nozzle.ts) and each component's own (worker/settings.ts,
 * ...): docs/configuration.md is made from it, and a test checks that every
 * env var is unique across it.
 */
import { common, nats, optIn, stream, takeover } from '../lib/config/nozzle.js';
import { activatorSettings } from '../activator/settings.js';
import { publisherSettings } from '../publisher/settings.js';
import { workerSettings } from '../worker/settings.js';

export const groups = {
  common,
  nats,
  stream,
  optIn,
  takeover,
  publisher: publisherSettings,
  worker: workerSettings,
  activator: activatorSettings,
};
