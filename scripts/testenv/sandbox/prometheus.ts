/**
 * Prometheus on the node, scraping Traefik every 5 s, published to pods as
 * http://prometheus.monitoring.svc:9090 (what the activity-based idle
 * policy queries).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ManagedProcess } from '../servers/process.js';
import { probe } from '../servers/http.js';
import { NODE_IP } from './network/netns.js';
import { publishNodeService } from './node-services.js';
import { TRAEFIK_METRICS } from './gateway.js';

export const PROMETHEUS_PORT = 9090;

export async function startPrometheus(
  binary: string,
  dir: string,
  config: KubeConfig,
): Promise<ManagedProcess> {
  const file = join(dir, 'prometheus.yml');
  writeFileSync(
    file,
    `global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: traefik
    static_configs:
      - targets: ['${TRAEFIK_METRICS}']
`,
  );
  const data = join(dir, 'prometheus-data');
  mkdirSync(data, { recursive: true });
  const prometheus = ManagedProcess.start(
    'prometheus',
    binary,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=${NODE_IP}:${PROMETHEUS_PORT}`,
      '--storage.tsdb.retention.time=1d',
    ],
    { logFile: join(dir, 'prometheus.log') },
  );
  await prometheus.waitUntil(
    'ready',
    async () => (await probe(`http://${NODE_IP}:${PROMETHEUS_PORT}/-/ready`)) === 200,
    120_000,
  );
  await publishNodeService(config, {
    namespace: 'monitoring',
    name: 'prometheus',
    ports: [{ name: 'http', port: PROMETHEUS_PORT, targetPort: PROMETHEUS_PORT }],
  });
  return prometheus;
}
