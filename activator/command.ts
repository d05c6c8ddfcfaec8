/** `nozzle activator`: the wake path's HTTP server. */
import { once } from 'node:events';
import { defineCommand } from '../lib/config/command.js';
import { activatorSettings as activator } from './settings.js';
import { connectKube } from '../lib/kube/client.js';
import { Activator } from './activator.js';

export default defineCommand({
  summary:
    'Serve the traffic of sleeping namespaces: wake them on the first request, show browsers the waiting page, hold API requests and forward them once the app is Ready.',
  settings: activator,
  async run(config, log, signal) {
    const running = await Activator.start({ config, kube: connectKube(), log });
    if (!signal.aborted) await once(signal, 'abort');
    await running.stop(config.shutdownTimeout);
    return 0;
  },
});
