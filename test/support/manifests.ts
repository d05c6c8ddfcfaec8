/** Reads the project's manifests the way `kubectl apply -k DIR` would find them. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { findBinaries } from '../../scripts/testenv/servers/binaries.js';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface Kustomization {
  resources?: string[];
  components?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/** The kustomization of `dir`, under either name kustomize reads. */
export function kustomization(dir: string): Kustomization {
  const file = ['Kustomization', 'kustomization.yaml'].find((f) => existsSync(join(repoRoot, dir, f)));
  if (!file) throw new Error(`${dir} has no kustomization`);
  return load(readFileSync(join(repoRoot, dir, file), 'utf8')) as Kustomization;
}

/** Every YAML file in the directory, as `kubectl apply -f DIR` reads them. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** The objects of the Kustomization's resources, in its order. */
export function manifestObjects(dir: string): { file: string; object: KubernetesObject }[] {
  return (kustomization(dir).resources ?? []).flatMap((file) =>
    parseManifests(readFileSync(join(repoRoot, dir, file), 'utf8')).map((object) => ({ file, object })),
  );
}

/**
 * `kubectl kustomize DIR`, with the kubectl of the test binaries (its
 * kustomize is the one `kubectl apply -k` uses): the objects an overlay or
 * component really makes, patches applied.
 */
export async function kustomizeBuild(dir: string): Promise<KubernetesObject[]> {
  const { kubectl } = await findBinaries({ e2e: true });
  const { stdout } = await run(kubectl, ['kustomize', join(repoRoot, dir)], { maxBuffer: 32 * 1024 ** 2 });
  return parseManifests(stdout);
}
