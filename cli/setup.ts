import { defineCommand } from '../lib/config/command.js';
import { nats, stream } from '../lib/config/nozzle.js';
import { connectNats, natsAccess } from '../lib/jetstream/connect.js';
import { ensureTopology } from '../lib/jetstream/topology.js';

export default defineCommand({
  summary:
    'Create or update the NOZZLE stream, the NOZZLE_DLQ stream and the nozzle-worker consumer, then exit. Idempotent; run it before KEDA polls the consumer.',
  settings: { ...nats, ...stream },
  async run(config, log) {
    const nc = await connectNats(config.natsUrl, { name: 'nozzle-setup', ...natsAccess(config) });
    try {
      const { warnings, ...report } = await ensureTopology(nc, config);
      for (const warning of warnings) log.warn(warning);
      log.info(report, 'JetStream stream, dead-letter stream and consumer are ready');
      return 0;
    } finally {
      await nc.drain().catch(() => {});
    }
  },
});
