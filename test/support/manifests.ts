/** Reads the project's manifests the way `kubectl apply -k DIR` would find them. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseManifests } from '../../scripts/testenv/yaml.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface Kustomization {
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function kustomization(dir: string): Kustomization {
  return load(readFileSync(join(repoRoot, dir, 'Kustomization'), 'utf8')) as Kustomization;
}

/** Every YAML file in the directory, as `kubectl apply -f DIR` reads them. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** The objects of the Kustomization's resources, in its order. */
export function manifestObjects(dir: string): { file: string; object: KubernetesObject }[] {
  return kustomization(dir).resources.flatMap((file) =>
    parseManifests(readFileSync(join(repoRoot, dir, file), 'utf8')).map((object) => ({ file, object })),
  );
}
