/**
 * Runs a people's command of the real CLI (`node dist/cli/main.js status ...`)
 * as a person would, to completion: exit code, stdout and stderr.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { V1Deployment } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { mergePatch } from '../../lib/kube/patch.js';

export const cliMain = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function nozzle(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, ...args],
      { env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A Deployment whose pods request `cpu` and `memory` each: what the savings count. */
export function requesting(name: string, replicas: number, cpu: string, memory: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name, image: `example/${name}:1`, resources: { requests: { cpu, memory } } }],
        },
      },
    },
  };
}

/** Stands in for the Deployment controller (none runs in the test environment): `ready` of spec.replicas. */
export async function setReady(kube: Kube, namespace: string, name: string, ready: number): Promise<void> {
  const d = await kube.apps.readNamespacedDeployment({ namespace, name });
  await kube.apps.patchNamespacedDeploymentStatus(
    {
      namespace,
      name,
      body: { status: { replicas: d.spec?.replicas ?? 1, readyReplicas: ready, availableReplicas: ready } },
    },
    mergePatch,
  );
}
