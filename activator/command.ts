/** `nozzle activator`: the wake path, on the takeover ports of sleeping Services. */
import { once } from 'node:events';
import { defineCommand } from '../lib/config/command.js';
import { activatorCommandSettings, validateActivatorSettings } from './settings.js';
import { connectKube } from '../lib/kube/client.js';
import { Activator } from './activator.js';

export default defineCommand({
  summary:
    'Serve the takeover ports of sleeping Services: wake the namespace on the first connection, show browsers the waiting page, hold everything else and splice it to a pod once Ready.',
  settings: activatorCommandSettings,
  validate: validateActivatorSettings,
  async run(config, log, signal) {
    const running = await Activator.start({ config, kube: connectKube(), log });
    if (!signal.aborted) await once(signal, 'abort');
    await running.stop(config.shutdownTimeout);
    return 0;
  },
});
