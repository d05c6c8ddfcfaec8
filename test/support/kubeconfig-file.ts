/** Kubeconfig files for child processes (their KUBECONFIG): another user, or another server address. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminKubeConfig } from './env.js';

export function writeKubeconfig(
  dir: string,
  name: string,
  options: { token?: string; server?: string } = {},
): string {
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  if (!cluster || !user) throw new Error('the test kubeconfig has no current cluster or user');
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: { server: options.server ?? cluster.server, 'certificate-authority-data': ca },
        },
      ],
      users: [{ name, user: { token: options.token ?? user.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: name } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return file;
}
