/**
 * Applies k8s/ and keda/ with kubectl, as a user would, through a kustomize
 * overlay holding the one thing a cluster made of local processes must see
 * differently: the NATS monitoring address KEDA reads (a loopback port
 * instead of nats.nozzle-system.svc). Images are left as they are: nothing
 * pulls them here.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

export function applyManifests(options: {
  kubectl: string;
  kubeconfig: string;
  dir: string;
  natsMonitorHostPort: string;
}): string {
  const overlay = join(options.dir, 'overlay');
  const k8s = join(overlay, 'k8s');
  const keda = join(overlay, 'keda');
  mkdirSync(k8s, { recursive: true });
  mkdirSync(keda, { recursive: true });
  writeFileSync(
    join(k8s, 'kustomization.yaml'),
    JSON.stringify({ resources: [relative(k8s, join(repo, 'k8s'))] }, null, 2),
  );
  writeFileSync(
    join(keda, 'kustomization.yaml'),
    JSON.stringify(
      {
        resources: [relative(keda, join(repo, 'keda'))],
        patches: [
          {
            target: { kind: 'ScaledObject', name: 'nozzle-worker' },
            patch: JSON.stringify([
              {
                op: 'replace',
                path: '/spec/triggers/0/metadata/natsServerMonitoringEndpoint',
                value: options.natsMonitorHostPort,
              },
            ]),
          },
        ],
      },
      null,
      2,
    ),
  );
  const env = { ...process.env, KUBECONFIG: options.kubeconfig };
  const out = [k8s, keda].map((dir) =>
    execFileSync(options.kubectl, ['apply', '-k', dir], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  return out.join('');
}
