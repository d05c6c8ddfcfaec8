/** Reads the project's manifests the way `kubectl apply -k DIR` would find them. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';

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
