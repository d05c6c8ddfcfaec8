/**
 * Applying manifests to a test apiserver the way `kubectl apply
 * --server-side` does: used to install CRDs and the objects the test
 * environments publish.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { apply } from './kube-request.js';
import { parseManifests } from './yaml.js';

/** Server-side applies every YAML document in `dir` (CRDs first, in file order). */
export async function applyDirectory(config: KubeConfig, dir: string): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const objects = files.flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8')));
  await applyObjects(config, objects);
}

export async function applyObjects(config: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const discovery = new Map();
  for (const object of objects) {
    const res = await apply(config, object, { dryRun: false, fieldManager: 'nozzle-testenv' }, discovery);
    if (res.status >= 300) {
      throw new Error(`applying ${object.kind}/${object.metadata?.name} failed: ${res.status} ${res.body}`);
    }
  }
}
